-- Offer search runs from an in-memory index in each server process
-- (offer_index.rs). Every change to a listing stamps the offer with the next
-- value of this counter, so an index reloads exactly what changed since the
-- revision it holds.
CREATE TABLE offer_revisions (
    id BIGINT PRIMARY KEY,
    n BIGINT NOT NULL
);
INSERT INTO offer_revisions (id, n) VALUES (1, 0);
ALTER TABLE offers ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
CREATE INDEX offers_revision ON offers (revision);
-- Search no longer reads these.
DROP INDEX offers_by_price;
DROP INDEX offers_by_newest;
DROP INDEX offers_by_uptime;
DROP INDEX offers_filters;
