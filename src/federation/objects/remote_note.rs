//! Text objects of other servers (Note, Article, Page, Question): read from
//! JSON, and fetched from their origin when an activity's copy cannot be believed.

use activitypub_federation::config::Data;
use activitypub_federation::error::Error as ProtocolError;
use activitypub_federation::fetch::fetch_object_http;
use serde_json::Value;
use url::Url;

use crate::federation::{object_id, same_origin};
use crate::state::AppState;

/// Text-like objects that become comments when they answer one of ours.
pub const COMMENT_TYPES: &[&str] = &["Note", "Article", "Page", "Question"];

/// A text object with its id; everything else is read from `json` when stored.
#[derive(Debug, Clone)]
pub struct RemoteNote {
    pub id: Url,
    pub attributed_to: Option<Url>,
    pub in_reply_to: Option<Url>,
    pub json: Value,
}

impl RemoteNote {
    /// `None` unless `json` is a text object with an id.
    pub fn parse(json: Value) -> Option<Self> {
        let kind = json.get("type").and_then(Value::as_str)?;
        if !COMMENT_TYPES.contains(&kind) {
            return None;
        }
        let id = object_id(&json)?;
        let attributed_to = match json.get("attributedTo") {
            Some(Value::Array(items)) => items.first().and_then(object_id),
            Some(other) => object_id(other),
            None => None,
        };
        let in_reply_to = json.get("inReplyTo").and_then(object_id);
        Some(RemoteNote {
            id,
            attributed_to,
            in_reply_to,
            json,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error("{0}")]
    Untrusted(&'static str),
    #[error("not a Note, Article, Page or Question")]
    NotText,
}

/// Fetches a text object from its origin: a GET signed as the blog actor,
/// through the guarded client, counted against the inbound request's fetch
/// budget. Believed only if its id is the URL it was served from, that URL is
/// on the server we asked (one redirect at most, within it), and its author is
/// on that server too.
pub async fn fetch(url: &Url, data: &Data<AppState>) -> Result<RemoteNote, FetchError> {
    let response = fetch_object_http::<_, Value>(url, data).await?;
    if object_id(&response.object).as_ref() != Some(&response.url) {
        return Err(FetchError::Untrusted(
            "its id is not the URL it was served from",
        ));
    }
    if !same_origin(url, &response.url) {
        return Err(FetchError::Untrusted("it was served from another server"));
    }
    let note = RemoteNote::parse(response.object).ok_or(FetchError::NotText)?;
    match &note.attributed_to {
        Some(author) if same_origin(author, &note.id) => Ok(note),
        _ => Err(FetchError::Untrusted(
            "its author is not on the server that serves it",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_text_objects_with_ids_are_read() {
        let note = RemoteNote::parse(json!({
            "id": "https://m.example/notes/1",
            "type": "Article",
            "attributedTo": [{"id": "https://m.example/users/a"}],
            "inReplyTo": {"id": "https://b.example/posts/x", "type": "Note"},
        }))
        .expect("an article");
        assert_eq!(
            note.attributed_to.map(String::from).as_deref(),
            Some("https://m.example/users/a")
        );
        assert_eq!(
            note.in_reply_to.map(String::from).as_deref(),
            Some("https://b.example/posts/x")
        );
        assert!(
            RemoteNote::parse(json!({"id": "https://m.example/1", "type": "Person"})).is_none()
        );
        assert!(RemoteNote::parse(json!({"type": "Note"})).is_none());
        assert!(RemoteNote::parse(json!("https://m.example/notes/1")).is_none());
    }
}
