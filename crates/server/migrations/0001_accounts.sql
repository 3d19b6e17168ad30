-- Portable SQL (SQLite and PostgreSQL): ids are TEXT, numbers and flags
-- BIGINT, times BIGINT milliseconds since the Unix epoch (UTC), money BIGINT
-- minor units.

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    -- Stored lower-cased so uniqueness ignores case.
    email TEXT NOT NULL UNIQUE,
    -- argon2id PHC string.
    password_hash TEXT NOT NULL,
    display_name TEXT NOT NULL,
    is_buyer BIGINT NOT NULL,
    is_seller BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    -- SHA-256 of the bearer token, hex; the token itself is never stored.
    token_hash TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

-- Failed sign-ins per key ("account:<email>" or "address:<ip>") in a
-- sliding window, for rate limiting shared by every server process.
CREATE TABLE login_failures (
    key TEXT PRIMARY KEY,
    window_start_ms BIGINT NOT NULL,
    failures BIGINT NOT NULL
);
