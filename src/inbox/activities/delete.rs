//! Delete of a comment by its author, or of the actor itself.

use activitypub_federation::config::Data;

use super::InboxActivity;
use crate::federation::error::FederationError;
use crate::federation::same_origin;
use crate::models::{comment, reaction, remote_actor, tombstone};
use crate::state::AppState;

/// An actor announcing its own deletion: everything it had here goes.
pub(super) async fn receive_self(
    activity: InboxActivity,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    let actor = activity.actor.as_str();
    remote_actor::forget(&mut *data.pool.get().await?, actor).await?;
    tracing::info!(actor, "forgot a deleted actor");
    Ok(())
}

/// A Delete of a note by its author: the comment goes from the page and the
/// collections. A Delete of something we do not hold (it overtook its
/// Create) leaves a tombstone, so that the late Create is ignored.
pub(super) async fn receive(
    activity: InboxActivity,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    let conn = &mut *data.pool.get().await?;
    let Some(id) = activity.object_id() else {
        return Ok(());
    };
    // A quote of ours goes with the post that quoted.
    if reaction::remove(conn, id.as_str(), activity.actor.as_str()).await? {
        tracing::info!(quote = %id, "a quote deleted by its author");
    }
    if comment::mark_deleted(conn, id.as_str(), activity.actor.as_str()).await? {
        tracing::info!(comment = %id, "comment deleted by its author");
    } else if same_origin(&id, &activity.actor)
        && comment::find_by_ap_id(conn, id.as_str()).await?.is_none()
    {
        tombstone::add(conn, id.as_str(), activity.actor.as_str()).await?;
    }
    Ok(())
}
