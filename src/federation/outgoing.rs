//! The activities the blog sends, built from our rows as typed values:
//! Accept and Reject (of a Follow, of a QuoteRequest), Update of the actor,
//! and Create / Update / Delete of Articles and of our comments' Notes.
//! Every activity sent has an id of its own: one that was sent before (a
//! comment approved, withdrawn and approved again) would be taken for a
//! duplicate, by our delivery queue and by the receiving servers. The
//! `@context` is added when one is put on the wire.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::objects::article::{Article, article};
use super::objects::note::Note;
use super::objects::tombstone::Tombstone;
use crate::config::Settings;
use crate::models::post::PostWithTags;
use crate::urls;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Activity<O> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    published: Option<DateTime<Utc>>,
    to: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cc: Vec<String>,
    object: O,
    /// What an Accept produced (a QuoteAuthorization).
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<String>,
}

impl<O: Serialize> Activity<O> {
    /// An activity by the blog actor.
    fn new(settings: &Settings, kind: &'static str, id: String, object: O) -> Self {
        Activity {
            id,
            kind,
            actor: urls::actor(settings),
            published: None,
            to: Vec::new(),
            cc: Vec::new(),
            object,
            result: None,
        }
    }

    fn published(mut self, at: DateTime<Utc>) -> Self {
        self.published = Some(at);
        self
    }

    fn addressed(mut self, to: Vec<String>, cc: Vec<String>) -> Self {
        self.to = to;
        self.cc = cc;
        self
    }

    /// As the delivery queue stores it.
    fn into_json(self) -> Value {
        // Structs of strings, times and JSON objects: serializing cannot fail.
        serde_json::to_value(self).expect("an activity serializes to a JSON object")
    }
}

/// A new activity id: `{object}#{what}/{uuid}`.
fn fresh_id(object_id: &str, what: &str) -> String {
    format!("{object_id}#{what}/{}", uuid::Uuid::new_v4())
}

/// An activity another server sent us, echoed as the object of our answer.
#[derive(Debug, Serialize)]
struct Echo<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    actor: &'a str,
    object: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    instrument: Option<&'a str>,
}

/// The Accept of a Follow, echoing the Follow as received.
pub fn accept_follow(settings: &Settings, follow_id: &str, follower: &str) -> Value {
    answer_follow(settings, "Accept", "accepts", follow_id, follower)
}

/// The Reject of a Follow (from a blocked actor or server).
pub fn reject_follow(settings: &Settings, follow_id: &str, follower: &str) -> Value {
    answer_follow(settings, "Reject", "rejects", follow_id, follower)
}

fn answer_follow(
    settings: &Settings,
    kind: &'static str,
    what: &str,
    follow_id: &str,
    follower: &str,
) -> Value {
    let actor = urls::actor(settings);
    let follow = Echo {
        id: follow_id,
        kind: "Follow",
        actor: follower,
        object: &actor,
        instrument: None,
    };
    Activity::new(settings, kind, fresh_id(&actor, what), follow)
        .addressed(vec![follower.to_string()], Vec::new())
        .into_json()
}

/// A QuoteRequest we answer (FEP-044f), as its answer echoes it.
#[derive(Debug, Clone, Copy)]
pub struct QuoteRequest<'a> {
    pub id: &'a str,
    /// The requester.
    pub actor: &'a str,
    /// Our post quoted.
    pub object: &'a str,
    /// The quoting post.
    pub instrument: &'a str,
}

/// The Accept of a QuoteRequest: `result` is the QuoteAuthorization that
/// servers check (Mastodon requires it on our host, and this activity's
/// actor to be the quoted post's author).
pub fn accept_quote(settings: &Settings, request: QuoteRequest<'_>, authorization: &str) -> Value {
    let mut accept = answer_quote(settings, "Accept", "accepts", request);
    accept.result = Some(authorization.to_string());
    accept.into_json()
}

/// The Reject of a QuoteRequest (the post is gone, or the requester blocked).
pub fn reject_quote(settings: &Settings, request: QuoteRequest<'_>) -> Value {
    answer_quote(settings, "Reject", "rejects", request).into_json()
}

fn answer_quote<'a>(
    settings: &Settings,
    kind: &'static str,
    what: &str,
    request: QuoteRequest<'a>,
) -> Activity<Echo<'a>> {
    let echo = Echo {
        id: request.id,
        kind: "QuoteRequest",
        actor: request.actor,
        object: request.object,
        instrument: Some(request.instrument),
    };
    Activity::new(settings, kind, fresh_id(&urls::actor(settings), what), echo)
        .addressed(vec![request.actor.to_string()], Vec::new())
}

/// `Update` of the blog actor (its profile changed), to its followers.
pub fn update_actor(settings: &Settings, person: Value) -> Value {
    let id = fresh_id(&urls::actor(settings), "updates");
    Activity::new(settings, "Update", id, person)
        .addressed(vec![super::PUBLIC.to_string()], followers(settings))
        .into_json()
}

fn followers(settings: &Settings) -> Vec<String> {
    vec![urls::actor_path(settings, "followers")]
}

/// An activity about a post's Article, addressed as the Article is.
fn about_article(
    settings: &Settings,
    kind: &'static str,
    id: String,
    article: Article,
) -> Activity<Article> {
    let (to, cc) = (article.to.clone(), article.cc.clone());
    Activity::new(settings, kind, id, article).addressed(to, cc)
}

/// `Create` of a post's Article, to send.
pub fn create_article(settings: &Settings, item: &PostWithTags) -> Option<Value> {
    let article = article(settings, item)?;
    let (id, published) = (fresh_id(&article.id, "create"), article.published);
    Some(
        about_article(settings, "Create", id, article)
            .published(published)
            .into_json(),
    )
}

/// The outbox's item for a post: its `Create`, under an id that stays the
/// same each time the outbox is read (`{article}#create`).
pub fn outbox_create(settings: &Settings, item: &PostWithTags) -> Option<Value> {
    let article = article(settings, item)?;
    let (id, published) = (format!("{}#create", article.id), article.published);
    Some(
        about_article(settings, "Create", id, article)
            .published(published)
            .into_json(),
    )
}

/// `Update` of an edited post; Mastodon applies it because `updated` is newer.
pub fn update_article(settings: &Settings, item: &PostWithTags) -> Option<Value> {
    let article = article(settings, item)?;
    let id = fresh_id(&article.id, "updates");
    Some(
        about_article(settings, "Update", id, article)
            .published(Utc::now())
            .into_json(),
    )
}

/// `Delete` of a post, with a Tombstone as its object.
pub fn delete_article(settings: &Settings, ap_id: &str) -> Value {
    let (to, cc) = (vec![super::PUBLIC.to_string()], followers(settings));
    let tombstone = Tombstone::new(ap_id, "Article")
        .deleted(Utc::now())
        .addressed(to.clone(), cc.clone());
    Activity::new(settings, "Delete", fresh_id(ap_id, "delete"), tombstone)
        .published(Utc::now())
        .addressed(to, cc)
        .into_json()
}

/// An activity about a local comment's Note, addressed as the Note is.
fn about_note<O: Serialize>(
    settings: &Settings,
    kind: &'static str,
    id: String,
    note: &Note,
    object: O,
) -> Activity<O> {
    Activity::new(settings, kind, id, object).addressed(note.to.clone(), note.cc.clone())
}

/// `Create` of a local comment's Note.
pub fn create_note(settings: &Settings, note: Note) -> Value {
    let (id, published) = (fresh_id(&note.id, "create"), note.published);
    about_note(settings, "Create", id, &note, &note)
        .published(published)
        .into_json()
}

/// `Update` of an edited local comment.
pub fn update_note(settings: &Settings, note: Note) -> Value {
    let id = fresh_id(&note.id, "updates");
    about_note(settings, "Update", id, &note, &note)
        .published(Utc::now())
        .into_json()
}

/// `Delete` of a local comment, addressed as the Note was.
pub fn delete_note(settings: &Settings, note: Note) -> Value {
    let tombstone = Tombstone::new(&note.id, "Note")
        .deleted(Utc::now())
        .addressed(note.to.clone(), note.cc.clone());
    let id = fresh_id(&note.id, "delete");
    about_note(settings, "Delete", id, &note, tombstone)
        .published(Utc::now())
        .into_json()
}
