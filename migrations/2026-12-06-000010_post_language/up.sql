-- A post's own language (a BCP 47 tag such as "en" or "pt-BR"); NULL means
-- the blog's language (config `blog.language`).
ALTER TABLE posts ADD COLUMN language text;
