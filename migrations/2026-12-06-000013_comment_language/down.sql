ALTER TABLE comments DROP COLUMN language;
