//! What a deleted object's id shows, and what its `Delete` carries.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tombstone {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    former_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Value::is_null")]
    to: Value,
    #[serde(skip_serializing_if = "Value::is_null")]
    cc: Value,
}

impl Tombstone {
    /// The tombstone of `id`, which was a `former_type`.
    pub fn new(id: &str, former_type: &'static str) -> Self {
        Tombstone {
            id: id.to_string(),
            kind: "Tombstone",
            former_type,
            deleted: None,
            to: Value::Null,
            cc: Value::Null,
        }
    }

    pub fn deleted(mut self, at: DateTime<Utc>) -> Self {
        self.deleted = Some(at);
        self
    }

    /// Addressed as the object was, for the `Delete` that carries it.
    pub fn addressed(mut self, to: Value, cc: Value) -> Self {
        self.to = to;
        self.cc = cc;
        self
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}
