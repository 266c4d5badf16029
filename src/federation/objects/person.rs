//! The blog actor: a `Person` named after the blog, followed as `@handle@domain`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::config::Settings;
use crate::federation::context::context;
use crate::federation::keys::ActorKeys;
use crate::render::markdown;
use crate::urls;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    #[serde(rename = "@context")]
    context: Value,
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
    published: DateTime<Utc>,
    attachment: Vec<Value>,
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
        context: context(),
        preferred_username: settings.blog.author_handle.clone(),
        name: settings.blog.title.clone(),
        summary: markdown::to_html(&settings.blog.description),
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
        published: keys.created_at,
        attachment: Vec::new(),
        kind: "Person",
        id,
    }
}
