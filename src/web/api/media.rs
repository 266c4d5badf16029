//! Pictures in the API: upload (`multipart/form-data` with `file` and
//! `alt`), list, and delete one no post uses, as the admin media page does.

use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use super::extract::{Paging, query};
use crate::config::Settings;
use crate::errors::JsonError;
use crate::media::{self, MediaError, Rejected};
use crate::models::media::{self as rows, ImageType, Media};
use crate::state::AppState;
use crate::web::auth::Admin;
use crate::web::multipart;

#[derive(Debug, Serialize)]
pub struct MediaJson {
    hash: String,
    /// What a page shows (the smaller copy when there is one).
    url: String,
    original_url: String,
    content_type: ImageType,
    width: i32,
    height: i32,
    bytes: i64,
    alt: String,
    /// The Markdown that shows it in a post.
    markdown: String,
    created_at: chrono::DateTime<chrono::Utc>,
}

impl MediaJson {
    fn new(settings: &Settings, image: &Media) -> Self {
        MediaJson {
            hash: image.hash.clone(),
            url: settings.url(&format!("/media/{}", image.display_file_name())),
            original_url: settings.url(&format!("/media/{}", image.file_name())),
            content_type: image.content_type,
            width: image.width,
            height: image.height,
            bytes: image.bytes,
            alt: image.alt.clone(),
            markdown: media::markdown(image, &image.alt),
            created_at: image.created_at,
        }
    }
}

fn media_error(error: MediaError) -> JsonError {
    match error {
        MediaError::Rejected(_) => {
            JsonError::field(StatusCode::UNPROCESSABLE_ENTITY, "file", error.to_string())
        }
        MediaError::AltTooLong => {
            JsonError::field(StatusCode::UNPROCESSABLE_ENTITY, "alt", error.to_string())
        }
        MediaError::NotFound => JsonError::not_found(),
        MediaError::InUse(ref posts) => {
            let slugs: Vec<&str> = posts.iter().map(|(slug, _)| slug.as_str()).collect();
            JsonError::new(
                StatusCode::CONFLICT,
                format!("{error} Posts: {}", slugs.join(", ")),
            )
        }
        MediaError::ProfilePicture => JsonError::new(StatusCode::CONFLICT, error.to_string()),
        e => JsonError::internal(e),
    }
}

/// `POST /api/v1/media`: `file` (PNG, JPEG, GIF or WebP) and `alt`; 201.
pub(super) async fn upload(
    State(state): State<AppState>,
    _: Admin,
    form: Multipart,
) -> Result<(StatusCode, Json<MediaJson>), JsonError> {
    let settings = state.settings();
    let mut form = multipart::read(form, &["file"], settings.max_upload_bytes).await?;
    let alt = form.text("alt");
    let file = form.take_file("file").ok_or_else(|| {
        JsonError::field(
            StatusCode::UNPROCESSABLE_ENTITY,
            "file",
            "a picture is needed in the `file` field",
        )
    })?;
    if file.too_large {
        let mib = settings.max_upload_bytes / (1024 * 1024);
        return Err(media_error(MediaError::Rejected(Rejected::TooLarge(mib))));
    }
    let image = media::upload(&state.pool, &settings, file.bytes, &file.name, &alt)
        .await
        .map_err(media_error)?;
    Ok((StatusCode::CREATED, Json(MediaJson::new(&settings, &image))))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MediaParams {
    page: Option<i64>,
    per_page: Option<i64>,
}

/// `GET /api/v1/media`: the newest first.
pub(super) async fn list(
    State(state): State<AppState>,
    _: Admin,
    params: Result<Query<MediaParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, JsonError> {
    let params = query(params)?;
    let paging = Paging::new(params.page, params.per_page, 50, 500)?;
    let settings = state.settings();
    let mut conn = state.pool.get().await?;
    let total = rows::count(&mut conn).await?;
    let images: Vec<MediaJson> = rows::newest(&mut conn, paging.per_page, paging.offset())
        .await?
        .iter()
        .map(|image| MediaJson::new(&settings, image))
        .collect();
    Ok(Json(serde_json::json!({
        "media": images,
        "page": paging.page,
        "per_page": paging.per_page,
        "total": total,
    })))
}

/// `DELETE /api/v1/media/{hash}`: 204; 409 while a post or the profile
/// shows it.
pub(super) async fn remove(
    State(state): State<AppState>,
    _: Admin,
    Path(hash): Path<String>,
) -> Result<StatusCode, JsonError> {
    media::delete(&state.pool, &state.settings(), &hash)
        .await
        .map_err(media_error)?;
    Ok(StatusCode::NO_CONTENT)
}
