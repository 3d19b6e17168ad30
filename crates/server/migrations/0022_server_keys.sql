-- Secrets the server processes share (made by whichever starts first), such
-- as the key that signs partner embed sessions.
CREATE TABLE server_keys (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
