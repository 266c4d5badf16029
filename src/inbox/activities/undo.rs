//! Undo of a Follow, a Like or an Announce, by the actor that did it.

use activitypub_federation::config::Data;
use diesel_async::AsyncConnection;
use serde_json::Value;

use super::InboxActivity;
use crate::federation::error::FederationError;
use crate::federation::object_id;
use crate::models::{follower, reaction, received_activity};
use crate::state::AppState;

/// An embedded activity must be the undoer's own.
pub(super) fn verify(activity: &InboxActivity) -> Result<(), FederationError> {
    let undoes_someone_else = activity
        .object
        .get("actor")
        .is_some_and(|inner| object_id(inner).as_ref() != Some(&activity.actor));
    if undoes_someone_else {
        return Err(FederationError::Forbidden(
            "an actor can only undo its own activities".into(),
        ));
    }
    Ok(())
}

pub(super) async fn receive(
    activity: InboxActivity,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    let conn = &mut *data.pool.get().await?;
    let inner_kind = activity.object.get("type").and_then(Value::as_str);
    let Some(inner_id) = activity.object_id() else {
        return Ok(());
    };
    let undoes_follow = match inner_kind {
        Some(kind) => kind == "Follow",
        // A bare id: the Follow we stored for this actor, if that is it.
        None => follower::find(conn, activity.actor.as_str())
            .await?
            .is_some_and(|f| f.follow_activity_id == inner_id.as_str()),
    };
    conn.transaction::<_, FederationError, _>(async |conn| {
        if !received_activity::record(conn, activity.id.as_str()).await? {
            return Ok(());
        }
        if undoes_follow {
            if follower::remove(conn, activity.actor.as_str()).await? {
                tracing::info!(follower = %activity.actor, "unfollowed");
            }
        } else if reaction::remove(conn, inner_id.as_str(), activity.actor.as_str()).await? {
            tracing::info!(actor = %activity.actor, "like or boost undone");
        }
        Ok(())
    })
    .await
}
