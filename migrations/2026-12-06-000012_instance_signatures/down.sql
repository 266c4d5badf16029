ALTER TABLE instances DROP COLUMN rfc9421_until;
