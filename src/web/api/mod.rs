//! The author's JSON API under /api/v1, a file per resource. Every route
//! requires the admin bearer token.

mod blocks;
mod comments;
mod deliveries;
pub mod extract;
mod media;
mod posts;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};

use crate::config::Settings;
use crate::errors::JsonError;
use crate::state::AppState;

pub use comments::CommentJson;
pub use media::MediaJson;
pub use posts::PostJson;

/// Largest request body the API reads; a 1 MiB post with JSON escaping fits.
pub const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

pub fn router(settings: &Settings) -> Router<AppState> {
    Router::new()
        .route("/posts", get(posts::list).post(posts::create))
        .route(
            "/posts/{slug}",
            get(posts::show).patch(posts::update).delete(posts::remove),
        )
        .route("/posts/{slug}/publish", post(posts::publish))
        .route("/posts/{slug}/unpublish", post(posts::unpublish))
        .route(
            "/media",
            get(media::list)
                .post(media::upload)
                .layer(DefaultBodyLimit::max(
                    crate::web::multipart::MAX_TEXT_BYTES + settings.max_upload_bytes * 2,
                )),
        )
        .route("/media/{hash}", delete(media::remove))
        .route("/posts/{slug}/replies", post(comments::reply_to_post))
        .route("/comments", get(comments::list))
        .route(
            "/comments/{id}",
            get(comments::show)
                .patch(comments::edit)
                .delete(comments::remove),
        )
        .route("/comments/{id}/approve", post(comments::approve))
        .route("/comments/{id}/reject", post(comments::reject))
        .route("/comments/{id}/replies", post(comments::reply_to_comment))
        .route(
            "/blocks",
            get(blocks::list).post(blocks::add).delete(blocks::remove),
        )
        .route("/deliveries", get(deliveries::list))
        .route("/deliveries/retry", post(deliveries::retry))
        .fallback(|| async { JsonError::not_found() })
}
