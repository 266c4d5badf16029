-- A draft can be scheduled: the publishing job publishes it (and its
-- Create goes out) once `publish_at` has passed. NULL: not scheduled.
ALTER TABLE posts ADD COLUMN publish_at TIMESTAMPTZ;
CREATE INDEX posts_scheduled ON posts (publish_at)
    WHERE status = 'draft' AND publish_at IS NOT NULL AND deleted_at IS NULL;
