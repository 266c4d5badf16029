//! The JSON-LD `@context` of everything we serve and send, attached in two
//! places only: [`ActivityJson`](super::negotiate::ActivityJson) for what we
//! serve and the delivery worker for what we send. Objects themselves never
//! carry it, so one embedded in another has none. The context: ActivityStreams, the security
//! vocabulary (publicKey), and every extension term we use, so that receivers
//! that expand JSON-LD understand hashtags, profile fields, flags and the
//! quote policy (FEP-044f, in GoToSocial's namespace as Mastodon writes it).

use serde::Serialize;
use serde_json::{Value, json};

/// A document with the `@context` first.
#[derive(Debug, Serialize)]
pub struct WithContext<T> {
    #[serde(rename = "@context")]
    context: Value,
    #[serde(flatten)]
    inner: T,
}

impl<T: Serialize> WithContext<T> {
    /// `inner` must serialize as a JSON object.
    pub fn new(inner: T) -> Self {
        WithContext {
            context: context(),
            inner,
        }
    }
}

pub fn context() -> Value {
    json!([
        "https://www.w3.org/ns/activitystreams",
        "https://w3id.org/security/v1",
        {
            "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
            "sensitive": "as:sensitive",
            "Hashtag": "as:Hashtag",
            "toot": "http://joinmastodon.org/ns#",
            "discoverable": "toot:discoverable",
            "indexable": "toot:indexable",
            "featured": {"@id": "toot:featured", "@type": "@id"},
            "attributionDomains": {"@id": "toot:attributionDomains", "@type": "@id"},
            "gts": "https://gotosocial.org/ns#",
            "interactionPolicy": {"@id": "gts:interactionPolicy", "@type": "@id"},
            "canQuote": {"@id": "gts:canQuote", "@type": "@id"},
            "automaticApproval": {"@id": "gts:automaticApproval", "@type": "@id"},
            "manualApproval": {"@id": "gts:manualApproval", "@type": "@id"},
            "interactingObject": {"@id": "gts:interactingObject", "@type": "@id"},
            "interactionTarget": {"@id": "gts:interactionTarget", "@type": "@id"},
            "QuoteRequest": "https://w3id.org/fep/044f#QuoteRequest",
            "QuoteAuthorization": "https://w3id.org/fep/044f#QuoteAuthorization",
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value",
        }
    ])
}
