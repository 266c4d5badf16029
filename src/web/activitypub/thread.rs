//! The conversation under a post, for other servers: the replies collections
//! of posts and comments, each local comment as its Note (content-negotiated
//! at its id), and the post's FEP-7888 `context` collection.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::Value;

use super::{PageQuery, not_found, public_post};
use crate::errors::JsonError;
use crate::federation::negotiate::ActivityJson;
use crate::federation::objects::replies::{PAGE, direct_replies, replies_with_first_page};
use crate::federation::objects::tombstone::Tombstone;
use crate::federation::objects::{collection, note};
use crate::models::comment::{self, Comment, State as CommentState};
use crate::models::post::{self, Post};
use crate::models::reaction;
use crate::state::AppState;
use crate::urls;

/// A paged collection: the collection itself with its first page embedded
/// (as Mastodon serves replies, and as GoToSocial needs to backfill a
/// thread), or `?page=N` of it.
fn paged_items(id: &str, items: Vec<Value>, page: Option<i64>) -> Result<Response, JsonError> {
    let total = items.len() as i64;
    let Some(page) = page else {
        return Ok(
            ActivityJson(StatusCode::OK, replies_with_first_page(id, items)).into_response(),
        );
    };
    if !(1..=1_000_000).contains(&page) {
        return Err(JsonError::new(
            StatusCode::BAD_REQUEST,
            "`page` must be a positive number",
        ));
    }
    let items = items
        .into_iter()
        .skip(((page - 1) * PAGE) as usize)
        .take(PAGE as usize)
        .collect();
    Ok(ActivityJson(
        StatusCode::OK,
        collection::page(id, page, PAGE, total, items),
    )
    .into_response())
}

/// A public post (by the slug in its address), its ActivityPub id, and its shown comments.
async fn post_thread(
    state: &AppState,
    slug: &str,
) -> Result<(Post, String, Vec<Comment>), JsonError> {
    let requested = urls::post(&state.settings(), slug);
    let mut conn = state.pool.get().await?;
    let row = public_post(&mut conn, &requested, slug).await?;
    let Some((row, ap_id)) = row.and_then(|r| r.ap_id.clone().map(|a| (r, a))) else {
        return Err(not_found());
    };
    let comments = comment::visible_for_post(&mut conn, row.id).await?;
    Ok((row, ap_id, comments))
}

/// `GET /posts/{slug}/replies`: the shown answers to a post, oldest first.
pub async fn post_replies(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, JsonError> {
    let (post, ap_id, comments) = post_thread(&state, &slug).await?;
    paged_items(
        &format!("{}/replies", urls::object_base(&ap_id)),
        direct_replies(&state.settings(), &post, &comments, None),
        query.page,
    )
}

/// `GET /posts/{slug}/context`: the whole conversation (FEP-7888), the post
/// first, then every shown comment, oldest first.
pub async fn post_context(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, JsonError> {
    let (_, ap_id, comments) = post_thread(&state, &slug).await?;
    let items = std::iter::once(Value::String(ap_id.clone()))
        .chain(comments.into_iter().map(|c| Value::String(c.ap_id)))
        .collect();
    paged_items(&urls::context(&ap_id), items, query.page)
}

/// A comment that is shown, and its public post.
async fn shown_comment(state: &AppState, id: i64) -> Result<Option<(Comment, Post)>, JsonError> {
    let mut conn = state.pool.get().await?;
    let Some(c) = comment::find(&mut conn, id).await? else {
        return Ok(None);
    };
    let Some(post) = post::find_by_id(&mut conn, c.post_id)
        .await?
        .filter(Post::is_public)
    else {
        return Ok(None);
    };
    if !c.is_visible() || crate::models::block::is_blocked(&mut conn, &c.author_ap_id).await? {
        return Ok(None);
    }
    Ok(Some((c, post)))
}

/// A comment at its id (`GET /comments/{id}`): for servers (`as_json`), a
/// comment written here is the blog actor's Note; people are sent to the
/// comment on its post's page (the page handler negotiates).
pub async fn comment_document(
    state: &AppState,
    id: i64,
    as_json: bool,
) -> Result<Response, JsonError> {
    let settings = &state.settings();
    let mut conn = state.pool.get().await?;
    let Some(c) = comment::find(&mut conn, id).await? else {
        return Err(not_found());
    };
    if as_json && c.is_local() && c.state == CommentState::Deleted {
        let tombstone = Tombstone::new(&c.ap_id, "Note");
        return Ok(ActivityJson(StatusCode::GONE, tombstone).into_response());
    }
    drop(conn);
    let Some((c, post)) = shown_comment(state, id).await? else {
        return Err(not_found());
    };
    if !as_json {
        return Ok(Redirect::to(&urls::comment_anchor(settings, &post.slug, c.id)).into_response());
    }
    // Someone else's comment lives on their server, at its own id.
    if !c.is_local() {
        return Err(not_found());
    }
    let mut conn = state.pool.get().await?;
    let parent = match c.parent_id {
        Some(p) => comment::find(&mut conn, p).await?,
        None => None,
    };
    let Some(mut note) = note::note(settings, &c, &post, parent.as_ref()) else {
        return Err(not_found());
    };
    let comments = comment::visible_for_post(&mut conn, post.id).await?;
    let replies_id = format!("{}/replies", urls::comment(settings, c.id));
    note.replies = replies_with_first_page(
        &replies_id,
        direct_replies(settings, &post, &comments, Some(c.id)),
    );
    Ok(ActivityJson(StatusCode::OK, note).into_response())
}

/// `GET /comments/{id}/replies`: the shown answers to a comment, oldest first.
pub async fn comment_replies(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(query): Query<PageQuery>,
) -> Result<Response, JsonError> {
    let Some((c, post)) = shown_comment(&state, id).await? else {
        return Err(not_found());
    };
    let mut conn = state.pool.get().await?;
    let comments = comment::visible_for_post(&mut conn, post.id).await?;
    paged_items(
        &format!("{}/replies", urls::comment(&state.settings(), c.id)),
        direct_replies(&state.settings(), &post, &comments, Some(c.id)),
        query.page,
    )
}

/// `GET /comments/{id}/likes` and `/shares` of a comment written here: counted.
pub async fn comment_reactions(
    State(state): State<AppState>,
    Path((id, which)): Path<(i64, String)>,
) -> Result<Response, JsonError> {
    let kind = match which.as_str() {
        "likes" => reaction::Kind::Like,
        "shares" => reaction::Kind::Announce,
        _ => return Err(not_found()),
    };
    let Some((c, post)) = shown_comment(&state, id)
        .await?
        .filter(|(c, _)| c.is_local())
    else {
        return Err(not_found());
    };
    let mut conn = state.pool.get().await?;
    let target = reaction::Target {
        post_id: post.id,
        comment_id: Some(c.id),
    };
    let total = reaction::count(&mut conn, target, kind).await?;
    let id = format!("{}/{which}", c.ap_id);
    Ok(ActivityJson(StatusCode::OK, collection::counted(&id, total)).into_response())
}
