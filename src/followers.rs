//! The blog's followers, as the owner manages them.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::config::Settings;
use crate::delivery;
use crate::federation::outgoing;
use crate::models::follower;

/// Removes a follower, as Mastodon's "remove from followers" does: their
/// server is sent a Reject of their Follow, so it stops showing the blog
/// as followed. Whether they were following.
pub async fn remove(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    actor_id: &str,
) -> diesel::QueryResult<bool> {
    conn.transaction(async |conn| {
        let Some(found) = follower::find(conn, actor_id).await? else {
            return Ok(false);
        };
        follower::remove(conn, actor_id).await?;
        let reject = outgoing::reject_follow(settings, &found.follow_activity_id, actor_id);
        delivery::enqueue(conn, &reject, std::slice::from_ref(&found.inbox_url)).await?;
        tracing::info!(follower = %actor_id, "removed a follower");
        Ok(true)
    })
    .await
}
