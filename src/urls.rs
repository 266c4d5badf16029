//! Every public address of the blog, in one place: pages, feeds and the
//! ActivityPub ids built from them.

use crate::config::Settings;

pub fn post(settings: &Settings, slug: &str) -> String {
    settings.url(&format!("/posts/{slug}"))
}

pub fn tag(settings: &Settings, slug: &str) -> String {
    settings.url(&format!("/tags/{slug}"))
}

/// The blog actor's id.
pub fn actor(settings: &Settings) -> String {
    settings.url(&format!("/users/{}", settings.blog.author_handle))
}

/// A path under the blog actor, e.g. `actor_path(s, "inbox")`.
pub fn actor_path(settings: &Settings, path: &str) -> String {
    format!("{}/{path}", actor(settings))
}

pub fn shared_inbox(settings: &Settings) -> String {
    settings.url("/inbox")
}

/// The blog's `acct:` handle without the scheme: `blog@example.org`.
pub fn account(settings: &Settings) -> String {
    format!("{}@{}", settings.blog.author_handle, settings.domain)
}

/// A comment written here (by the author or a reader): its ActivityPub id,
/// which sends browsers to the comment on its post's page.
pub fn comment(settings: &Settings, id: i64) -> String {
    settings.url(&format!("/comments/{id}"))
}

/// The comment's place on its post's page.
pub fn comment_anchor(settings: &Settings, post_slug: &str, id: i64) -> String {
    format!("{}#comment-{id}", post(settings, post_slug))
}

/// The approval of a quote of one of our posts (FEP-044f QuoteAuthorization).
pub fn quote_authorization(settings: &Settings, id: i64) -> String {
    settings.url(&format!("/quote-authorizations/{id}"))
}

/// The conversation (FEP-7888 `context`) of a post and all its comments.
pub fn context(post_ap_id: &str) -> String {
    format!("{}/context", object_base(post_ap_id))
}

/// A post's id without the `?v=N` that a post published again carries:
/// the address its collections (`/replies`, `/likes`, ...) hang from.
pub fn object_base(ap_id: &str) -> &str {
    ap_id.split_once('?').map_or(ap_id, |(base, _)| base)
}
