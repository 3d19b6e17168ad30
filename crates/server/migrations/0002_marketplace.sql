-- The marketplace: catalog, sellers, hosts, offers, quotes, orders,
-- instances, payments and the ledger. Portable SQL, as in 0001.

-- ---- catalog -------------------------------------------------------------

CREATE TABLE images (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    os TEXT NOT NULL,
    description TEXT NOT NULL,
    min_disk_gib BIGINT NOT NULL,
    sort_order BIGINT NOT NULL
);
INSERT INTO images (id, name, os, description, min_disk_gib, sort_order) VALUES
  ('debian-12', 'Debian 12', 'Debian 12 "bookworm"', 'A minimal Debian with SSH, ready for anything.', 10, 1),
  ('ubuntu-24.04', 'Ubuntu 24.04 LTS', 'Ubuntu 24.04 "noble"', 'Ubuntu Server with SSH and cloud-init.', 10, 2),
  ('lamp', 'LAMP stack', 'Debian 12', 'Apache, MariaDB and PHP 8.2, configured and running.', 20, 3),
  ('lemp', 'LEMP stack', 'Debian 12', 'nginx, MariaDB and PHP-FPM 8.2, configured and running.', 20, 4),
  ('docker', 'Docker host', 'Ubuntu 24.04', 'Docker Engine and the Compose plugin, ready for your containers.', 20, 5),
  ('postgresql-16', 'PostgreSQL server', 'Debian 12', 'PostgreSQL 16 tuned for the instance size, with daily base backups.', 40, 6);

CREATE TABLE flavors (
    id TEXT PRIMARY KEY,
    vcpu BIGINT NOT NULL,
    ram_gib BIGINT NOT NULL,
    disk_gib BIGINT NOT NULL,
    sort_order BIGINT NOT NULL
);
INSERT INTO flavors (id, vcpu, ram_gib, disk_gib, sort_order) VALUES
  ('s1.small', 1, 2, 20, 1),
  ('s1.medium', 2, 4, 40, 2),
  ('s1.large', 4, 8, 80, 3),
  ('s1.xlarge', 8, 16, 160, 4),
  ('m1.large', 4, 32, 80, 5),
  ('c1.xlarge', 16, 32, 320, 6);

-- Availability in basis points of a percent: 9990 = 99.90 %.
CREATE TABLE sla_tiers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    availability_bp BIGINT NOT NULL,
    sort_order BIGINT NOT NULL
);
INSERT INTO sla_tiers (id, name, availability_bp, sort_order) VALUES
  ('bronze', 'Bronze', 9900, 1),
  ('silver', 'Silver', 9950, 2),
  ('gold', 'Gold', 9990, 3);

-- The published credit schedule: a month whose measured availability is
-- below `below_bp` earns `credit_percent` of that month's charges (the
-- highest matching row applies).
CREATE TABLE sla_credits (
    tier_id TEXT NOT NULL REFERENCES sla_tiers (id),
    below_bp BIGINT NOT NULL,
    credit_percent BIGINT NOT NULL,
    PRIMARY KEY (tier_id, below_bp)
);
INSERT INTO sla_credits (tier_id, below_bp, credit_percent) VALUES
  ('bronze', 9900, 10), ('bronze', 9500, 30), ('bronze', 9000, 100),
  ('silver', 9950, 10), ('silver', 9900, 25), ('silver', 9500, 100),
  ('gold', 9990, 10), ('gold', 9900, 30), ('gold', 9500, 100);

-- ---- sellers and their hosts -----------------------------------------------

CREATE TABLE sellers (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    company_name TEXT NOT NULL,
    -- ISO 3166-1 alpha-2.
    country TEXT NOT NULL,
    payout_reference TEXT NOT NULL,
    default_sla_tier TEXT NOT NULL REFERENCES sla_tiers (id),
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE install_tokens (
    id TEXT PRIMARY KEY,
    seller_id TEXT NOT NULL REFERENCES sellers (account_id),
    label TEXT NOT NULL,
    -- The zone the host joins when the agent names none.
    zone TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    used_at_ms BIGINT,
    revoked_at_ms BIGINT,
    host_id TEXT
);
CREATE INDEX install_tokens_seller ON install_tokens (seller_id, created_at_ms);

CREATE TABLE hosts (
    id TEXT PRIMARY KEY,
    seller_id TEXT NOT NULL REFERENCES sellers (account_id),
    name TEXT NOT NULL,
    zone TEXT NOT NULL,
    -- SHA-256 of the agent's host credential.
    credential_hash TEXT NOT NULL UNIQUE,
    -- Sellable capacity the agent reported (the machine minus its reserve).
    vcpu BIGINT NOT NULL,
    ram_gib BIGINT NOT NULL,
    disk_gib BIGINT NOT NULL,
    -- Held by quotes or used by instances. Only ever changed by conditional
    -- UPDATEs that keep alloc <= capacity: that is the no-overbooking rule.
    alloc_vcpu BIGINT NOT NULL DEFAULT 0,
    alloc_ram_gib BIGINT NOT NULL DEFAULT 0,
    alloc_disk_gib BIGINT NOT NULL DEFAULT 0,
    -- 'online' or 'offline'; draining is the seller's choice, kept apart.
    status TEXT NOT NULL,
    draining BIGINT NOT NULL DEFAULT 0,
    registered_at_ms BIGINT NOT NULL,
    last_heartbeat_ms BIGINT NOT NULL,
    agent_version TEXT NOT NULL
);
CREATE INDEX hosts_seller_zone ON hosts (seller_id, zone);
CREATE INDEX hosts_status_heartbeat ON hosts (status, last_heartbeat_ms);

-- Periods a host was offline (ended_at_ms NULL while it still is): the
-- source of measured uptime and SLA accounting.
CREATE TABLE host_outages (
    id TEXT PRIMARY KEY,
    host_id TEXT NOT NULL REFERENCES hosts (id),
    started_at_ms BIGINT NOT NULL,
    ended_at_ms BIGINT
);
CREATE INDEX host_outages_host ON host_outages (host_id, started_at_ms);

-- ---- offers --------------------------------------------------------------

CREATE TABLE offers (
    id TEXT PRIMARY KEY,
    seller_id TEXT NOT NULL REFERENCES sellers (account_id),
    zone TEXT NOT NULL,
    sla_tier TEXT NOT NULL REFERENCES sla_tiers (id),
    -- 'active' or 'paused'.
    status TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    -- Derived from the seller's hosts in the zone and the offer's prices,
    -- refreshed whenever those change, so that search is a plain indexed
    -- query: the largest flavor dimensions that still fit on one host, the
    -- cheapest fitting flavor's price (NULL when nothing fits), the free
    -- capacity summed over hosts, and the hosts' measured uptime.
    fit_vcpu BIGINT NOT NULL DEFAULT 0,
    fit_ram_gib BIGINT NOT NULL DEFAULT 0,
    fit_disk_gib BIGINT NOT NULL DEFAULT 0,
    from_price_cents BIGINT,
    free_vcpu BIGINT NOT NULL DEFAULT 0,
    free_ram_gib BIGINT NOT NULL DEFAULT 0,
    free_disk_gib BIGINT NOT NULL DEFAULT 0,
    uptime_bp BIGINT NOT NULL DEFAULT 10000
);
CREATE INDEX offers_seller ON offers (seller_id, zone);
CREATE INDEX offers_search_price ON offers (status, from_price_cents, fit_vcpu, fit_ram_gib, zone, sla_tier);
CREATE INDEX offers_search_newest ON offers (status, created_at_ms);
CREATE INDEX offers_search_uptime ON offers (status, uptime_bp);

CREATE TABLE offer_prices (
    offer_id TEXT NOT NULL REFERENCES offers (id),
    flavor_id TEXT NOT NULL REFERENCES flavors (id),
    hourly_cents BIGINT NOT NULL,
    PRIMARY KEY (offer_id, flavor_id)
);

-- ---- checkout ------------------------------------------------------------

CREATE TABLE payment_methods (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL,
    exp_month BIGINT NOT NULL,
    exp_year BIGINT NOT NULL,
    holder_name TEXT NOT NULL,
    -- The gateway's token for the card: the number and CVC are never stored.
    gateway_token TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX payment_methods_account ON payment_methods (account_id);

CREATE TABLE quotes (
    id TEXT PRIMARY KEY,
    buyer_id TEXT NOT NULL REFERENCES accounts (id),
    offer_id TEXT NOT NULL REFERENCES offers (id),
    image_id TEXT NOT NULL REFERENCES images (id),
    sla_tier TEXT NOT NULL REFERENCES sla_tiers (id),
    flavor_id TEXT NOT NULL REFERENCES flavors (id),
    instance_count BIGINT NOT NULL,
    spread BIGINT NOT NULL,
    unit_hourly_cents BIGINT NOT NULL,
    hourly_total_cents BIGINT NOT NULL,
    commission_hourly_cents BIGINT NOT NULL,
    estimated_month_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    -- 'held' → 'ordering' (an order is paying) → 'ordered'; or 'released'
    -- (expired or given back) with its holds freed.
    status TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX quotes_status_expiry ON quotes (status, expires_at_ms);

-- Where each instance of a quote will go: one row per instance.
CREATE TABLE quote_holds (
    quote_id TEXT NOT NULL REFERENCES quotes (id),
    slot BIGINT NOT NULL,
    host_id TEXT NOT NULL REFERENCES hosts (id),
    PRIMARY KEY (quote_id, slot)
);

CREATE TABLE orders (
    id TEXT PRIMARY KEY,
    buyer_id TEXT NOT NULL REFERENCES accounts (id),
    idempotency_key TEXT NOT NULL,
    -- What the request asked for, to refuse a key reused for another request.
    request_fingerprint TEXT NOT NULL,
    quote_id TEXT NOT NULL REFERENCES quotes (id),
    payment_method_id TEXT NOT NULL REFERENCES payment_methods (id),
    ssh_public_key TEXT NOT NULL,
    partner_id TEXT,
    -- 'processing', 'completed' or 'failed' (failure_* say why).
    status TEXT NOT NULL,
    failure_type TEXT,
    failure_detail TEXT,
    authorization_id TEXT,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (buyer_id, idempotency_key)
);

CREATE TABLE instances (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL REFERENCES orders (id),
    buyer_id TEXT NOT NULL REFERENCES accounts (id),
    seller_id TEXT NOT NULL REFERENCES sellers (account_id),
    offer_id TEXT NOT NULL REFERENCES offers (id),
    host_id TEXT NOT NULL REFERENCES hosts (id),
    name TEXT NOT NULL,
    image_id TEXT NOT NULL REFERENCES images (id),
    flavor_id TEXT NOT NULL REFERENCES flavors (id),
    sla_tier TEXT NOT NULL REFERENCES sla_tiers (id),
    zone TEXT NOT NULL,
    vcpu BIGINT NOT NULL,
    ram_gib BIGINT NOT NULL,
    disk_gib BIGINT NOT NULL,
    hourly_cents BIGINT NOT NULL,
    -- The platform's commission on this instance's charges, basis points,
    -- fixed when it was ordered.
    commission_bp BIGINT NOT NULL,
    ssh_public_key TEXT NOT NULL,
    -- pending → provisioning → running → stopping → stopped → terminated, or failed.
    status TEXT NOT NULL,
    -- What the buyer asked for: 'running', 'stopped' or 'terminated'.
    desired_state TEXT NOT NULL,
    address TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    -- Billing: while running, the time since running_since_ms is not billed
    -- yet; billed_ms is the running time billed so far.
    running_since_ms BIGINT,
    billed_ms BIGINT NOT NULL DEFAULT 0,
    charged_cents BIGINT NOT NULL DEFAULT 0,
    commission_cents BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX instances_buyer ON instances (buyer_id, created_at_ms);
CREATE INDEX instances_host ON instances (host_id, status);
CREATE INDEX instances_order ON instances (order_id);

CREATE TABLE instance_events (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    at_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX instance_events_instance ON instance_events (instance_id, at_ms);

-- ---- ledger --------------------------------------------------------------

-- One row per billed period of one instance. Amounts are the difference of
-- cumulative, rounded-down totals, so nothing is lost to per-second rounding.
CREATE TABLE ledger_entries (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL REFERENCES instances (id),
    buyer_id TEXT NOT NULL REFERENCES accounts (id),
    seller_id TEXT NOT NULL REFERENCES sellers (account_id),
    partner_id TEXT,
    period_start_ms BIGINT NOT NULL,
    period_end_ms BIGINT NOT NULL,
    buyer_charge_cents BIGINT NOT NULL,
    commission_cents BIGINT NOT NULL,
    seller_earnings_cents BIGINT NOT NULL,
    partner_share_cents BIGINT NOT NULL,
    currency TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX ledger_seller ON ledger_entries (seller_id, period_end_ms);
CREATE INDEX ledger_buyer ON ledger_entries (buyer_id, period_end_ms);
