//! Activities arriving in our inboxes. In the request, the signature (with
//! the key of the actor the activity names) and the actor's host are checked
//! by the library before `verify`, which checks what this actor may do
//! without fetching anything; the inbox then queues the activity. Later, a
//! worker calls [`process`], which fetches what it needs and applies the
//! effect, recording the activity id in the same transaction, so a
//! redelivery changes nothing. No database connection is held while
//! anything is fetched: each step takes one for its queries and gives it back.

use activitypub_federation::config::Data;
use activitypub_federation::traits::{Activity, Actor};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Map;
use serde_json::Value;
use url::Url;

use super::error::FederationError;
use super::objects::remote_actor::RemoteActor;
use super::objects::remote_note::{self, FetchError, RemoteNote};
use super::{object_id, outgoing, reply_chain, same_origin};
use crate::config::Settings;
use crate::delivery;
use crate::models::post::Post;
use crate::models::{
    block, comment, follower, post, reaction, received_activity, remote_actor, tombstone,
};
use crate::render::sanitize;
use crate::state::AppState;
use crate::urls;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct InboxActivity {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(deserialize_with = "id_of")]
    pub actor: Url,
    #[serde(default)]
    pub object: Value,
    /// Everything else the sender wrote (addressing, times...), kept in the queue.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// A reference that may be a bare id or an object with an `id`.
fn id_of<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
    let value = Value::deserialize(d)?;
    object_id(&value)
        .ok_or_else(|| serde::de::Error::custom("expected an id or an object with an id"))
}

impl InboxActivity {
    fn object_id(&self) -> Option<Url> {
        object_id(&self.object)
    }

    fn our_actor(data: &Data<AppState>) -> String {
        urls::actor(&data.settings)
    }

    /// An actor announcing its own deletion.
    pub fn is_self_delete(&self) -> bool {
        self.kind == "Delete" && self.object_id().as_ref() == Some(&self.actor)
    }
}

#[async_trait::async_trait]
impl Activity for InboxActivity {
    type DataType = AppState;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, data: &Data<AppState>) -> Result<(), FederationError> {
        // The library compares domains only; an origin includes the port.
        if !same_origin(&self.id, &self.actor) {
            return Err(FederationError::Invalid(
                "the activity's id is not on its actor's server".into(),
            ));
        }
        let names_us = self.object_id().map(|u| u.to_string()) == Some(Self::our_actor(data));
        let undoes_someone_else = self
            .object
            .get("actor")
            .is_some_and(|inner| object_id(inner).as_ref() != Some(&self.actor));
        let embedded_author = match self.object.get("attributedTo") {
            Some(Value::Array(items)) => items.first().and_then(object_id),
            Some(other) => object_id(other),
            None => None,
        };
        match self.kind.as_str() {
            "Follow" if !names_us => Err(FederationError::Invalid(
                "a Follow must name this blog's actor as its object".into(),
            )),
            // An embedded activity must be the undoer's own.
            "Undo" if undoes_someone_else => Err(FederationError::Forbidden(
                "an actor can only undo its own activities".into(),
            )),
            "Create" if embedded_author.is_some_and(|a| a != self.actor) => {
                Err(FederationError::Forbidden(
                    "a Note must be attributed to the actor that sends it".into(),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Verified: the inbox queues it (outside the library, so that the
    /// sender's wait for the key is bounded apart from the queue write).
    async fn receive(self, _data: &Data<AppState>) -> Result<(), FederationError> {
        Ok(())
    }
}

/// Applies a verified activity (in a worker, after the sender was answered).
pub async fn process(
    activity: InboxActivity,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    match activity.kind.as_str() {
        "Follow" => receive_follow(activity, data).await,
        "Create" => receive_reply(activity, data).await,
        "Like" => receive_reaction(activity, reaction::Kind::Like, data).await,
        "Announce" => receive_reaction(activity, reaction::Kind::Announce, data).await,
        "Delete" if activity.is_self_delete() => {
            let actor = activity.actor.as_str();
            remote_actor::forget(&mut *data.pool.get().await?, actor).await?;
            tracing::info!(actor, "forgot a deleted actor");
            Ok(())
        }
        "Delete" => receive_delete(activity, data).await,
        "Undo" => receive_undo(activity, data).await,
        "Update" if activity.object_id().as_ref() == Some(&activity.actor) => {
            // Never trust the embedded copy: refetch the profile from its origin.
            RemoteActor::dereference_exact(&activity.actor, data, true).await?;
            Ok(())
        }
        "Update" => receive_comment_edit(activity, data).await,
        other => {
            tracing::debug!(kind = other, activity_id = %activity.id, "ignoring an activity we do not act on");
            Ok(())
        }
    }
}

async fn receive_follow(
    activity: InboxActivity,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    let follower = RemoteActor::dereference_exact(&activity.actor, data, false).await?;
    let settings = data.settings.clone();
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

async fn receive_undo(
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

/// A Like or Announce (boost) of one of our public posts, or of a comment
/// written here (the author's answers, readers' comments).
async fn receive_reaction(
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

/// What a comment shows of a remote object: its sanitized HTML, its content
/// warning, and whether it is sensitive.
struct NoteBody {
    content: String,
    summary: Option<String>,
    sensitive: bool,
}

impl NoteBody {
    fn of(object: &Value) -> Self {
        NoteBody {
            content: sanitize::remote_html(
                object
                    .get("content")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            summary: object
                .get("summary")
                .and_then(Value::as_str)
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            sensitive: object
                .get("sensitive")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }
    }
}

/// Who may see an object, from its addressing (Mastodon's rules).
fn visibility(object: &Value) -> &'static str {
    let addresses = |field: &str| -> Vec<String> {
        match object.get(field) {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(items)) => items.iter().filter_map(object_id_str).collect(),
            _ => Vec::new(),
        }
    };
    let is_public = |a: &String| matches!(a.as_str(), super::PUBLIC | "as:Public" | "Public");
    let (to, cc) = (addresses("to"), addresses("cc"));
    if to.iter().any(is_public) {
        "public"
    } else if cc.iter().any(is_public) {
        "unlisted"
    } else if to
        .iter()
        .chain(cc.iter())
        .any(|a| a.ends_with("/followers"))
    {
        "followers"
    } else {
        "direct"
    }
}

fn object_id_str(value: &Value) -> Option<String> {
    object_id(value).map(|u| u.to_string())
}

/// A reply to one of our posts, or to a comment we hold, becomes a comment;
/// so do the parents between them that we fetch to place it.
/// Everything else in a Create is none of our business (202, ignored).
async fn receive_reply(
    activity: InboxActivity,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    let Some(object) = believed_object(&activity, data).await? else {
        return Ok(());
    };
    let Some(in_reply_to) = object.in_reply_to.clone() else {
        return Ok(());
    };
    if tombstone::exists(&mut *data.pool.get().await?, object.id.as_str()).await? {
        tracing::info!(object = %object.id, "a Create of something already deleted; ignored");
        return Ok(());
    }
    if object.attributed_to.as_ref() != Some(&activity.actor) {
        return Err(FederationError::Forbidden(
            "a Note must be attributed to the actor that sends it".into(),
        ));
    }
    // The whole climb gets a deadline, not only each fetch: a worker is not held for long.
    let deadline = data.settings.federation.request_timeout * 3;
    let climb = reply_chain::climb(data, &object.id, &in_reply_to);
    let Ok(found) = tokio::time::timeout(deadline, climb).await else {
        tracing::info!(reply = %object.id, "fetching a reply's parents took too long; ignored");
        return Ok(());
    };
    let Some(chain) = found? else {
        return Ok(());
    };
    let mut replies = Vec::with_capacity(chain.fetched.len() + 1);
    for parent in chain.fetched {
        let Some(author) = parent.attributed_to.clone() else {
            return Ok(());
        };
        match RemoteActor::dereference_exact(&author, data, false).await {
            Ok(author) => replies.push((parent, author)),
            Err(e) => {
                tracing::info!(parent = %parent.id, error = %e, "the author of a reply's parent could not be had; ignored");
                return Ok(());
            }
        }
    }
    let author = RemoteActor::dereference_exact(&activity.actor, data, false).await?;
    replies.push((object, author));
    let settings = data.settings.clone();
    let anchor = chain.anchor;
    let mut conn = data.pool.get().await?;
    conn.transaction::<_, FederationError, _>(async |conn| {
        if !received_activity::record(conn, activity.id.as_str()).await? {
            return Ok(());
        }
        let mut parent = anchor.comment_id;
        for (note, author) in &replies {
            parent = Some(store_reply(conn, &settings, &anchor.post, parent, note, author).await?);
        }
        Ok(())
    })
    .await?;
    // Their avatars, cached before a reader's browser would ask for them.
    for (_, author) in &replies {
        if let Some(icon) = &author.row.icon_url {
            data.avatars.fetch_in_background(icon);
        }
    }
    Ok(())
}

/// The Create's object as we may believe it: the embedded copy when it is on
/// the signer's own server, else the copy its origin serves (an object given
/// only by its id, or embedded from another server). `None` when it is not a
/// reply in text, or is one of ours.
async fn believed_object(
    activity: &InboxActivity,
    data: &Data<AppState>,
) -> Result<Option<RemoteNote>, FederationError> {
    let Some(id) = activity.object_id() else {
        return if activity.object.is_object() {
            Err(FederationError::Invalid("the object has no id".into()))
        } else {
            Ok(None)
        };
    };
    if activity.object.is_object() {
        let Some(embedded) = RemoteNote::parse(activity.object.clone()) else {
            return Ok(None);
        };
        if embedded.in_reply_to.is_none() {
            return Ok(None);
        }
        if same_origin(&id, &activity.actor) {
            return Ok(Some(embedded));
        }
    }
    let ours = Url::parse(&InboxActivity::our_actor(data))
        .map_err(|e| FederationError::Invalid(e.to_string()))?;
    if same_origin(&id, &ours) || !matches!(id.scheme(), "http" | "https") {
        return Ok(None);
    }
    match remote_note::fetch(&id, data).await {
        Ok(fetched) => Ok(Some(fetched)),
        Err(FetchError::NotText) => Ok(None),
        Err(e) => Err(FederationError::Invalid(format!(
            "the object could not be had from its origin: {e}"
        ))),
    }
}

/// Stores one reply under `parent` (or the post) unless we hold it already;
/// returns its comment id either way.
async fn store_reply(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    post: &Post,
    parent: Option<i64>,
    note: &RemoteNote,
    author: &RemoteActor,
) -> Result<i64, FederationError> {
    let object = &note.json;
    let author_id = author.row.ap_id.as_str();
    let handle = author.row.preferred_username.as_ref().map(|name| {
        format!(
            "@{name}@{}",
            crate::models::delivery::instance_of(author_id)
        )
    });
    let NoteBody {
        content,
        summary,
        sensitive,
    } = NoteBody::of(object);
    let published = object
        .get("published")
        .and_then(Value::as_str)
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map_or_else(chrono::Utc::now, |t| t.with_timezone(&chrono::Utc));
    let url = object.get("url").and_then(object_id_str);
    let in_reply_to = note
        .in_reply_to
        .as_ref()
        .map(Url::as_str)
        .unwrap_or_default();
    let text = format!(
        "{} {} {}",
        author.row.name.as_deref().unwrap_or_default(),
        summary.as_deref().unwrap_or_default(),
        content
    );
    let (state, held_because) =
        crate::comments::initial_state(conn, settings, comment::Origin::Remote, author_id, &text)
            .await?;
    let new = comment::NewComment {
        ap_id: note.id.as_str(),
        post_id: post.id,
        parent_id: parent,
        in_reply_to,
        url: url.as_deref(),
        author_ap_id: author_id,
        author_name: author.row.name.as_deref().filter(|n| !n.trim().is_empty()),
        author_handle: handle.as_deref(),
        content_html: &content,
        summary: summary.as_deref(),
        sensitive,
        visibility: visibility(object),
        published_at: published,
        state: state.as_str(),
        origin: comment::Origin::Remote.as_str(),
        source: None,
        reader_website: None,
        moderation_note: held_because.as_deref(),
    };
    if comment::insert(conn, &new).await? {
        tracing::info!(comment = %note.id, post = %post.slug, visibility = new.visibility, state = new.state, "new comment");
    }
    let stored = comment::find_by_ap_id(conn, note.id.as_str())
        .await?
        .ok_or(diesel::result::Error::NotFound)?;
    Ok(stored.id)
}

/// A Delete of a note by its author: the comment goes from the page and the
/// collections. A Delete of something we do not hold (it overtook its
/// Create) leaves a tombstone, so that the late Create is ignored.
async fn receive_delete(
    activity: InboxActivity,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    let conn = &mut *data.pool.get().await?;
    let Some(id) = activity.object_id() else {
        return Ok(());
    };
    if comment::mark_deleted(conn, id.as_str(), activity.actor.as_str()).await? {
        tracing::info!(comment = %id, "comment deleted by its author");
    } else if same_origin(&id, &activity.actor)
        && comment::find_by_ap_id(conn, id.as_str()).await?.is_none()
    {
        tombstone::add(conn, id.as_str(), activity.actor.as_str()).await?;
    }
    Ok(())
}

/// An edit of a comment by its author, applied only when it is newer than
/// what we have (redeliveries and out-of-order Updates change nothing). An
/// edit that brings in a held keyword takes the comment back to moderation.
async fn receive_comment_edit(
    activity: InboxActivity,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    let object = &activity.object;
    let Some(object_ap_id) = object_id(object) else {
        return Ok(());
    };
    if !same_origin(&object_ap_id, &activity.actor) {
        return Err(FederationError::Invalid(
            "the object is not on the actor's server".into(),
        ));
    }
    // Without `updated` (or with one we cannot read), the edit still applies, as in Mastodon.
    let stamped = object
        .get("updated")
        .and_then(Value::as_str)
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&chrono::Utc));
    let NoteBody {
        content,
        summary,
        sensitive,
    } = NoteBody::of(object);
    let edit = comment::Edit {
        content_html: &content,
        summary: summary.as_deref(),
        sensitive,
        updated_at: stamped.unwrap_or_else(chrono::Utc::now),
    };
    let conn = &mut *data.pool.get().await?;
    let (ap_id, author) = (object_ap_id.as_str(), activity.actor.as_str());
    if !comment::apply_edit(conn, ap_id, author, &edit, stamped.is_some()).await? {
        return Ok(());
    }
    tracing::info!(comment = %object_ap_id, "comment edited by its author");
    let text = format!("{} {content}", summary.as_deref().unwrap_or_default());
    if let Some(word) = crate::comments::held_keyword(&data.settings, &text)
        && let Some(c) = comment::find_by_ap_id(conn, object_ap_id.as_str()).await?
        && c.state == comment::State::Approved.as_str()
    {
        let note = format!("edited to contain \"{word}\"");
        comment::set_state(conn, c.id, comment::State::Pending, Some(&note)).await?;
        tracing::info!(comment = %object_ap_id, "an edited comment is held for moderation");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn addressing_decides_visibility() {
        let public = "https://www.w3.org/ns/activitystreams#Public";
        let followers = "https://m.example/users/a/followers";
        assert_eq!(
            visibility(&json!({"to": [public], "cc": [followers]})),
            "public"
        );
        assert_eq!(visibility(&json!({"to": "as:Public"})), "public");
        assert_eq!(
            visibility(&json!({"to": [followers], "cc": [public]})),
            "unlisted"
        );
        assert_eq!(
            visibility(&json!({"to": [followers], "cc": ["https://b.example/users/b"]})),
            "followers"
        );
        assert_eq!(
            visibility(&json!({"to": ["https://b.example/users/b"]})),
            "direct"
        );
        assert_eq!(visibility(&json!({})), "direct");
    }
}
