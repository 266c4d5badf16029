//! The author's JSON API under /api/v1: posts (create, list with drafts, get,
//! update, publish, delete), deliveries, and (api_comments.rs) comments and
//! blocks. Every route requires the admin bearer token.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post as post_route};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

use super::auth::Admin;
use super::error::ApiError;
use crate::config::Settings;
use crate::models::delivery::{self, DeliveryFilter};
use crate::models::post::{self, PostStatus, StatusFilter};
use crate::posts::{self, PostEdit, PostInput, PostWithTags};
use crate::state::AppState;
use crate::urls;

/// Largest request body the API reads; a 1 MiB post with JSON escaping fits.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/posts", get(list).post(create))
        .route("/posts/{slug}", get(show).patch(update).delete(remove))
        .route("/posts/{slug}/publish", post_route(publish))
        .route("/deliveries", get(list_deliveries))
        .route("/deliveries/retry", post_route(retry_deliveries))
        .merge(super::api_comments::router())
        .fallback(|| async { ApiError::not_found() })
}

/// A JSON body whose errors are JSON too, naming the offending field.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    status,
                    format!("the request body is larger than {MAX_REQUEST_BYTES} bytes"),
                )
            } else {
                ApiError::new(status, rejection.body_text())
            }
        })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(ApiJson)
            .map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                let message = inner.to_string();
                if inner.is_syntax() || inner.is_eof() || inner.is_io() {
                    return ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("malformed JSON: {message}"),
                    );
                }
                let field = if path != "." {
                    path
                } else {
                    backticked(&message).unwrap_or_default()
                };
                ApiError::field(StatusCode::UNPROCESSABLE_ENTITY, field, message)
            })
    }
}

/// The first `name` in "unknown field `name`" / "missing field `name`".
fn backticked(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_string())
}

/// Query parameters whose errors are JSON too (400).
pub fn query<T>(
    params: Result<Query<T>, axum::extract::rejection::QueryRejection>,
) -> Result<T, ApiError> {
    params
        .map(|Query(p)| p)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))
}

/// One page of a listing: `page` from 1, `per_page` from 1 to a maximum.
pub struct Paging {
    pub page: i64,
    pub per_page: i64,
}

impl Paging {
    pub fn new(
        page: Option<i64>,
        per_page: Option<i64>,
        default: i64,
        max: i64,
    ) -> Result<Self, ApiError> {
        let page = page.unwrap_or(1);
        if page < 1 {
            return Err(ApiError::field(
                StatusCode::BAD_REQUEST,
                "page",
                "page must be 1 or more",
            ));
        }
        let per_page = per_page.unwrap_or(default);
        if !(1..=max).contains(&per_page) {
            return Err(ApiError::field(
                StatusCode::BAD_REQUEST,
                "per_page",
                format!("per_page must be 1 to {max}"),
            ));
        }
        Ok(Paging { page, per_page })
    }

    pub fn offset(&self) -> i64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreatePost {
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
struct UpdatePost {
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
            status: post.status(),
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

async fn create(
    State(state): State<AppState>,
    _: Admin,
    ApiJson(body): ApiJson<CreatePost>,
) -> Result<Response, ApiError> {
    let mut conn = state.pool.get().await?;
    let input = PostInput {
        title: body.title,
        body: body.body,
        summary: body.summary,
        tags: body.tags,
        language: body.language,
        draft: body.draft,
    };
    let created = posts::create(&mut conn, &state.settings, input).await?;
    let location = format!("/api/v1/posts/{}", created.post.slug);
    let mut response = (
        StatusCode::CREATED,
        Json(PostJson::new(&state.settings, created)),
    )
        .into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    status: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

async fn list(
    State(state): State<AppState>,
    _: Admin,
    params: Result<Query<ListParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let params = query(params)?;
    let filter = match params.status.as_deref().unwrap_or("all") {
        "all" => StatusFilter::All,
        "draft" => StatusFilter::Only(PostStatus::Draft),
        "published" => StatusFilter::Only(PostStatus::Published),
        other => {
            return Err(ApiError::field(
                StatusCode::BAD_REQUEST,
                "status",
                format!("status must be all, draft or published, not {other:?}"),
            ));
        }
    };
    let paging = Paging::new(params.page, params.per_page, 20, 100)?;
    let mut conn = state.pool.get().await?;
    let total = post::count_for_author(&mut conn, filter).await?;
    let rows = post::list_for_author(&mut conn, filter, paging.per_page, paging.offset()).await?;
    let posts: Vec<PostJson> = posts::with_tags_many(&mut conn, rows)
        .await?
        .into_iter()
        .map(|p| PostJson::new(&state.settings, p))
        .collect();
    Ok(Json(serde_json::json!({
        "posts": posts,
        "page": paging.page,
        "per_page": paging.per_page,
        "total": total,
    })))
}

async fn show(
    State(state): State<AppState>,
    _: Admin,
    Path(slug): Path<String>,
) -> Result<Json<PostJson>, ApiError> {
    let mut conn = state.pool.get().await?;
    let item = posts::get(&mut conn, &slug).await?;
    Ok(Json(PostJson::new(&state.settings, item)))
}

async fn update(
    State(state): State<AppState>,
    _: Admin,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<UpdatePost>,
) -> Result<Json<PostJson>, ApiError> {
    let mut conn = state.pool.get().await?;
    let edit = PostEdit {
        title: body.title,
        body: body.body,
        summary: body.summary,
        tags: body.tags,
        language: body.language,
    };
    let item = posts::edit(&mut conn, &state.settings, &slug, edit).await?;
    Ok(Json(PostJson::new(&state.settings, item)))
}

async fn publish(
    State(state): State<AppState>,
    _: Admin,
    Path(slug): Path<String>,
) -> Result<Json<PostJson>, ApiError> {
    let mut conn = state.pool.get().await?;
    let item = posts::publish(&mut conn, &state.settings, &slug).await?;
    Ok(Json(PostJson::new(&state.settings, item)))
}

async fn remove(
    State(state): State<AppState>,
    _: Admin,
    Path(slug): Path<String>,
) -> Result<StatusCode, ApiError> {
    let mut conn = state.pool.get().await?;
    posts::delete(&mut conn, &state.settings, &slug).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliveryParams {
    state: Option<String>,
    page: Option<i64>,
    per_page: Option<i64>,
}

/// `GET /api/v1/deliveries?state=unfinished|failing|given-up|delivered|all`.
async fn list_deliveries(
    State(state): State<AppState>,
    _: Admin,
    params: Result<Query<DeliveryParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let params = query(params)?;
    let filter = match params.state.as_deref().unwrap_or("unfinished") {
        "unfinished" => DeliveryFilter::Unfinished,
        "failing" => DeliveryFilter::Failing,
        "given-up" => DeliveryFilter::GivenUp,
        "delivered" => DeliveryFilter::Delivered,
        "all" => DeliveryFilter::All,
        other => {
            return Err(ApiError::field(
                StatusCode::BAD_REQUEST,
                "state",
                format!(
                    "state must be unfinished, failing, given-up, delivered or all, not {other:?}"
                ),
            ));
        }
    };
    let paging = Paging::new(params.page, params.per_page, 50, 500)?;
    let mut conn = state.pool.get().await?;
    let total = delivery::count(&mut conn, filter).await?;
    let rows = delivery::list(&mut conn, filter, paging.per_page, paging.offset()).await?;
    Ok(Json(serde_json::json!({
        "deliveries": rows,
        "page": paging.page,
        "per_page": paging.per_page,
        "total": total,
    })))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetryBody {
    id: Option<i64>,
}

/// `POST /api/v1/deliveries/retry` with `{"id": N}` or `{}` for all.
async fn retry_deliveries(
    State(state): State<AppState>,
    _: Admin,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let RetryBody { id } = if body.is_empty() {
        RetryBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}")))?
    };
    let mut conn = state.pool.get().await?;
    let retried = delivery::retry_now(&mut conn, id).await?;
    if id.is_some() && retried == 0 {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no undelivered delivery with that id",
        ));
    }
    Ok(Json(serde_json::json!({"retried": retried})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_come_out_of_serde_messages() {
        assert_eq!(
            backticked("unknown field `colour`, expected one of `title`").as_deref(),
            Some("colour")
        );
        assert_eq!(
            backticked("missing field `title`").as_deref(),
            Some("title")
        );
        assert_eq!(backticked("no field here"), None);
    }
}
