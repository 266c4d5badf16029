-- The owner's sessions in the admin UI, one row per signed-in browser, so
-- that several app processes share them. Only a SHA-256 of the cookie's
-- random token is kept: a copy of the database signs no one in.
CREATE TABLE admin_sessions (
    token_sha256  TEXT PRIMARY KEY,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX admin_sessions_last_seen ON admin_sessions (last_seen_at);
