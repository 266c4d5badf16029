//! Update of an actor's profile or of a comment.

use super::InboxActivity;
use crate::federation::error::FederationError;
use crate::federation::objects::remote_actor::RemoteActor;
use crate::federation::objects::remote_note::RemoteNote;
use crate::federation::same_origin;
use crate::models::comment;
use crate::state::AppState;
use activitypub_federation::config::Data;

/// A profile (refetched from its origin, never taken from the activity) or
/// a comment's new text.
pub(super) async fn receive(
    activity: InboxActivity,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    if activity.object_id().as_ref() == Some(&activity.actor) {
        RemoteActor::dereference_exact(&activity.actor, data, true).await?;
        return Ok(());
    }
    receive_comment_edit(activity, data).await
}

/// An edit of a comment by its author, applied only when it is newer than
/// what we have (redeliveries and out-of-order Updates change nothing). An
/// edit that brings in a held keyword takes the comment back to moderation.
async fn receive_comment_edit(
    activity: InboxActivity,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    let Some(note) = RemoteNote::parse(activity.object.clone()) else {
        return Ok(());
    };
    let object_ap_id = note.id;
    if !same_origin(&object_ap_id, &activity.actor) {
        return Err(FederationError::Invalid(
            "the object is not on the actor's server".into(),
        ));
    }
    // Without `updated` (or with one we cannot read), the edit still applies, as in Mastodon.
    let stamped = note.updated;
    let (content, summary) = (note.content_html, note.summary);
    let edit = comment::Edit {
        content_html: &content,
        summary: summary.as_deref(),
        sensitive: note.sensitive,
        language: note.language.as_deref(),
        attachments: serde_json::to_value(&note.attachments).unwrap_or_default(),
        updated_at: stamped.unwrap_or_else(chrono::Utc::now),
    };
    let conn = &mut *data.pool.get().await?;
    let (ap_id, author) = (object_ap_id.as_str(), activity.actor.as_str());
    if !comment::apply_edit(conn, ap_id, author, &edit, stamped.is_some()).await? {
        return Ok(());
    }
    tracing::info!(comment = %object_ap_id, "comment edited by its author");
    let text = format!("{} {content}", summary.as_deref().unwrap_or_default());
    if let Some(word) = crate::comments::held_keyword(&data.settings(), &text)
        && let Some(c) = comment::find_by_ap_id(conn, object_ap_id.as_str()).await?
        && c.state == comment::State::Approved
    {
        let note = format!("edited to contain \"{word}\"");
        comment::set_state(conn, c.id, comment::State::Pending, Some(&note)).await?;
        tracing::info!(comment = %object_ap_id, "an edited comment is held for moderation");
    }
    Ok(())
}
