-- A card its buyer removed: kept for the orders and invoices that name it,
-- never listed or charged again (and detached from the customer at Stripe).
ALTER TABLE payment_methods ADD COLUMN removed_at_ms BIGINT;

-- When the seller revoked the host's credential: its agent is refused from
-- then on, told why, until the machine is registered again.
ALTER TABLE hosts ADD COLUMN credential_revoked_at_ms BIGINT;
