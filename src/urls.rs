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
