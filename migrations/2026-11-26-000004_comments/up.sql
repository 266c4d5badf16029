-- Comments: replies from the fediverse to a post or to another comment.
CREATE TABLE comments (
    id              BIGSERIAL PRIMARY KEY,
    ap_id           TEXT NOT NULL UNIQUE,
    post_id         BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    -- The comment this one answers; NULL when it answers the post itself.
    parent_id       BIGINT REFERENCES comments (id) ON DELETE SET NULL,
    in_reply_to     TEXT NOT NULL,
    url             TEXT,
    author_ap_id    TEXT NOT NULL,
    author_name     TEXT,
    author_handle   TEXT,
    -- Sanitized at ingest (allow-list), escaped again where shown.
    content_html    TEXT NOT NULL,
    summary         TEXT,
    sensitive       BOOLEAN NOT NULL DEFAULT false,
    visibility      TEXT NOT NULL CHECK (visibility IN ('public', 'unlisted', 'followers', 'direct')),
    state           TEXT NOT NULL DEFAULT 'approved'
                    CHECK (state IN ('pending', 'approved', 'rejected', 'deleted')),
    published_at    TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ
);
CREATE INDEX comments_post ON comments (post_id, published_at, id);
CREATE INDEX comments_author ON comments (author_ap_id);
