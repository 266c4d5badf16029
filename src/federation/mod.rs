//! ActivityPub: the blog actor and its keys, our objects as JSON, discovery
//! (WebFinger, host-meta, NodeInfo) and content negotiation.

pub mod context;
pub mod keys;
pub mod negotiate;
pub mod objects;
pub mod routes;

/// The audience that makes an object public.
pub const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

/// The content type of ActivityPub JSON, as Mastodon requires it.
pub const ACTIVITY_JSON: &str = "application/activity+json";
