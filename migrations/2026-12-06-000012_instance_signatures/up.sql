-- A server that refused our draft-cavage signature and took an RFC 9421 one
-- is sent RFC 9421 first until then (renewed each time it is learned again).
ALTER TABLE instances ADD COLUMN rfc9421_until timestamptz;
