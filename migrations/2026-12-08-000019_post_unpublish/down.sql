ALTER TABLE posts DROP COLUMN times_unpublished;
