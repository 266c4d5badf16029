-- Blocked actors and servers: their activities are refused, their comments
-- hidden, their follows rejected, and nothing is delivered to them.
CREATE TABLE blocks (
    id          BIGSERIAL PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('actor', 'domain')),
    -- An actor id, or a lowercase domain (which covers its subdomains).
    value       TEXT NOT NULL,
    reason      TEXT,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (kind, value)
);
