DROP INDEX reactions_one_per_actor;
DELETE FROM reactions WHERE comment_id IS NOT NULL;
ALTER TABLE reactions DROP COLUMN comment_id,
    ADD CONSTRAINT reactions_kind_post_id_actor_ap_id_key UNIQUE (kind, post_id, actor_ap_id);
DROP INDEX comments_parent;
DROP INDEX comments_recent;
DROP INDEX comments_pending;
DELETE FROM comments WHERE origin <> 'remote';
ALTER TABLE comments DROP COLUMN moderation_note, DROP COLUMN reader_website,
    DROP COLUMN source, DROP COLUMN origin;
