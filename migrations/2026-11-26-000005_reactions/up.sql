-- Likes and boosts (Announce) of our posts, from the fediverse.
CREATE TABLE reactions (
    id              BIGSERIAL PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('like', 'announce')),
    post_id         BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    actor_ap_id     TEXT NOT NULL,
    activity_ap_id  TEXT NOT NULL UNIQUE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (kind, post_id, actor_ap_id)
);
CREATE INDEX reactions_actor ON reactions (actor_ap_id);
