//! The blog actor: a `Person` named after the blog, followed as `@handle@domain`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::MediaFile;

use crate::config::Settings;
use crate::render::escape::xml_escape;
use crate::render::markdown;
use crate::state::keys::ActorKeys;
use crate::urls;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    preferred_username: String,
    name: String,
    summary: String,
    url: String,
    inbox: String,
    outbox: String,
    followers: String,
    following: String,
    featured: String,
    endpoints: Endpoints,
    public_key: PublicKey,
    manually_approves_followers: bool,
    discoverable: bool,
    indexable: bool,
    /// Sites whose pages may name this account as their author: Mastodon
    /// 4.3+ links a link card's byline (`fediverse:creator`) only then.
    attribution_domains: Vec<String>,
    published: DateTime<Utc>,
    attachment: Vec<PropertyValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<Image>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<Image>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Image {
    #[serde(rename = "type")]
    kind: &'static str,
    media_type: &'static str,
    url: String,
}

/// A profile field, as Mastodon reads it.
#[derive(Debug, Serialize)]
struct PropertyValue {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    value: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Endpoints {
    shared_inbox: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PublicKey {
    id: String,
    owner: String,
    public_key_pem: String,
}

/// The `keyId` our signatures name.
pub fn key_id(settings: &Settings) -> String {
    format!("{}#main-key", urls::actor(settings))
}

pub fn blog_actor(settings: &Settings, keys: &ActorKeys) -> Person {
    let id = urls::actor(settings);
    Person {
        preferred_username: settings.blog.author_handle.clone(),
        name: settings.blog.title.clone(),
        summary: markdown::to_html(&settings.profile.bio),
        url: settings.url("/"),
        inbox: urls::actor_path(settings, "inbox"),
        outbox: urls::actor_path(settings, "outbox"),
        followers: urls::actor_path(settings, "followers"),
        following: urls::actor_path(settings, "following"),
        featured: urls::actor_path(settings, "featured"),
        endpoints: Endpoints {
            shared_inbox: urls::shared_inbox(settings),
        },
        public_key: PublicKey {
            id: key_id(settings),
            owner: id.clone(),
            public_key_pem: keys.public_pem.clone(),
        },
        manually_approves_followers: false,
        discoverable: true,
        indexable: true,
        // The site's host, as a link card's host is compared (no port).
        attribution_domains: settings
            .base_url
            .host_str()
            .map(str::to_string)
            .into_iter()
            .collect(),
        published: keys.created_at,
        attachment: settings
            .profile
            .fields
            .iter()
            .map(|(name, value)| PropertyValue {
                kind: "PropertyValue",
                name: name.clone(),
                value: field_html(value),
            })
            .collect(),
        icon: settings
            .profile
            .avatar
            .as_ref()
            .map(|f| image(settings, "avatar", f)),
        image: settings
            .profile
            .header
            .as_ref()
            .map(|f| image(settings, "header", f)),
        kind: settings.profile.actor_type.as_str(),
        id,
    }
}

/// Where the blog serves a profile image.
/// `/media/{avatar|header}-{digest}.{ext}`: a new file is a new address.
pub fn media_path(which: &str, file: &MediaFile) -> String {
    format!("/media/{which}-{}.{}", file.digest, file.extension)
}

fn image(settings: &Settings, which: &str, file: &MediaFile) -> Image {
    Image {
        kind: "Image",
        media_type: file.content_type,
        url: settings.url(&media_path(which, file)),
    }
}

/// A field's value as HTML: a link when it is one (with `rel="me"`, which
/// Mastodon uses to verify the link), escaped text otherwise.
fn field_html(value: &str) -> String {
    let escaped = xml_escape(value);
    match url::Url::parse(value) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => {
            let shown = value
                .trim_start_matches("https://")
                .trim_start_matches("http://");
            format!(
                "<a href=\"{escaped}\" rel=\"me nofollow noopener noreferrer\" target=\"_blank\">{}</a>",
                xml_escape(shown)
            )
        }
        _ => escaped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_values_are_links_or_escaped_text() {
        assert_eq!(
            field_html("https://example.org/me"),
            "<a href=\"https://example.org/me\" rel=\"me nofollow noopener noreferrer\" target=\"_blank\">example.org/me</a>"
        );
        assert_eq!(
            field_html("<b>they/them</b>"),
            "&lt;b&gt;they/them&lt;/b&gt;"
        );
        assert!(!field_html("javascript:alert(1)").contains("<a"));
    }
}
