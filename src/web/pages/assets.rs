//! Files the pages use: the theme's static files, the profile images, and
//! cached avatars and attachment pictures from other servers.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::federation::objects::person;
use crate::media;
use crate::models::media::{self as media_rows, ImageType};
use crate::state::AppState;
use crate::web::error::PageError;

/// `GET /avatars/{key}`: a commenter's avatar as cached here.
pub async fn avatar(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, PageError> {
    cached_image(&state.avatars, &key).await
}

/// `GET /attachments/{key}`: a picture attached to a comment, as cached here.
pub async fn attachment(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, PageError> {
    cached_image(&state.attachments, &key).await
}

pub(super) async fn cached_image(
    cache: &crate::state::image_cache::ImageCache,
    key: &str,
) -> Result<Response, PageError> {
    let (bytes, content_type) = cache.read(key).await.ok_or(PageError::NotFound)?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The key is the image URL's hash: the bytes behind it do not change.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=604800"),
    );
    Ok(response)
}

pub async fn static_file(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    let (bytes, content_type) = state
        .templates
        .static_file(&name)
        .ok_or(PageError::NotFound)?;
    let mut response = (StatusCode::OK, bytes.into_owned()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    Ok(response)
}

/// `GET /media/{file}`: an uploaded image (`<sha256>.<ext>`), or one of the
/// profile images from the configuration, `{avatar|header}-{digest}.{ext}`,
/// at addresses that change with their content (cached for good);
/// `/media/{avatar|header}.{ext}`, the address before, still answers.
pub async fn media_file(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, PageError> {
    if let Some((hash, kind)) = media::parse_file_name(&name) {
        return uploaded_image(&state, &name, hash, kind).await;
    }
    let profile = &state.settings().profile;
    let (file, immutable) = [("avatar", &profile.avatar), ("header", &profile.header)]
        .into_iter()
        .find_map(|(which, file)| {
            let file = file.as_ref()?;
            if name == person::media_path(which, file).trim_start_matches("/media/") {
                Some((file, true))
            } else {
                (name == format!("{which}.{}", file.extension)).then_some((file, false))
            }
        })
        .ok_or(PageError::NotFound)?;
    let bytes = tokio::fs::read(&file.path)
        .await
        .map_err(|e| PageError::Internal(format!("reading {}: {e}", file.path.display())))?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=3600"
        }),
    );
    Ok(response)
}

/// An image the owner uploaded (`/media/<sha256>.<ext>`), while its row
/// exists: its name changes with its bytes, so it is cached for good.
async fn uploaded_image(
    state: &AppState,
    name: &str,
    hash: &str,
    kind: ImageType,
) -> Result<Response, PageError> {
    let known = {
        let mut conn = state.pool.get().await?;
        media_rows::by_file_hash(&mut conn, hash).await?.is_some()
    };
    if !known {
        return Err(PageError::NotFound);
    }
    let bytes = media::read(&state.settings(), name)
        .await
        .map_err(|e| PageError::Internal(format!("reading the image {name}: {e}")))?
        .ok_or(PageError::NotFound)?;
    let mut response = (StatusCode::OK, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(kind.as_str()),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    Ok(response)
}
