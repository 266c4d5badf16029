//! Posts in the API: create, list with drafts, get, update, publish, delete.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};

use super::extract::{ApiJson, Paging, choice, query};
use crate::config::Settings;
use crate::errors::JsonError;
use crate::models::post::{self, PostStatus, StatusFilter};
use crate::posts::{self, PostEdit, PostInput, PostWithTags};
use crate::state::AppState;
use crate::urls;
use crate::web::auth::Admin;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreatePost {
    title: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    /// The post's language tag when it is not the blog's.
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    draft: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UpdatePost {
    title: Option<String>,
    body: Option<String>,
    /// Absent: unchanged; `null`: cleared (the excerpt is derived again).
    #[serde(default, deserialize_with = "present")]
    summary: Option<Option<String>>,
    tags: Option<Vec<String>>,
    /// Absent: unchanged; `null`: the blog's language again.
    #[serde(default, deserialize_with = "present")]
    language: Option<Option<String>>,
}

fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, Serialize)]
pub struct PostJson {
    slug: String,
    title: String,
    status: PostStatus,
    url: String,
    summary: Option<String>,
    excerpt: String,
    body: String,
    body_html: String,
    tags: Vec<String>,
    /// The post's own language; `null`: the blog's.
    language: Option<String>,
    created_at: chrono::DateTime<chrono::Utc>,
    published_at: Option<chrono::DateTime<chrono::Utc>>,
    updated_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl PostJson {
    fn new(settings: &Settings, item: PostWithTags) -> Self {
        let PostWithTags { post, tags } = item;
        PostJson {
            url: urls::post(settings, &post.slug),
            status: post.status,
            slug: post.slug,
            title: post.title,
            summary: post.summary,
            excerpt: post.excerpt,
            body: post.body_markdown,
            body_html: post.body_html,
            tags: tags.into_iter().map(|t| t.name).collect(),
            language: post.language,
            created_at: post.created_at,
            published_at: post.published_at,
            updated_at: post.updated_at,
        }
    }
}

pub(super) async fn create(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<CreatePost>,
) -> Result<Response, JsonError> {
    let mut conn = state.pool.get().await?;
    let input = PostInput {
        title: body.title,
        body: body.body,
        summary: body.summary,
        tags: body.tags,
        language: body.language,
        draft: body.draft,
    };
    let created = posts::create(&mut conn, &state.settings(), input).await?;
    let location = format!("/api/v1/posts/{}", created.post.slug);
    let mut response = (
        StatusCode::CREATED,
        Json(PostJson::new(&state.settings(), created)),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ListParams {
    status: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

pub(super) async fn list(
    State(state): State<AppState>,
    _: Admin,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, JsonError> {
    let params = query(params)?;
    let filter = choice("status", params.status.as_deref(), StatusFilter::All)?;
    let paging = Paging::new(params.page, params.per_page, 20, 100)?;
    let mut conn = state.pool.get().await?;
    let total = post::count_for_author(&mut conn, filter).await?;
    let rows = post::list_for_author(&mut conn, filter, paging.per_page, paging.offset()).await?;
    let posts: Vec<PostJson> = posts::with_tags_many(&mut conn, rows)
        .await?
        .into_iter()
        .map(|p| PostJson::new(&state.settings(), p))
        .collect();
    Ok(Json(serde_json::json!({
        "posts": posts,
        "page": paging.page,
        "per_page": paging.per_page,
        "total": total,
    })))
}

pub(super) async fn show(
    State(state): State<AppState>,
    _: Admin,
    Path(slug): Path<String>,
) -> Result<Json<PostJson>, JsonError> {
    let mut conn = state.pool.get().await?;
    let item = posts::get(&mut conn, &slug).await?;
    Ok(Json(PostJson::new(&state.settings(), item)))
}

pub(super) async fn update(
    State(state): State<AppState>,
    _: Admin,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<UpdatePost>,
) -> Result<Json<PostJson>, JsonError> {
    let mut conn = state.pool.get().await?;
    let edit = PostEdit {
        title: body.title,
        body: body.body,
        summary: body.summary,
        tags: body.tags,
        language: body.language,
    };
    let item = posts::edit(&mut conn, &state.settings(), &slug, edit).await?;
    Ok(Json(PostJson::new(&state.settings(), item)))
}

pub(super) async fn publish(
    State(state): State<AppState>,
    _: Admin,
    Path(slug): Path<String>,
) -> Result<Json<PostJson>, JsonError> {
    let mut conn = state.pool.get().await?;
    let item = posts::publish(&mut conn, &state.settings(), &slug).await?;
    Ok(Json(PostJson::new(&state.settings(), item)))
}

/// `POST /api/v1/posts/{slug}/unpublish`: a draft again; followers' servers
/// are told to remove it (published again, it goes out as a new object).
pub(super) async fn unpublish(
    State(state): State<AppState>,
    _: Admin,
    Path(slug): Path<String>,
) -> Result<Json<PostJson>, JsonError> {
    let mut conn = state.pool.get().await?;
    let item = posts::unpublish(&mut conn, &state.settings(), &slug).await?;
    Ok(Json(PostJson::new(&state.settings(), item)))
}

pub(super) async fn remove(
    State(state): State<AppState>,
    _: Admin,
    Path(slug): Path<String>,
) -> Result<StatusCode, JsonError> {
    let mut conn = state.pool.get().await?;
    posts::delete(&mut conn, &state.settings(), &slug).await?;
    Ok(StatusCode::NO_CONTENT)
}
