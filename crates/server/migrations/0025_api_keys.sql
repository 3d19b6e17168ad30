-- API keys: long-lived credentials for scripts and the command line.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    -- SHA-256 of the key, hex; the key itself is shown once and never stored.
    key_hash TEXT NOT NULL UNIQUE,
    -- The key's first characters, to tell keys apart in a list.
    prefix TEXT NOT NULL,
    -- 'read' (GET only) or 'full'.
    scope TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    -- Written at most once a minute per key.
    last_used_at_ms BIGINT,
    revoked_at_ms BIGINT
);
CREATE INDEX api_keys_account ON api_keys (account_id, created_at_ms);
