//! Like and Announce (boost) of our posts and of comments written here.

use activitypub_federation::config::Data;
use diesel_async::AsyncConnection;

use super::InboxActivity;
use crate::federation::error::FederationError;
use crate::models::{comment, post, reaction, received_activity};
use crate::state::AppState;

/// A Like or Announce (boost) of one of our public posts, or of a comment
/// written here (the author's answers, readers' comments).
pub(super) async fn receive(
    activity: InboxActivity,
    kind: reaction::Kind,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    let conn = &mut *data.pool.get().await?;
    let Some(object) = activity.object_id() else {
        return Ok(());
    };
    let (post, comment_id) = match post::find_by_ap_id(conn, object.as_str()).await? {
        Some(post) => (post, None),
        None => {
            let Some(c) = comment::find_by_ap_id(conn, object.as_str())
                .await?
                .filter(|c| c.is_local() && c.is_visible())
            else {
                return Ok(());
            };
            let Some(post) = post::find_by_id(conn, c.post_id).await? else {
                return Ok(());
            };
            (post, Some(c.id))
        }
    };
    if !post.is_public() {
        return Ok(());
    }
    conn.transaction::<_, FederationError, _>(async |conn| {
        let target = reaction::Target { post_id: post.id, comment_id };
        if received_activity::record(conn, activity.id.as_str()).await?
            && reaction::add(conn, kind, target, activity.actor.as_str(), activity.id.as_str()).await?
        {
            tracing::info!(actor = %activity.actor, post = %post.slug, comment = ?comment_id, kind = kind.as_str(), "reaction");
        }
        Ok(())
    })
    .await
}
