-- The end of each instance's serial console output (at most 64 KiB), as its
-- host's agent last sent it: what the buyer reads as the console log.
CREATE TABLE instance_consoles (
    instance_id TEXT PRIMARY KEY REFERENCES instances (id),
    output TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
