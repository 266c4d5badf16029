DROP TABLE followers;
ALTER TABLE posts DROP COLUMN ap_id;
