-- Comments written here: the author's answers and readers' comments from the
-- blog page (both published as Notes by the blog actor), and moderation.
ALTER TABLE comments
    ADD COLUMN origin TEXT NOT NULL DEFAULT 'remote'
        CHECK (origin IN ('remote', 'author', 'reader')),
    -- What the author or reader typed (Markdown subset); NULL for remote comments.
    ADD COLUMN source TEXT,
    -- A reader's website as stored (ASCII, punycode host); shown in Unicode.
    ADD COLUMN reader_website TEXT,
    -- Why a comment waits for moderation or was rejected.
    ADD COLUMN moderation_note TEXT;
CREATE INDEX comments_pending ON comments (state, published_at) WHERE state = 'pending';
CREATE INDEX comments_recent ON comments (published_at DESC, id DESC) WHERE state = 'approved';
CREATE INDEX comments_parent ON comments (parent_id);

-- Likes and boosts of our own comments (the author's answers, reader comments).
ALTER TABLE reactions
    ADD COLUMN comment_id BIGINT REFERENCES comments (id) ON DELETE CASCADE,
    DROP CONSTRAINT reactions_kind_post_id_actor_ap_id_key;
CREATE UNIQUE INDEX reactions_one_per_actor
    ON reactions (kind, post_id, COALESCE(comment_id, 0), actor_ap_id);
