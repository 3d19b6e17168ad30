-- Cold migration of real disks: a host that moves disks uploads a stopped
-- instance's disk before the instance moves; the new host fetches it with
-- a short-lived token (stored hashed); the old host keeps its copy until
-- the instance runs on the new one, when the transfer (and the staged file)
-- goes away.
CREATE TABLE disk_transfers (
    instance_id TEXT PRIMARY KEY REFERENCES instances (id),
    from_host_id TEXT NOT NULL REFERENCES hosts (id),
    sha256 TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    token_hash TEXT,
    token_expires_ms BIGINT,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX disk_transfers_from_host ON disk_transfers (from_host_id);
ALTER TABLE hosts ADD COLUMN moves_disks BIGINT NOT NULL DEFAULT 0;
