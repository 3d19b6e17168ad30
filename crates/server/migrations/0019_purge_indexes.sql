-- Expired sessions and old sign-in counts are purged by a job.
CREATE INDEX sessions_expiry ON sessions (expires_at_ms);
CREATE INDEX login_failures_window ON login_failures (window_start_ms);
