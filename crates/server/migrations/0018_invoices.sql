-- Invoices: a buyer's usage billed per UTC month, and an instance's last
-- usage when it is terminated. Each ledger entry and each month's service
-- credit goes on exactly one invoice (invoice_id), so a usage period is
-- charged once. An invoice is immutable once made; only its payment state
-- moves: open -> paid, or open -> past_due -> (retries, "Pay now") -> paid.
CREATE TABLE invoices (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
    buyer_id TEXT NOT NULL REFERENCES accounts (id),
    -- 'monthly' or 'final' (an instance's, at termination).
    kind TEXT NOT NULL,
    -- The month invoiced, YYYY-MM (UTC).
    period TEXT NOT NULL,
    -- '' for a monthly invoice: UNIQUE treats it as a value, unlike NULL.
    instance_id TEXT NOT NULL,
    period_end_ms BIGINT NOT NULL,
    usage_cents BIGINT NOT NULL,
    credit_cents BIGINT NOT NULL,
    total_cents BIGINT NOT NULL,
    -- 'open', 'charging', 'past_due' or 'paid'.
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT,
    charging_since_ms BIGINT,
    -- What the orders' authorisations paid of it, and the charge that paid the rest.
    captured_cents BIGINT NOT NULL DEFAULT 0,
    payment_intent_id TEXT,
    failure_message TEXT,
    created_at_ms BIGINT NOT NULL,
    paid_at_ms BIGINT,
    UNIQUE (buyer_id, kind, period, instance_id)
);
CREATE INDEX invoices_buyer ON invoices (buyer_id, created_at_ms);
CREATE INDEX invoices_due ON invoices (status, next_attempt_at_ms);

CREATE TABLE invoice_lines (
    invoice_id TEXT NOT NULL REFERENCES invoices (id),
    position BIGINT NOT NULL,
    -- 'usage' or 'sla_credit' (negative).
    kind TEXT NOT NULL,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    description TEXT NOT NULL,
    used_ms BIGINT NOT NULL,
    hourly_cents BIGINT NOT NULL,
    amount_cents BIGINT NOT NULL,
    PRIMARY KEY (invoice_id, position)
);

ALTER TABLE ledger_entries ADD COLUMN invoice_id TEXT;
CREATE INDEX ledger_uninvoiced ON ledger_entries (buyer_id, invoice_id);
ALTER TABLE sla_month_credits ADD COLUMN invoice_id TEXT;

-- An order's authorisation: 'authorized', then 'captured' (by its first
-- invoice), 'released' (nothing to capture) or 'refunded' (no host took it).
ALTER TABLE orders ADD COLUMN payment_status TEXT;
ALTER TABLE orders ADD COLUMN authorized_cents BIGINT;
ALTER TABLE orders ADD COLUMN captured_cents BIGINT;
ALTER TABLE orders ADD COLUMN refund_reason TEXT;

-- Instances stopped because their buyer's invoice went unpaid, started
-- again once it is paid.
ALTER TABLE instances ADD COLUMN stopped_for_payment BIGINT NOT NULL DEFAULT 0;

-- Stripe webhook events already handled (a replay changes nothing).
CREATE TABLE stripe_events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL
);
