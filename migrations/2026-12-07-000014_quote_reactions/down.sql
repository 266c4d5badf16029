DELETE FROM reactions WHERE kind = 'quote';
DROP INDEX reactions_one_per_actor;
CREATE UNIQUE INDEX reactions_one_per_actor
    ON reactions (kind, post_id, COALESCE(comment_id, 0), actor_ap_id);
ALTER TABLE reactions DROP CONSTRAINT reactions_kind_check;
ALTER TABLE reactions ADD CONSTRAINT reactions_kind_check
    CHECK (kind IN ('like', 'announce'));
