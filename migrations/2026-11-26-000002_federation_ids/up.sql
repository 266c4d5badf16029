-- ActivityPub identity of posts. A post's `ap_id` is its address when it was
-- first published, and never changes: a later rename moves the page (`url`),
-- not the object the fediverse knows.
ALTER TABLE posts ADD COLUMN ap_id TEXT UNIQUE;

-- The people and servers following the blog.
CREATE TABLE followers (
    id              BIGSERIAL PRIMARY KEY,
    actor_id        TEXT NOT NULL UNIQUE,
    inbox_url       TEXT NOT NULL,
    shared_inbox_url TEXT,
    -- The Follow activity's id, echoed in our Accept.
    follow_activity_id TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX followers_delivery ON followers (COALESCE(shared_inbox_url, inbox_url));
