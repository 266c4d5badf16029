//! What a post or comment document says of the conversation under it: its
//! direct replies (our comments as whole Notes, others by id) and its
//! `replies` collection with the first page embedded.

use std::collections::HashMap;

use diesel::QueryResult;
use diesel_async::AsyncPgConnection;
use serde_json::{Value, json};

use super::{article, collection, note};
use crate::config::Settings;
use crate::models::comment::{self, Comment};
use crate::models::post::{Post, PostWithTags};
use crate::urls;

/// Items per page of a replies or context collection.
pub const PAGE: i64 = 50;

/// A `replies` (or `context`) collection with its first page embedded, as
/// Mastodon serves it: GoToSocial backfills a thread only from such a page,
/// and others need not fetch the page separately.
pub fn replies_with_first_page(collection_id: &str, items: Vec<Value>) -> Value {
    let total = items.len() as i64;
    let first_items = items.into_iter().take(PAGE as usize).collect();
    let first = json!(collection::page(collection_id, 1, PAGE, total, first_items));
    let mut replies = json!(collection::paged(collection_id, total, PAGE));
    replies["first"] = first;
    replies
}

/// The post's Article document for servers, its replies' first page embedded.
pub async fn article_document(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    item: &PostWithTags,
) -> QueryResult<Option<Value>> {
    let Some(article) = article::article(settings, item) else {
        return Ok(None);
    };
    let comments = comment::visible_for_post(conn, item.post.id).await?;
    let mut document = json!(article);
    let replies_id = format!(
        "{}/replies",
        urls::object_base(document["id"].as_str().unwrap_or_default())
    );
    document["replies"] = replies_with_first_page(
        &replies_id,
        direct_replies(settings, &item.post, &comments, None),
    );
    Ok(Some(document))
}

/// The shown answers to the post (`parent` None) or to one of its comments,
/// oldest first: comments written here as their whole Note (Mastodon then
/// need not fetch each), the others as their ids (they live on their server).
pub fn direct_replies(
    settings: &Settings,
    post: &Post,
    comments: &[Comment],
    parent: Option<i64>,
) -> Vec<Value> {
    let by_id: HashMap<i64, &Comment> = comments.iter().map(|c| (c.id, c)).collect();
    comments
        .iter()
        .filter(|c| c.parent_id == parent)
        .map(|c| {
            let parent = c.parent_id.and_then(|p| by_id.get(&p).copied());
            note::note(settings, c, post, parent)
                .map_or_else(|| Value::String(c.ap_id.clone()), |n| json!(n))
        })
        .collect()
}
