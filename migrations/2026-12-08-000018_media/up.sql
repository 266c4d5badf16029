-- Images the owner uploads for posts. The files live under
-- <data_dir>/media, named by the SHA-256 of their bytes (`hash`, the
-- original with its metadata removed) and their type's extension; a picture
-- wider or taller than the page shows gets a smaller variant for the page
-- (`variant_*`), the original is kept.
CREATE TABLE media (
    id BIGSERIAL PRIMARY KEY,
    hash TEXT NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
    content_type TEXT NOT NULL
        CHECK (content_type IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp')),
    width INTEGER NOT NULL CHECK (width > 0),
    height INTEGER NOT NULL CHECK (height > 0),
    bytes BIGINT NOT NULL CHECK (bytes > 0),
    variant_hash TEXT CHECK (variant_hash ~ '^[0-9a-f]{64}$'),
    variant_content_type TEXT
        CHECK (variant_content_type IN ('image/png', 'image/jpeg', 'image/gif', 'image/webp')),
    variant_width INTEGER,
    variant_height INTEGER,
    -- What the picture shows, for readers who cannot see it.
    alt TEXT NOT NULL DEFAULT '',
    -- The file's name on the owner's computer, to recognise it.
    original_name TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CHECK ((variant_hash IS NULL) = (variant_content_type IS NULL)
       AND (variant_hash IS NULL) = (variant_width IS NULL)
       AND (variant_hash IS NULL) = (variant_height IS NULL))
);
CREATE INDEX media_newest ON media (created_at DESC, id DESC);
-- `/media/<hash>.<ext>` is served while its image exists, as either file.
CREATE INDEX media_variant ON media (variant_hash) WHERE variant_hash IS NOT NULL;
