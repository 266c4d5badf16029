-- Federation state: the remote actors we know, the activities we sent and
-- received, and the durable delivery queue (a transactional outbox).

-- Remote actors, cached from their documents (refreshed on Update and when stale).
CREATE TABLE remote_actors (
    id              BIGSERIAL PRIMARY KEY,
    ap_id           TEXT NOT NULL UNIQUE,
    inbox_url       TEXT NOT NULL,
    shared_inbox_url TEXT,
    public_key_pem  TEXT NOT NULL,
    preferred_username TEXT,
    name            TEXT,
    url             TEXT,
    icon_url        TEXT,
    fetched_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Activities we published (our outbox). Stored without @context, re-signed
-- for every delivery attempt.
CREATE TABLE activities (
    id          BIGSERIAL PRIMARY KEY,
    ap_id       TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    json        JSONB NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per (activity, inbox). A row is due when next_attempt_at has come
-- and no live lease holds it; delivered and given-up rows are finished.
CREATE TABLE deliveries (
    id              BIGSERIAL PRIMARY KEY,
    activity_id     BIGINT NOT NULL REFERENCES activities (id) ON DELETE CASCADE,
    inbox_url       TEXT NOT NULL,
    -- The inbox's server (host[:port]): deliveries in flight are bounded per server.
    instance        TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    locked_until    TIMESTAMPTZ,
    delivered_at    TIMESTAMPTZ,
    gave_up_at      TIMESTAMPTZ,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (activity_id, inbox_url)
);
CREATE INDEX deliveries_pending ON deliveries (inbox_url, id)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;

-- Per-instance delivery health (keyed by host[:port], like deliveries.instance): an instance with no success for days is
-- treated as dead (its deliveries wait) until it contacts us again.
CREATE TABLE instances (
    domain          TEXT PRIMARY KEY,
    failing_since   TIMESTAMPTZ,
    last_success_at TIMESTAMPTZ,
    last_contact_at TIMESTAMPTZ
);

-- Ids of activities we accepted, so a redelivery has no second effect.
CREATE TABLE received_activities (
    ap_id       TEXT PRIMARY KEY,
    received_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
