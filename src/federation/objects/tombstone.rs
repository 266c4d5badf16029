//! What a deleted object's id shows, and what its `Delete` carries.

use chrono::{DateTime, Utc};
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tombstone {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    former_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    to: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cc: Vec<String>,
}

impl Tombstone {
    /// The tombstone of `id`, which was a `former_type`.
    pub fn new(id: &str, former_type: &'static str) -> Self {
        Tombstone {
            id: id.to_string(),
            kind: "Tombstone",
            former_type,
            deleted: None,
            to: Vec::new(),
            cc: Vec::new(),
        }
    }

    pub fn deleted(mut self, at: DateTime<Utc>) -> Self {
        self.deleted = Some(at);
        self
    }

    /// Addressed as the object was, for the `Delete` that carries it.
    pub fn addressed(mut self, to: Vec<String>, cc: Vec<String>) -> Self {
        self.to = to;
        self.cc = cc;
        self
    }
}
