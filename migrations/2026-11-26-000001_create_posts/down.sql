DROP TABLE instance_settings;
DROP TABLE post_tags;
DROP TABLE tags;
DROP TABLE post_slug_redirects;
DROP TABLE posts;
