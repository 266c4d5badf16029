-- FEP-044f: each quote of a post that we approved. Its row is the
-- QuoteAuthorization served at /quote-authorizations/{id}, which the quoting
-- server (and everyone who sees the quote) checks, now and later.
CREATE TABLE quote_authorizations (
    id bigserial PRIMARY KEY,
    post_id bigint NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    -- The quoting object (interactingObject) and its author.
    quoting_object text NOT NULL,
    quoter text NOT NULL,
    -- The QuoteRequest answered (the last one, when it was asked again).
    request_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (post_id, quoting_object)
);
