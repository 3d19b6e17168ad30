-- When the buyer last asked to stop or terminate the instance: its billing
-- ended then, whatever the host does.
ALTER TABLE instances ADD COLUMN stop_requested_at_ms BIGINT;
-- 1 while a host that did not carry out a stop or terminate within the
-- grace period still has the instance: never billed, its capacity still
-- held on that host until the host cleans it up.
ALTER TABLE instances ADD COLUMN cleanup_pending BIGINT NOT NULL DEFAULT 0;
CREATE INDEX instances_stopping ON instances (status, stop_requested_at_ms);
CREATE INDEX instances_cleanup ON instances (host_id, cleanup_pending);
