-- Service credits applied when a month ends, once per instance and month
-- (the key makes a second server process's attempt a no-op). The credit is
-- the buyer's and comes out of the seller's earnings.
CREATE TABLE sla_month_credits (
    instance_id TEXT NOT NULL REFERENCES instances (id),
    month TEXT NOT NULL,
    buyer_id TEXT NOT NULL REFERENCES accounts (id),
    seller_id TEXT NOT NULL REFERENCES sellers (account_id),
    target_bp BIGINT NOT NULL,
    availability_bp BIGINT NOT NULL,
    credit_percent BIGINT NOT NULL,
    credit_cents BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (instance_id, month)
);
CREATE INDEX sla_month_credits_seller ON sla_month_credits (seller_id);
