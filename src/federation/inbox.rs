//! The inboxes (the blog actor's and the shared one): signed POSTs from other
//! servers. 202 when accepted (also for activity types we do not act on, and
//! for repeats), 401 when the signature cannot be verified, nothing stored then.

use activitypub_federation::axum::inbox::{ActivityData, receive_activity};
use activitypub_federation::config::Data;
use activitypub_federation::error::Error as ProtocolError;
use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Path, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::activities::InboxActivity;
use super::error::FederationError;
use super::objects::remote_actor::RemoteActor;
use crate::state::AppState;

/// Largest activity we read.
pub const MAX_ACTIVITY_BYTES: usize = 1024 * 1024;

pub async fn shared_inbox(data: Data<AppState>, request: Request) -> Response {
    receive(data, request).await
}

pub async fn actor_inbox(
    Path(handle): Path<String>,
    data: Data<AppState>,
    request: Request,
) -> Response {
    if handle != data.settings.blog.author_handle {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "no such actor"})),
        )
            .into_response();
    }
    receive(data, request).await
}

/// The sender of a (non-Follow) activity, if it is blocked.
async fn blocked_sender(data: &Data<AppState>, body: &[u8]) -> Option<String> {
    let activity: serde_json::Value = serde_json::from_slice(body).ok()?;
    if activity.get("type").and_then(serde_json::Value::as_str) == Some("Follow") {
        return None;
    }
    let actor = match activity.get("actor")? {
        serde_json::Value::String(s) => s.clone(),
        other => other.get("id")?.as_str()?.to_string(),
    };
    let mut conn = data.pool.get().await.ok()?;
    crate::models::block::is_blocked(&mut conn, &actor)
        .await
        .ok()
        .filter(|blocked| *blocked)
        .map(|_| actor)
}

async fn receive(data: Data<AppState>, request: Request) -> Response {
    // Read the body within our limit first: the library's reader has its own.
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_ACTIVITY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                Json(json!({"error": format!("activities are limited to {MAX_ACTIVITY_BYTES} bytes")})),
            )
                .into_response();
        }
    };
    // Blocked actors and servers are refused before anything is fetched from
    // them; only a Follow goes on, to be answered with a Reject.
    if let Some(actor) = blocked_sender(&data, &bytes).await {
        tracing::info!(actor, "refused an activity from a blocked actor or server");
        return (StatusCode::FORBIDDEN, Json(json!({"error": "blocked"}))).into_response();
    }
    let request = Request::from_parts(parts, Body::from(bytes));
    let activity = match ActivityData::from_request(request, &()).await {
        Ok(activity) => activity,
        Err(response) => return response,
    };
    match receive_activity::<InboxActivity, RemoteActor, AppState>(activity, &data).await {
        Ok(()) => (StatusCode::ACCEPTED, Json(json!({}))).into_response(),
        // The sender is gone (its actor answers 410): it was forgotten; nothing else to do.
        Err(FederationError::Protocol(ProtocolError::ObjectDeleted(_))) => {
            (StatusCode::ACCEPTED, Json(json!({}))).into_response()
        }
        Err(e) => e.into_response(),
    }
}
