-- High availability: spread placement across hosts or zones (and sellers),
-- cold migration off draining hosts, recovery from failed hosts, and where
-- each instance ran when (for its measured availability).

-- 'any', 'distinct_hosts' or 'distinct_zones'.
ALTER TABLE quotes ADD COLUMN placement TEXT NOT NULL DEFAULT 'any';
ALTER TABLE quotes ADD COLUMN auto_recover BIGINT NOT NULL DEFAULT 0;
UPDATE quotes SET placement = 'distinct_hosts' WHERE spread <> 0;

-- A spread may place instances on other sellers' offers, at their price.
ALTER TABLE quote_holds ADD COLUMN offer_id TEXT;
ALTER TABLE quote_holds ADD COLUMN hourly_cents BIGINT;
UPDATE quote_holds SET
  offer_id = (SELECT q.offer_id FROM quotes q WHERE q.id = quote_holds.quote_id),
  hourly_cents = (SELECT q.unit_hourly_cents FROM quotes q WHERE q.id = quote_holds.quote_id);

ALTER TABLE instances ADD COLUMN placement TEXT NOT NULL DEFAULT 'any';
ALTER TABLE instances ADD COLUMN auto_recover BIGINT NOT NULL DEFAULT 0;
-- Set while the instance is being moved: capacity is held there, and the
-- current host is told to stop it.
ALTER TABLE instances ADD COLUMN move_to_host_id TEXT;
ALTER TABLE instances ADD COLUMN move_to_offer_id TEXT;
-- A failed instance whose order asked for auto-recovery, waiting for a host.
ALTER TABLE instances ADD COLUMN awaiting_recovery BIGINT NOT NULL DEFAULT 0;
CREATE INDEX instances_recovery ON instances (awaiting_recovery);

ALTER TABLE hosts ADD COLUMN drain_started_ms BIGINT;
UPDATE hosts SET drain_started_ms = last_heartbeat_ms WHERE draining <> 0;

-- Where each instance ran, from when until when (NULL while it still
-- does), and why it left: 'migrated' or 'recovered'.
CREATE TABLE instance_placements (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    host_id TEXT NOT NULL REFERENCES hosts (id),
    from_ms BIGINT NOT NULL,
    to_ms BIGINT,
    left_because TEXT
);
CREATE INDEX instance_placements_instance ON instance_placements (instance_id, from_ms);
CREATE INDEX instance_placements_host ON instance_placements (host_id, to_ms);
INSERT INTO instance_placements (id, instance_id, host_id, from_ms)
  SELECT 'plc_' || id, id, host_id, created_at_ms FROM instances;
