-- The language a comment from another server is written in (its contentMap
-- key), shown as the comment's `lang`; NULL when the sender did not say.
ALTER TABLE comments ADD COLUMN language text;
