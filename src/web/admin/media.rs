//! `/admin/media`: the pictures uploaded for posts, the newest first, with
//! the Markdown that shows each and the posts that do; uploading (a form
//! here, and the editor's drag and drop, which asks for JSON) and deleting
//! one no post uses.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Json};
use serde::{Deserialize, Serialize};

use super::{Listing, Owner, Pages, Paging};
use crate::errors::JsonError;
use crate::media::{self, MediaError, Rejected};
use crate::models::media::{self as rows, Media};
use crate::state::AppState;
use crate::web::error::PageError;
use crate::web::multipart::{self as upload, UploadedFile};
use crate::web::site::{SiteContext, site_context};

/// Pictures per page.
const PER_PAGE: i64 = 24;

#[derive(Deserialize)]
pub(super) struct ListQuery {
    page: Option<i64>,
    /// The picture just uploaded, to show its Markdown first.
    uploaded: Option<String>,
    /// Whether one was just deleted.
    deleted: Option<String>,
}

#[derive(Serialize)]
struct MediaPage {
    site: SiteContext,
    csrf: String,
    images: Vec<ImageRow>,
    total: i64,
    #[serde(flatten)]
    pages: Pages,
    uploaded: Option<ImageRow>,
    deleted: bool,
    /// Why the last action did not happen.
    error: Option<String>,
    /// The posts that keep a picture from being deleted.
    blocking_posts: Vec<PostLink>,
    /// What was typed as the description, kept after a refused upload.
    alt: String,
    max_upload_mb: usize,
}

#[derive(Serialize)]
struct ImageRow {
    hash: String,
    /// What the page shows (the smaller copy when there is one).
    url: String,
    original_url: String,
    alt: String,
    width: i32,
    height: i32,
    /// `312 KB`.
    size: String,
    name: String,
    date: String,
    markdown: String,
    used_in: Vec<PostLink>,
    /// It is the blog's avatar or header.
    profile_picture: bool,
}

#[derive(Serialize)]
struct PostLink {
    title: String,
    edit_url: String,
}

fn post_links(posts: Vec<(String, String)>) -> Vec<PostLink> {
    posts
        .into_iter()
        .map(|(slug, title)| PostLink {
            title,
            edit_url: format!("/admin/posts/{slug}/edit"),
        })
        .collect()
}

fn row(state: &AppState, image: &Media, used_in: Vec<PostLink>) -> ImageRow {
    let tz = state.settings().blog.time_zone;
    ImageRow {
        hash: image.hash.clone(),
        url: format!("/media/{}", image.display_file_name()),
        original_url: format!("/media/{}", image.file_name()),
        alt: image.alt.clone(),
        width: image.width,
        height: image.height,
        size: human_size(image.bytes),
        name: image.original_name.clone(),
        date: image
            .created_at
            .with_timezone(&tz)
            .format("%Y-%m-%d %H:%M")
            .to_string(),
        markdown: media::markdown(image, &image.alt),
        used_in,
        profile_picture: media::is_profile_picture(&state.settings(), image),
    }
}

fn human_size(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

/// `GET /admin/media`.
pub(super) async fn list(
    State(state): State<AppState>,
    owner: Owner,
    Listing(query): Listing<ListQuery>,
) -> Result<Response, PageError> {
    let notices = Notices {
        uploaded: query.uploaded,
        deleted: query.deleted.is_some(),
        ..Notices::default()
    };
    page(&state, owner, query.page, notices, StatusCode::OK).await
}

#[derive(Default)]
struct Notices {
    uploaded: Option<String>,
    deleted: bool,
    error: Option<String>,
    blocking_posts: Vec<(String, String)>,
    alt: String,
}

async fn page(
    state: &AppState,
    owner: Owner,
    page: Option<i64>,
    notices: Notices,
    status: StatusCode,
) -> Result<Response, PageError> {
    let paging = Paging::new(page, PER_PAGE)?;
    let (total, images, uploaded) = {
        let mut conn = state.pool.get().await?;
        let total = rows::count(&mut conn).await?;
        let mut images = Vec::new();
        for image in rows::newest(&mut conn, PER_PAGE, paging.offset()).await? {
            let used_in = post_links(rows::posts_using(&mut conn, &image).await?);
            images.push(row(state, &image, used_in));
        }
        let uploaded = match &notices.uploaded {
            Some(hash) => rows::by_hash(&mut conn, hash)
                .await?
                .map(|image| row(state, &image, Vec::new())),
            None => None,
        };
        (total, images, uploaded)
    };
    let pages = paging.around(total, |n| format!("/admin/media?page={n}"))?;
    let html = state.templates.render(
        "admin_media.html",
        MediaPage {
            site: site_context(&state.settings()),
            csrf: owner.csrf,
            images,
            total,
            pages,
            uploaded,
            deleted: notices.deleted,
            error: notices.error,
            blocking_posts: post_links(notices.blocking_posts),
            alt: notices.alt,
            max_upload_mb: state.settings().max_upload_bytes / (1024 * 1024),
        },
    )?;
    Ok((status, Html(html)).into_response())
}

/// What the editor's script gets back from an upload.
#[derive(Serialize)]
struct Uploaded {
    markdown: String,
    url: String,
    alt: String,
    width: i32,
    height: i32,
}

/// Stores an uploaded file (the shared step of the media page and the
/// editor).
pub(super) async fn store(
    state: &AppState,
    file: UploadedFile,
    alt: &str,
) -> Result<Media, MediaError> {
    if file.too_large {
        let mib = state.settings().max_upload_bytes / (1024 * 1024);
        return Err(MediaError::Rejected(Rejected::TooLarge(mib)));
    }
    media::upload(&state.pool, &state.settings(), file.bytes, &file.name, alt).await
}

/// `POST /admin/media`: an upload from the form (answered with the page)
/// or from the editor's script (`Accept: application/json`).
pub(super) async fn create(
    State(state): State<AppState>,
    owner: Owner,
    headers: HeaderMap,
    multipart: Multipart,
) -> Result<Response, Response> {
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let mut form = upload::read(multipart, &["file"], state.settings().max_upload_bytes)
        .await
        .map_err(|e| refusal(wants_json, e))?;
    owner
        .check_form(&state, &form.text("csrf"))
        .map_err(|e| refusal(wants_json, e))?;
    let alt = form.text("alt");
    let Some(file) = form.take_file("file") else {
        let message = "Choose a picture to upload.";
        return Err(if wants_json {
            JsonError::field(StatusCode::UNPROCESSABLE_ENTITY, "file", message).into_response()
        } else {
            let notices = upload_refused(message.into(), alt);
            refused(&state, owner, StatusCode::UNPROCESSABLE_ENTITY, notices).await
        });
    };
    match store(&state, file, &alt).await {
        Ok(image) if wants_json => Ok(Json(Uploaded {
            markdown: media::markdown(&image, &alt),
            url: format!("/media/{}", image.display_file_name()),
            width: image.width,
            height: image.height,
            alt,
        })
        .into_response()),
        Ok(image) => {
            Ok(Redirect::to(&format!("/admin/media?uploaded={}", image.hash)).into_response())
        }
        Err(e) => {
            let (status, field) = match &e {
                MediaError::Rejected(_) => (StatusCode::UNPROCESSABLE_ENTITY, "file"),
                MediaError::AltTooLong => (StatusCode::UNPROCESSABLE_ENTITY, "alt"),
                _ => return Err(internal(wants_json, &e)),
            };
            Err(if wants_json {
                JsonError::field(status, field, e.to_string()).into_response()
            } else {
                let notices = upload_refused(e.to_string(), alt);
                refused(&state, owner, status, notices).await
            })
        }
    }
}

fn refusal(wants_json: bool, error: PageError) -> Response {
    if wants_json {
        JsonError::from(error).into_response()
    } else {
        error.into_response()
    }
}

fn internal(wants_json: bool, error: &MediaError) -> Response {
    if wants_json {
        JsonError::internal(error).into_response()
    } else {
        PageError::Internal(error.to_string()).into_response()
    }
}

/// The page again, with `status`, saying why the action did not happen.
async fn refused(state: &AppState, owner: Owner, status: StatusCode, notices: Notices) -> Response {
    page(state, owner, None, notices, status)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

/// An upload not taken: why, and the description typed.
fn upload_refused(error: String, alt: String) -> Notices {
    Notices {
        error: Some(error),
        alt,
        ..Notices::default()
    }
}

#[derive(Deserialize)]
pub(super) struct DeleteForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/media/{hash}/delete`: refused while a post shows it.
pub(super) async fn delete(
    State(state): State<AppState>,
    owner: Owner,
    Path(hash): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Result<Response, PageError> {
    owner.check_form(&state, &form.csrf)?;
    match media::delete(&state.pool, &state.settings(), &hash).await {
        Ok(_) => Ok(Redirect::to("/admin/media?deleted=1").into_response()),
        Err(MediaError::NotFound) => Err(PageError::NotFound),
        Err(e @ MediaError::ProfilePicture) => {
            let notices = Notices {
                error: Some(e.to_string()),
                ..Notices::default()
            };
            Ok(refused(&state, owner, StatusCode::CONFLICT, notices).await)
        }
        Err(MediaError::InUse(posts)) => {
            let message = format!(
                "This picture was not deleted: {} shows it. Remove it from {} first.",
                if posts.len() == 1 {
                    "a post".to_string()
                } else {
                    format!("{} posts", posts.len())
                },
                if posts.len() == 1 { "it" } else { "them" },
            );
            let notices = Notices {
                error: Some(message),
                blocking_posts: posts,
                ..Notices::default()
            };
            Ok(refused(&state, owner, StatusCode::CONFLICT, notices).await)
        }
        Err(e) => Err(PageError::Internal(e.to_string())),
    }
}
