-- Placement walks a flavor's prices cheapest first (spreads across offers,
-- moves to other sellers) and stops as soon as it has enough hosts.
CREATE INDEX offer_prices_flavor_price ON offer_prices (flavor_id, hourly_cents, offer_id);
