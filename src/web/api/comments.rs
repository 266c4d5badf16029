//! Comments in the API: list and moderate them, answer them as the blog.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::extract::{ApiJson, Paging, choice, query};
use crate::comments::{self, CommentError, Target};
use crate::config::Settings;
use crate::errors::JsonError;
use crate::models::comment::{
    self, Comment, ListFilter, Origin, State as CommentState, StateFilter, Visibility,
};
use crate::models::post;
use crate::state::AppState;
use crate::urls;
use crate::web::auth::Admin;

impl From<CommentError> for JsonError {
    fn from(e: CommentError) -> Self {
        match e {
            CommentError::Invalid { field, message } => JsonError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                field,
                format!("{field}: {message}"),
            ),
            CommentError::NotFound(message) => JsonError::new(StatusCode::NOT_FOUND, message),
            CommentError::Conflict(message) => JsonError::new(StatusCode::CONFLICT, message),
            CommentError::Database(e) => JsonError::internal(e),
        }
    }
}

/// A comment as the author sees it (every state and visibility).
#[derive(Debug, Serialize)]
pub struct CommentJson {
    id: i64,
    ap_id: String,
    post: Option<String>,
    /// The comment it answers, if not the post.
    parent_id: Option<i64>,
    in_reply_to: String,
    /// "remote" (the fediverse), "author" (the blog's answers) or "reader" (the form).
    origin: Origin,
    state: CommentState,
    visibility: Visibility,
    author_id: String,
    author_name: Option<String>,
    author_handle: Option<String>,
    website: Option<String>,
    /// Where it is on the blog (shown comments only).
    url: Option<String>,
    content_html: String,
    text: Option<String>,
    summary: Option<String>,
    moderation_note: Option<String>,
    published_at: chrono::DateTime<chrono::Utc>,
    updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl CommentJson {
    fn new(settings: &Settings, c: Comment, slug: Option<String>) -> Self {
        CommentJson {
            url: slug
                .as_deref()
                .filter(|_| c.is_visible())
                .map(|s| urls::comment_anchor(settings, s, c.id)),
            post: slug,
            id: c.id,
            ap_id: c.ap_id,
            parent_id: c.parent_id,
            in_reply_to: c.in_reply_to,
            origin: c.origin,
            state: c.state,
            visibility: c.visibility,
            author_id: c.author_ap_id,
            author_name: c.author_name,
            author_handle: c.author_handle,
            website: c.reader_website,
            content_html: c.content_html,
            text: c.source,
            summary: c.summary,
            moderation_note: c.moderation_note,
            published_at: c.published_at,
            updated_at: c.updated_at,
        }
    }
}

async fn to_json(state: &AppState, c: Comment) -> Result<CommentJson, JsonError> {
    let mut conn = state.pool.get().await?;
    let slug = post::find_by_id(&mut conn, c.post_id)
        .await?
        .map(|p| p.slug);
    Ok(CommentJson::new(&state.settings(), c, slug))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListParams {
    state: Option<String>,
    post: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// `GET /api/v1/comments?state=pending|approved|rejected|deleted|all&post=SLUG`
/// (pending by default), newest first.
pub(super) async fn list(
    State(state): State<AppState>,
    _: Admin,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, JsonError> {
    let params = query(params)?;
    let state_filter = choice("state", params.state.as_deref(), StateFilter::Pending)?.state();
    let paging = Paging::new(params.page, params.per_page, 50, 500)?;
    let mut conn = state.pool.get().await?;
    let post_id = match &params.post {
        Some(slug) => match post::find_by_slug(&mut conn, slug).await? {
            Some(p) => Some(p.id),
            None => {
                return Err(JsonError::new(
                    StatusCode::NOT_FOUND,
                    format!("no post with the slug {slug:?}"),
                ));
            }
        },
        None => None,
    };
    let filter = ListFilter {
        state: state_filter,
        post_id,
    };
    let rows = comment::list(&mut conn, &filter, paging.per_page, paging.offset()).await?;
    let post_ids: Vec<i64> = rows.iter().map(|c| c.post_id).collect();
    let slugs = post::slugs_by_id(&mut conn, &post_ids).await?;
    let out: Vec<CommentJson> = rows
        .into_iter()
        .map(|c| {
            let slug = slugs.get(&c.post_id).cloned();
            CommentJson::new(&state.settings(), c, slug)
        })
        .collect();
    Ok(Json(
        json!({"comments": out, "page": paging.page, "per_page": paging.per_page}),
    ))
}

fn no_comment(id: i64) -> JsonError {
    JsonError::new(
        StatusCode::NOT_FOUND,
        format!("no comment with the id {id}"),
    )
}

pub(super) async fn show(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<i64>,
) -> Result<Json<CommentJson>, JsonError> {
    let mut conn = state.pool.get().await?;
    let c = comment::find(&mut conn, id)
        .await?
        .ok_or_else(|| no_comment(id))?;
    drop(conn);
    Ok(Json(to_json(&state, c).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TextBody {
    text: String,
}

/// `PATCH /api/v1/comments/{id}` `{"text": "..."}`: edit one of the blog's answers.
pub(super) async fn edit(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<TextBody>,
) -> Result<Json<CommentJson>, JsonError> {
    let mut conn = state.pool.get().await?;
    let c = comments::edit_author_reply(&mut conn, &state.settings(), id, &body.text).await?;
    drop(conn);
    Ok(Json(to_json(&state, c).await?))
}

pub(super) async fn remove(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<i64>,
) -> Result<Json<CommentJson>, JsonError> {
    let mut conn = state.pool.get().await?;
    let c = comments::delete(&mut conn, &state.settings(), id).await?;
    drop(conn);
    Ok(Json(to_json(&state, c).await?))
}

pub(super) async fn approve(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<i64>,
) -> Result<Json<CommentJson>, JsonError> {
    let mut conn = state.pool.get().await?;
    let c = comments::approve(&mut conn, &state.settings(), id).await?;
    drop(conn);
    Ok(Json(to_json(&state, c).await?))
}

pub(super) async fn reject(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<i64>,
) -> Result<Json<CommentJson>, JsonError> {
    let mut conn = state.pool.get().await?;
    let c = comments::reject(&mut conn, &state.settings(), id).await?;
    drop(conn);
    Ok(Json(to_json(&state, c).await?))
}

async fn reply(state: &AppState, target: Target, text: &str) -> Result<Response, JsonError> {
    let mut conn = state.pool.get().await?;
    let c = comments::reply_as_author(&mut conn, &state.settings(), target, text).await?;
    drop(conn);
    Ok((StatusCode::CREATED, Json(to_json(state, c).await?)).into_response())
}

/// `POST /api/v1/comments/{id}/replies` `{"text": "..."}`: answer a comment as the blog.
pub(super) async fn reply_to_comment(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<i64>,
    ApiJson(body): ApiJson<TextBody>,
) -> Result<Response, JsonError> {
    reply(&state, Target::Comment(id), &body.text).await
}

/// `POST /api/v1/posts/{slug}/replies` `{"text": "..."}`: answer a post as the blog.
pub(super) async fn reply_to_post(
    State(state): State<AppState>,
    _: Admin,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<TextBody>,
) -> Result<Response, JsonError> {
    reply(&state, Target::Post(slug), &body.text).await
}
