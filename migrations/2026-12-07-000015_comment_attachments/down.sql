ALTER TABLE comments DROP COLUMN attachments;
