//! The inboxes (the blog actor's and the shared one): signed POSTs from other
//! servers, answered fast, as Mastodon answers them. A request is checked for
//! everything that decides trust, in order of cost:
//!
//! 1. the body is at most [`MAX_ACTIVITY_BYTES`] and the signature's shape,
//!    Host, Date and Digest are right ([`signature::check`] for draft-cavage,
//!    [`rfc9421::check`] for an RFC 9421 signature): no look-up yet;
//! 2. the activity parses, and its key is on its actor's server;
//! 3. the sender is not blocked; a self-Delete of an actor we never knew is
//!    answered without fetching it;
//! 4. the actor's key (cached, or fetched with no connection held, unsigned
//!    first; fetched again once if it fails, for rotated keys) verifies the
//!    signature, and the activity's own rules hold ([`super::activities`]'
//!    `verify`);
//!
//! then it is recorded in the inbox queue in one short transaction and
//! answered 202. Workers ([`worker`]) do everything else. 400/401/403 carry a
//! JSON reason and store nothing; when the server is saturated (requests in
//! flight, the queue's length, the database) the answer is 503 with
//! `Retry-After` at once, never a hang.

pub mod activities;
pub mod rfc9421;
pub mod signature;
pub mod worker;

use std::time::Duration;

use activitypub_federation::axum::inbox::{ActivityData, receive_activity};
use activitypub_federation::config::Data;
use activitypub_federation::error::Error as ProtocolError;
use activitypub_federation::traits::{Activity, Actor, Object};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Path, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::errors::JsonError;
use crate::federation::error::FederationError;
use crate::federation::objects::remote_actor::RemoteActor;
use crate::federation::same_origin;
use crate::models::delivery as delivery_model;
use crate::models::{block, inbox_queue, remote_actor};
use crate::state::AppState;
use activities::InboxActivity;

/// Largest activity we read.
pub const MAX_ACTIVITY_BYTES: usize = 1024 * 1024;
/// How long the sender may wait for its key to be fetched and checked;
/// senders give up at 10 s.
pub const VERIFY_DEADLINE: Duration = Duration::from_secs(5);
/// The longest a request waits for a database connection.
pub const POOL_WAIT: Duration = Duration::from_secs(2);
/// What an overloaded inbox asks senders to wait, in seconds.
pub const RETRY_AFTER_SECS: u64 = 10;

pub async fn shared_inbox(data: Data<AppState>, request: Request) -> Response {
    receive(data, request).await
}

pub async fn actor_inbox(
    Path(handle): Path<String>,
    data: Data<AppState>,
    request: Request,
) -> Response {
    if handle != data.settings().blog.author_handle {
        return refuse(StatusCode::NOT_FOUND, "no such actor");
    }
    receive(data, request).await
}

fn refuse(status: StatusCode, why: &str) -> Response {
    JsonError::new(status, why).into_response()
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, Json(json!({}))).into_response()
}

/// 503 with `Retry-After`: the sender keeps the activity and tries later.
fn overloaded(why: &str) -> Response {
    tracing::warn!(reason = why, "inbox overloaded; asked the sender to retry");
    JsonError::unavailable(why, RETRY_AFTER_SECS).into_response()
}

async fn receive(data: Data<AppState>, request: Request) -> Response {
    let Some(_permit) = data.inbox_gate.enter() else {
        return overloaded("too many requests in flight; try again later");
    };
    if data.inbox_gate.queue_full() {
        return overloaded("the inbox queue is full; try again later");
    }
    match accept(&data, request).await {
        Ok(response) | Err(response) => response,
    }
}

/// The checks, cheapest first; `Err` is a refusal already answered.
async fn accept(data: &Data<AppState>, request: Request) -> Result<Response, Response> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_ACTIVITY_BYTES)
        .await
        .map_err(|_| {
            refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("activities are limited to {MAX_ACTIVITY_BYTES} bytes"),
            )
        })?;
    let now = chrono::Utc::now();
    let signed = if parts.headers.contains_key("signature-input") {
        rfc9421::check(
            &parts.method,
            &parts.uri,
            &parts.headers,
            &bytes,
            &data.settings().base_url,
            &data.settings().domain,
            now,
        )
        .map(Proof::Rfc9421)
    } else {
        signature::check(
            &parts.method,
            &parts.headers,
            &bytes,
            &data.settings().domain,
            now,
        )
        .map(Proof::Cavage)
    }
    .map_err(|refusal| {
        tracing::info!(reason = %refusal, "inbox refused a request before looking at its key");
        match refusal {
            signature::Refusal::Malformed(why) => refuse(StatusCode::BAD_REQUEST, &why),
            signature::Refusal::Unauthorized(why) => refuse(StatusCode::UNAUTHORIZED, &why),
        }
    })?;
    let activity: InboxActivity = serde_json::from_slice(&bytes)
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, &format!("not an activity: {e}")))?;
    if !same_origin(signed.key_id(), &activity.actor) {
        return Err(refuse(
            StatusCode::UNAUTHORIZED,
            "the signing key is not on the actor's server",
        ));
    }
    if !activity.kind.eq("Follow") {
        let mut conn = connection(data).await?;
        if block::is_blocked(&mut conn, activity.actor.as_str())
            .await
            .map_err(internal)?
        {
            tracing::info!(actor = %activity.actor, "refused an activity from a blocked actor or server");
            return Err(refuse(StatusCode::FORBIDDEN, "blocked"));
        }
    }
    // Servers send these to everyone when an account goes; fetching the
    // actor would only find it gone.
    if activity.is_self_delete() {
        let mut conn = connection(data).await?;
        let known = remote_actor::find(&mut conn, activity.actor.as_str())
            .await
            .map_err(internal)?
            .is_some();
        if !known {
            return Ok(accepted());
        }
    }
    let verified = verify(data, &activity, &parts, &bytes, &signed);
    match tokio::time::timeout(VERIFY_DEADLINE, verified).await {
        Err(_) => return Err(overloaded("verifying the signature took too long")),
        // The sender is gone (its actor answers 410): it was forgotten; nothing else to do.
        Ok(Err(FederationError::Protocol(ProtocolError::ObjectDeleted(_)))) => {
            return Ok(accepted());
        }
        Ok(Err(FederationError::Pool(_))) => return Err(overloaded("the database is busy")),
        Ok(Err(e)) => return Err(e.into_response()),
        Ok(Ok(())) => {}
    }
    queue(data, &activity).await?;
    Ok(accepted())
}

/// How a request is signed, checked as far as it can be without the key.
enum Proof {
    Cavage(signature::SignatureHeader),
    Rfc9421(rfc9421::Signed),
}

impl Proof {
    fn key_id(&self) -> &url::Url {
        match self {
            Proof::Cavage(header) => &header.key_id,
            Proof::Rfc9421(signed) => &signed.key_id,
        }
    }
}

/// The signature, with the actor's key, and the activity's own rules. A key
/// we had cached is fetched again once when it does not verify: the actor
/// may have rotated it. draft-cavage is verified by the federation library;
/// RFC 9421 by [`rfc9421::verify`].
async fn verify(
    data: &Data<AppState>,
    activity: &InboxActivity,
    parts: &Parts,
    body: &Bytes,
    proof: &Proof,
) -> Result<(), FederationError> {
    let started = chrono::Utc::now();
    let actor = RemoteActor::dereference_exact(&activity.actor, data, false).await?;
    let cached = actor.last_refreshed_at().is_some_and(|at| at < started);
    if let Proof::Rfc9421(signed) = proof {
        if !rfc9421::verify(signed, actor.public_key_pem()) {
            let fresh = match cached {
                true => RemoteActor::dereference_exact(&activity.actor, data, true).await?,
                false => actor,
            };
            if !rfc9421::verify(signed, fresh.public_key_pem()) {
                return Err(FederationError::Unverified(
                    "the RFC 9421 signature does not verify with the actor's key".into(),
                ));
            }
        }
        return activity.verify(data).await;
    }
    let attempt = async || {
        let request = Request::from_parts(parts.clone(), Body::from(body.clone()));
        let activity = ActivityData::from_request(request, &())
            .await
            .map_err(|_| FederationError::Invalid("the request could not be read".into()))?;
        receive_activity::<InboxActivity, RemoteActor, AppState>(activity, data).await
    };
    match attempt().await {
        Err(FederationError::Protocol(ProtocolError::ActivitySignatureInvalid)) if cached => {
            RemoteActor::dereference_exact(&activity.actor, data, true).await?;
            attempt().await
        }
        other => other,
    }
}

/// Records a verified activity for the workers (one statement), with the
/// sender's server marked alive. A redelivery of one still waiting
/// adds nothing (and one already processed is a no-op for the worker).
async fn queue(data: &Data<AppState>, activity: &InboxActivity) -> Result<(), Response> {
    let json = serde_json::to_value(activity).map_err(|e| internal(e.to_string()))?;
    let server = delivery_model::instance_of(activity.actor.as_str());
    let entry = inbox_queue::NewEntry {
        ap_id: activity.id.as_str(),
        actor_ap_id: activity.actor.as_str(),
        kind: &activity.kind,
        json: &json,
    };
    let mut conn = connection(data).await?;
    data.instance_health
        .contacted(&mut conn, &server)
        .await
        .map_err(internal)?;
    let added = inbox_queue::push(&mut conn, &entry)
        .await
        .map_err(internal)?;
    if added {
        data.inbox_gate.added();
        tracing::debug!(activity_id = %activity.id, kind = %activity.kind, "queued an activity");
    }
    Ok(())
}

/// A connection for a request's short queries: when none is free within
/// [`POOL_WAIT`], the sender is told to come back (never kept waiting for
/// the pool's general timeout).
async fn connection(data: &Data<AppState>) -> Result<crate::db::Conn, Response> {
    data.pool.get_within(POOL_WAIT).await.map_err(busy)
}

fn busy(e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "inbox could not get a database connection");
    overloaded("the database is busy")
}

fn internal(e: impl std::fmt::Display) -> Response {
    JsonError::internal(format!("inbox: {e}")).into_response()
}
