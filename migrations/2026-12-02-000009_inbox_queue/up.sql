-- The inbox queue: activities whose signature was verified, recorded before
-- the sender is answered 202 and processed by background workers (fetching
-- parents, objects by reference, avatars; moderation; side effects). A row
-- is removed once it has been processed; one that keeps failing stays, with
-- its last error, until it is given up.
CREATE TABLE inbox_queue (
    id              BIGSERIAL PRIMARY KEY,
    -- The activity's id: a redelivery while it waits adds nothing.
    ap_id           TEXT NOT NULL UNIQUE,
    actor_ap_id     TEXT NOT NULL,
    kind            TEXT NOT NULL,
    json            JSONB NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    locked_until    TIMESTAMPTZ,
    gave_up_at      TIMESTAMPTZ,
    last_error      TEXT,
    received_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX inbox_queue_due ON inbox_queue (next_attempt_at, id) WHERE gave_up_at IS NULL;
