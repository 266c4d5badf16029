//! Create: a reply to one of our posts or to a comment we hold becomes a
//! comment, with the parents fetched to place it.

use activitypub_federation::config::Data;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use url::Url;

use super::InboxActivity;
use crate::config::Settings;
use crate::federation::error::FederationError;
use crate::federation::objects::remote_actor::RemoteActor;
use crate::federation::objects::remote_note::{self, FetchError, RemoteNote};
use crate::federation::{reply_chain, same_origin};
use crate::models::comment::AttachmentKind;
use crate::models::post::Post;
use crate::models::{comment, reaction, received_activity, tombstone};
use crate::state::AppState;

/// An embedded object must be the sender's own (checked again on the copy
/// that is believed, when it is fetched from its origin).
pub(super) fn verify(activity: &InboxActivity) -> Result<(), FederationError> {
    let embedded_author = activity
        .object
        .get("attributedTo")
        .and_then(remote_note::author_of);
    if embedded_author.is_some_and(|a| a != activity.actor) {
        return Err(FederationError::Forbidden(
            "a Note must be attributed to the actor that sends it".into(),
        ));
    }
    Ok(())
}

/// A reply to one of our posts, or to a comment we hold, becomes a comment;
/// so do the parents between them that we fetch to place it.
/// Everything else in a Create is none of our business (202, ignored).
pub(super) async fn receive(
    activity: InboxActivity,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    let Some(mut object) = believed_object(&activity, data).await? else {
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
    if let Some(quoted) = object.quote.clone() {
        record_quote(data, &object, &quoted).await?;
    }
    let Some(in_reply_to) = reply_chain::choose_parent(data, &object).await? else {
        return Ok(());
    };
    object.in_reply_to = Some(in_reply_to.clone());
    // The whole climb gets a deadline, not only each fetch: a worker is not held for long.
    let deadline = data.settings().federation.request_timeout * 3;
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
    let settings = data.settings().clone();
    let anchor = chain.anchor;
    let mut conn = data.pool.get().await?;
    let fresh = conn
        .transaction::<_, FederationError, _>(async |conn| {
            if !received_activity::record(conn, activity.id.as_str()).await? {
                return Ok(false);
            }
            let mut parent = anchor.comment_id;
            for (note, author) in &replies {
                parent =
                    Some(store_reply(conn, &settings, &anchor.post, parent, note, author).await?);
            }
            Ok(true)
        })
        .await?;
    if !fresh {
        return Ok(());
    }
    // Their avatars, cached before a reader's browser would ask for them;
    // so are the pictures of those that may be shown (the page asks for
    // the rest if they ever are).
    for (note, author) in &replies {
        if let Some(icon) = &author.row.icon_url {
            data.avatars.fetch_in_background(icon);
        }
        if note.visibility.is_shown() {
            for picture in note
                .attachments
                .iter()
                .filter(|a| a.kind == AttachmentKind::Image)
            {
                data.attachments.fetch_in_background(&picture.url);
            }
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
        if !may_concern_us(&activity.object) {
            return Ok(None);
        }
        let Some(embedded) = RemoteNote::parse(activity.object.clone()) else {
            return Ok(None);
        };
        if embedded.in_reply_to.is_none() && embedded.quote.is_none() {
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

/// Whether an embedded object answers or quotes anything at all: the cheap
/// look before it is read in full (most Creates a server sends us are
/// posts of people who follow nothing here).
fn may_concern_us(object: &serde_json::Value) -> bool {
    let present = |key: &str| object.get(key).is_some_and(|v| !v.is_null());
    [
        "inReplyTo",
        "quote",
        "quoteUrl",
        "quoteUri",
        "_misskey_quote",
    ]
    .iter()
    .any(|key| present(key))
        || object["tag"]
            .as_array()
            .is_some_and(|tags| tags.iter().any(|t| t["type"] == "Link"))
}

/// A public (or unlisted) post that quotes one of ours is listed with the
/// post's likes and boosts (one that quotes a comment under it, counted on
/// the comment); anything else it quotes is none of ours.
async fn record_quote(
    data: &Data<AppState>,
    note: &RemoteNote,
    quoted: &Url,
) -> Result<(), FederationError> {
    let ours = Url::parse(&InboxActivity::our_actor(data))
        .map_err(|e| FederationError::Invalid(e.to_string()))?;
    if !same_origin(quoted, &ours) || !note.visibility.is_shown() {
        return Ok(());
    }
    let conn = &mut *data.pool.get().await?;
    let Some(anchor) = reply_chain::anchor_of(conn, quoted, &ours).await? else {
        return Ok(());
    };
    let Some(author) = note.attributed_to.as_ref() else {
        return Ok(());
    };
    let target = reaction::Target {
        post_id: anchor.post.id,
        comment_id: anchor.comment_id,
    };
    if reaction::add(
        conn,
        reaction::Kind::Quote,
        target,
        author.as_str(),
        note.id.as_str(),
    )
    .await?
    {
        tracing::info!(quote = %note.id, post = %anchor.post.slug, "quoted");
    }
    Ok(())
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
    let author_id = author.row.ap_id.as_str();
    let handle = author.row.preferred_username.as_ref().map(|name| {
        format!(
            "@{name}@{}",
            crate::models::delivery::instance_of(author_id)
        )
    });
    let in_reply_to = note
        .in_reply_to
        .as_ref()
        .map(Url::as_str)
        .unwrap_or_default();
    let text = format!(
        "{} {} {}",
        author.row.name.as_deref().unwrap_or_default(),
        note.summary.as_deref().unwrap_or_default(),
        note.content_html
    );
    let (state, held_because) =
        crate::comments::initial_state(conn, settings, comment::Origin::Remote, author_id, &text)
            .await?;
    let new = comment::NewComment {
        ap_id: note.id.as_str(),
        post_id: post.id,
        parent_id: parent,
        in_reply_to,
        url: note.url.as_deref(),
        author_ap_id: author_id,
        author_name: author.row.name.as_deref().filter(|n| !n.trim().is_empty()),
        author_handle: handle.as_deref(),
        content_html: &note.content_html,
        summary: note.summary.as_deref(),
        sensitive: note.sensitive,
        visibility: note.visibility,
        published_at: note.published.unwrap_or_else(chrono::Utc::now),
        state,
        origin: comment::Origin::Remote,
        source: None,
        reader_website: None,
        moderation_note: held_because.as_deref(),
        language: note.language.as_deref(),
        attachments: serde_json::to_value(&note.attachments).unwrap_or_default(),
    };
    if comment::insert(conn, &new).await? {
        tracing::info!(comment = %note.id, post = %post.slug, visibility = %new.visibility, state = %new.state, "new comment");
    }
    let stored = comment::find_by_ap_id(conn, note.id.as_str())
        .await?
        .ok_or(diesel::result::Error::NotFound)?;
    Ok(stored.id)
}
