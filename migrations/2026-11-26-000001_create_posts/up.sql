-- Posts, their tags and the slugs they used to have.
-- Times are stored in UTC (timestamptz); pages show them in the blog's time zone.

CREATE TABLE posts (
    id              BIGSERIAL PRIMARY KEY,
    slug            TEXT NOT NULL UNIQUE,
    title           TEXT NOT NULL,
    body_markdown   TEXT NOT NULL,
    -- The sanitized HTML rendered from body_markdown, kept so pages, feeds and
    -- (later) ActivityPub objects never render Markdown on the hot path.
    body_html       TEXT NOT NULL,
    -- The author's own summary, if any.
    summary         TEXT,
    -- Plain text: the summary, or one derived from the body.
    excerpt         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Set on first publication.
    published_at    TIMESTAMPTZ,
    -- Set when a published post is edited (ActivityPub's `updated`).
    updated_at      TIMESTAMPTZ,
    -- A deleted post keeps its row (and slug) so its URL answers 410 Gone.
    deleted_at      TIMESTAMPTZ,
    CHECK (status = 'draft' OR published_at IS NOT NULL)
);

CREATE INDEX posts_public_newest ON posts (published_at DESC, id DESC)
    WHERE status = 'published' AND deleted_at IS NULL;

-- Old slugs of renamed posts, so their URLs redirect to the new one.
CREATE TABLE post_slug_redirects (
    slug        TEXT PRIMARY KEY,
    post_id     BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX post_slug_redirects_post ON post_slug_redirects (post_id);

CREATE TABLE tags (
    id      BIGSERIAL PRIMARY KEY,
    -- As first written ("Rust"); the slug ("rust") identifies it.
    name    TEXT NOT NULL,
    slug    TEXT NOT NULL UNIQUE
);

CREATE TABLE post_tags (
    post_id     BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    tag_id      BIGINT NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    -- Keeps the author's order of tags.
    position    INTEGER NOT NULL,
    PRIMARY KEY (post_id, tag_id)
);
CREATE INDEX post_tags_tag ON post_tags (tag_id, post_id);

-- Small pieces of instance state (the hash of a generated admin token, and
-- later the blog actor's keys).
CREATE TABLE instance_settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
