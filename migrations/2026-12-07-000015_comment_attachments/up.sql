-- What a comment from another server attaches (pictures, video, audio,
-- documents): [{"kind", "url", "alt", "media_type"}]. Pictures are shown from
-- our cache, the rest as links to the original.
ALTER TABLE comments ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]';
