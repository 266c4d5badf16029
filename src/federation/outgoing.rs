//! The activities the blog sends, built from our rows: Accept for a Follow,
//! and Create / Update / Delete of Articles and of our comments' Notes.
//! Every activity sent has an id of its own: one that was sent before (a
//! comment approved, withdrawn and approved again) would be taken for a
//! duplicate, by our delivery queue and by the receiving servers.

use chrono::Utc;
use serde_json::{Value, json};

use super::inbox::activities::quote::QuoteRequest;
use super::objects::article::article;
use super::objects::tombstone::Tombstone;
use crate::config::Settings;
use crate::models::post::PostWithTags;
use crate::urls;

/// The Accept of a Follow, echoing the Follow as received.
pub fn accept_follow(settings: &Settings, follow_id: &str, follower: &str) -> Value {
    let actor = urls::actor(settings);
    json!({
        "id": format!("{actor}#accepts/{}", uuid::Uuid::new_v4()),
        "type": "Accept",
        "actor": actor,
        "to": [follower],
        "object": {
            "id": follow_id,
            "type": "Follow",
            "actor": follower,
            "object": actor,
        },
    })
}

/// The Reject of a Follow (from a blocked actor or server).
pub fn reject_follow(settings: &Settings, follow_id: &str, follower: &str) -> Value {
    let mut reject = accept_follow(settings, follow_id, follower);
    reject["type"] = Value::from("Reject");
    reject["id"] = Value::from(format!(
        "{}#rejects/{}",
        urls::actor(settings),
        uuid::Uuid::new_v4()
    ));
    reject
}

/// The Accept of a QuoteRequest: `result` is the QuoteAuthorization that
/// servers check (Mastodon requires it on our host, and this activity's
/// actor to be the quoted post's author).
pub fn accept_quote(settings: &Settings, request: &QuoteRequest<'_>, authorization: &str) -> Value {
    let actor = urls::actor(settings);
    json!({
        "id": fresh_id(&actor, "accepts"),
        "type": "Accept",
        "actor": actor,
        "to": [request.actor.as_str()],
        "object": quote_request(request),
        "result": authorization,
    })
}

/// The Reject of a QuoteRequest (the post is gone, or the requester blocked).
pub fn reject_quote(settings: &Settings, request: &QuoteRequest<'_>) -> Value {
    let actor = urls::actor(settings);
    json!({
        "id": fresh_id(&actor, "rejects"),
        "type": "Reject",
        "actor": actor,
        "to": [request.actor.as_str()],
        "object": quote_request(request),
    })
}

fn quote_request(request: &QuoteRequest<'_>) -> Value {
    json!({
        "id": request.id.as_str(),
        "type": "QuoteRequest",
        "actor": request.actor.as_str(),
        "object": request.object.as_str(),
        "instrument": request.instrument.as_str(),
    })
}

/// A new activity id: `{object}#{what}/{uuid}`.
fn fresh_id(object_id: &str, what: &str) -> String {
    format!("{object_id}#{what}/{}", uuid::Uuid::new_v4())
}

fn wrap(kind: &str, id: String, settings: &Settings, object: Value) -> Value {
    json!({
        "id": id,
        "type": kind,
        "actor": urls::actor(settings),
        "published": Utc::now(),
        "to": object["to"].clone(),
        "cc": object["cc"].clone(),
        "object": object,
    })
}

/// `Update` of the blog actor (its profile changed), to its followers.
pub fn update_actor(settings: &Settings, person: Value) -> Value {
    let actor = urls::actor(settings);
    json!({
        "id": fresh_id(&actor, "updates"),
        "type": "Update",
        "actor": actor,
        "to": [super::PUBLIC],
        "cc": [urls::actor_path(settings, "followers")],
        "object": person,
    })
}

/// `Create` of a post's Article, to send.
pub fn create_article(settings: &Settings, item: &PostWithTags) -> Option<Value> {
    let mut activity = outbox_create(settings, item)?;
    activity["id"] = Value::from(fresh_id(activity["object"]["id"].as_str()?, "create"));
    Some(activity)
}

/// The outbox's item for a post: its `Create`, under an id that stays the
/// same each time the outbox is read (`{article}#create`).
pub fn outbox_create(settings: &Settings, item: &PostWithTags) -> Option<Value> {
    let object = serde_json::to_value(article(settings, item)?).ok()?;
    let id = format!("{}#create", object["id"].as_str()?);
    let mut activity = wrap("Create", id, settings, object);
    activity["published"] = activity["object"]["published"].clone();
    Some(activity)
}

/// `Update` of an edited post; Mastodon applies it because `updated` is newer.
pub fn update_article(settings: &Settings, item: &PostWithTags) -> Option<Value> {
    let object = serde_json::to_value(article(settings, item)?).ok()?;
    let id = fresh_id(object["id"].as_str()?, "updates");
    Some(wrap("Update", id, settings, object))
}

/// `Delete` of a post, with a Tombstone as its object.
pub fn delete_article(settings: &Settings, ap_id: &str) -> Value {
    let tombstone = Tombstone::new(ap_id, "Article")
        .deleted(Utc::now())
        .addressed(
            json!([super::PUBLIC]),
            json!([urls::actor_path(settings, "followers")]),
        );
    wrap(
        "Delete",
        fresh_id(ap_id, "delete"),
        settings,
        tombstone.to_json(),
    )
}

/// `Create` of a local comment's Note.
pub fn create_note(settings: &Settings, note: Value) -> Value {
    let id = fresh_id(note["id"].as_str().unwrap_or_default(), "create");
    let mut activity = wrap("Create", id, settings, note);
    activity["published"] = activity["object"]["published"].clone();
    activity
}

/// `Update` of an edited local comment.
pub fn update_note(settings: &Settings, note: Value) -> Value {
    let id = fresh_id(note["id"].as_str().unwrap_or_default(), "updates");
    wrap("Update", id, settings, note)
}

/// `Delete` of a local comment, addressed as the Note was.
pub fn delete_note(settings: &Settings, note: &Value) -> Value {
    let ap_id = note["id"].as_str().unwrap_or_default();
    let tombstone = Tombstone::new(ap_id, "Note")
        .deleted(Utc::now())
        .addressed(note["to"].clone(), note["cc"].clone());
    wrap(
        "Delete",
        fresh_id(ap_id, "delete"),
        settings,
        tombstone.to_json(),
    )
}
