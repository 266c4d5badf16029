//! The JSON-LD `@context` of everything we serve: ActivityStreams, the security
//! vocabulary (publicKey), and every extension term we use, so that receivers
//! that expand JSON-LD understand hashtags, profile fields and flags.

use serde_json::{Value, json};

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
            "schema": "http://schema.org#",
            "PropertyValue": "schema:PropertyValue",
            "value": "schema:value",
        }
    ])
}
