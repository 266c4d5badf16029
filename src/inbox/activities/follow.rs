//! Follow: the follower is fetched (no connection held), then stored and
//! answered with an Accept (or a Reject, when blocked) in one transaction.

use activitypub_federation::config::Data;
use activitypub_federation::traits::Actor;
use diesel_async::AsyncConnection;

use super::InboxActivity;
use crate::delivery;
use crate::federation::error::FederationError;
use crate::federation::objects::remote_actor::RemoteActor;
use crate::federation::outgoing;
use crate::models::{block, follower, received_activity};
use crate::state::AppState;

/// A Follow must name the blog's actor.
pub(super) fn verify(
    activity: &InboxActivity,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    if activity.object_id().map(|u| u.to_string()) != Some(crate::urls::actor(&data.settings())) {
        return Err(FederationError::Invalid(
            "a Follow must name this blog's actor as its object".into(),
        ));
    }
    Ok(())
}

pub(super) async fn receive(
    activity: InboxActivity,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    let follower = RemoteActor::dereference_exact(&activity.actor, data, false).await?;
    let settings = data.settings().clone();
    let inbox = follower.inbox().to_string();
    let shared = follower.shared_inbox().map(|u| u.to_string());
    let mut conn = data.pool.get().await?;
    conn.transaction::<_, FederationError, _>(async |conn| {
        if !received_activity::record(conn, activity.id.as_str()).await? {
            return Ok(());
        }
        if block::is_blocked(conn, activity.actor.as_str()).await? {
            let reject = outgoing::reject_follow(&settings, activity.id.as_str(), activity.actor.as_str());
            delivery::enqueue(conn, &reject, std::slice::from_ref(&inbox)).await?;
            tracing::info!(actor = %activity.actor, "rejected a follow from a blocked actor or server");
            return Ok(());
        }
        follower::upsert(
            conn,
            activity.actor.as_str(),
            &inbox,
            shared.as_deref(),
            activity.id.as_str(),
        )
        .await?;
        let accept =
            outgoing::accept_follow(&settings, activity.id.as_str(), activity.actor.as_str());
        delivery::enqueue(conn, &accept, std::slice::from_ref(&inbox)).await?;
        tracing::info!(follower = %activity.actor, "new follower");
        Ok(())
    })
    .await
}
