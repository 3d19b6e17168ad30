-- Partner portals embed the buy flow and earn a share of the platform's
-- commission on what they sell.
CREATE TABLE partners (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- Space-separated origins (scheme://host[:port]) that may frame the embed
    -- and receive its events.
    allowed_origins TEXT NOT NULL,
    -- The partner's share of the platform commission, basis points.
    share_bp BIGINT NOT NULL,
    accent_color TEXT NOT NULL,
    logo_url TEXT,
    -- SHA-256 of the partner's API key (for its ledger).
    api_key_hash TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL
);
-- Fixed at order time, like the commission.
ALTER TABLE instances ADD COLUMN partner_id TEXT;
ALTER TABLE instances ADD COLUMN partner_share_bp BIGINT NOT NULL DEFAULT 0;
-- Cumulative partner share billed so far (see ledger.rs).
ALTER TABLE instances ADD COLUMN partner_cents BIGINT NOT NULL DEFAULT 0;
CREATE INDEX ledger_partner ON ledger_entries (partner_id, period_end_ms);
