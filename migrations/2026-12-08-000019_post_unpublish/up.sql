-- A published post can be unpublished: it becomes a draft again and its
-- followers' servers are told to delete it. Servers keep a tombstone for a
-- deleted id (Mastodon ignores a later Create of it), so a post published
-- again gets a new id: its address with `?v=N`, N = this count + 1.
ALTER TABLE posts ADD COLUMN times_unpublished INTEGER NOT NULL DEFAULT 0
    CHECK (times_unpublished >= 0);
