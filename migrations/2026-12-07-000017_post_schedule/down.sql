DROP INDEX posts_scheduled;
ALTER TABLE posts DROP COLUMN publish_at;
