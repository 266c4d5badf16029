-- Quotes of our posts and comments by posts on other servers, shown like
-- likes and boosts; `activity_ap_id` is then the quoting post's id.
ALTER TABLE reactions DROP CONSTRAINT reactions_kind_check;
ALTER TABLE reactions ADD CONSTRAINT reactions_kind_check
    CHECK (kind IN ('like', 'announce', 'quote'));
-- One like and one boost per actor, but every post that quotes counts.
DROP INDEX reactions_one_per_actor;
CREATE UNIQUE INDEX reactions_one_per_actor
    ON reactions (kind, post_id, COALESCE(comment_id, 0), actor_ap_id)
    WHERE kind <> 'quote';
