-- Search sorts end with the id as a tie-breaker; with it in the index the
-- first page is read straight off the index instead of sorting every match.
DROP INDEX offers_search_price;
DROP INDEX offers_search_newest;
DROP INDEX offers_search_uptime;
CREATE INDEX offers_by_price ON offers (status, from_price_cents, id);
CREATE INDEX offers_by_newest ON offers (status, created_at_ms, id);
CREATE INDEX offers_by_uptime ON offers (status, uptime_bp DESC, from_price_cents, id);
-- Every search filter column, so the total count is read from the index alone.
CREATE INDEX offers_filters ON offers (status, from_price_cents, zone, sla_tier, fit_vcpu, fit_ram_gib, fit_disk_gib);
