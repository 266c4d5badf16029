//! ActivityPub: the blog actor and its keys, our objects as JSON, discovery
//! (WebFinger, host-meta, NodeInfo), content negotiation, the inboxes and
//! the activities we send.

pub mod context;
pub mod error;
pub mod negotiate;
pub mod objects;
pub mod outgoing;
pub mod reply_chain;
pub mod rfc9421;

use activitypub_federation::config::{FederationConfig, FederationConfigBuilder};
use url::Url;

use crate::config::Settings;
use crate::state::AppState;
use crate::urls;
use objects::blog_actor::BlogActor;

/// The audience that makes an object public.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// The content type of ActivityPub JSON, as Mastodon requires it.
pub const ACTIVITY_JSON: &str = "application/activity+json";

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("building the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
    #[error("the actor URL is invalid: {0}")]
    Url(#[from] url::ParseError),
    #[error("federation configuration: {0}")]
    Config(String),
}

/// The federation library's configuration: our domain, the guarded client,
/// draft-cavage signatures as Mastodon expects them, and signed fetches as the
/// blog actor (so servers in secure mode answer us). A second one, without
/// signed fetches, goes into `state.unsigned_fetch`: an actor is fetched
/// unsigned first (an RSA signature is most of what a Follow costs us), and
/// signed from a server that refuses that.
pub async fn config(state: AppState) -> Result<FederationConfig<AppState>, SetupError> {
    let settings = state.settings().clone();
    let actor = BlogActor {
        id: Url::parse(&urls::actor(&settings))?,
        keys: (*state.actor_keys).clone(),
    };
    let unsigned = builder(&settings, state.clone())?
        .build()
        .await
        .map_err(|e| SetupError::Config(e.to_string()))?;
    // Set once per AppState; a second call (tests) keeps the first.
    let _ = state.unsigned_fetch.set(unsigned);
    builder(&settings, state)?
        .signed_fetch_actor(&actor)
        .build()
        .await
        .map_err(|e| SetupError::Config(e.to_string()))
}

fn builder(
    settings: &Settings,
    state: AppState,
) -> Result<FederationConfigBuilder<AppState>, SetupError> {
    let allow_private = settings.federation.allow_private_addresses;
    let mut builder = FederationConfig::builder();
    builder
        .domain(settings.domain.clone())
        .app_data(state)
        .client(crate::net::client(
            allow_private,
            settings.federation.request_timeout,
        )?)
        .debug(allow_private)
        .allow_http_urls(allow_private)
        .http_signature_compat(true)
        .request_timeout(settings.federation.request_timeout)
        .http_fetch_limit(20);
    Ok(builder)
}

/// The id of a reference that may be a bare id or an object with an `id`.
pub fn object_id(value: &serde_json::Value) -> Option<Url> {
    use serde_json::Value;
    match value {
        Value::String(s) => Url::parse(s).ok(),
        Value::Object(o) => o
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| Url::parse(s).ok()),
        _ => None,
    }
}

/// Same scheme, host and port: what a server can vouch for.
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}
