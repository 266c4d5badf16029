//! HTTP: the router, its layers (request ids, tracing, limits, security
//! headers), the health check and graceful serving.

pub mod activitypub;
pub mod admin;
pub mod api;
pub mod auth;
pub mod client_ip;
pub mod comment_form;
pub mod csrf;
pub mod error;
pub mod feeds;
pub mod multipart;
pub mod pages;
pub mod site;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Json};
use axum::routing::{get, post};
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use activitypub_federation::config::{FederationConfig, FederationMiddleware};

use crate::inbox;
use crate::state::AppState;
use activitypub::thread;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()`: the comment form's
/// rate limit needs the client's address.
pub fn router(state: AppState, federation: FederationConfig<AppState>) -> Router {
    let pages = Router::new()
        .route("/", get(pages::home))
        .route("/posts/{slug}", get(pages::show_post))
        .route(
            "/posts/{slug}/comments",
            post(comment_form::submit).layer(DefaultBodyLimit::max(comment_form::MAX_FORM_BYTES)),
        )
        .route("/comments/{id}", get(pages::show_comment))
        .route("/tags/{slug}", get(pages::show_tag))
        .route("/archive", get(pages::archive))
        .route("/archive/{year}/{month}", get(pages::archive_month))
        .route("/feed.atom", get(feeds::atom))
        .route("/comments.atom", get(feeds::comments_atom))
        .route("/feed.rss", get(feeds::rss))
        .route("/static/{file}", get(pages::static_file))
        .route("/media/{file}", get(pages::media_file))
        .route("/avatars/{key}", get(pages::avatar))
        .route("/attachments/{key}", get(pages::attachment))
        .merge(admin::router(&state.settings()))
        .fallback(pages::not_found)
        .layer(from_fn_with_state(state.clone(), error::render_error_pages));

    let federation = Router::new()
        .route("/.well-known/webfinger", get(activitypub::webfinger))
        .route("/.well-known/host-meta", get(activitypub::host_meta))
        .route(
            "/.well-known/host-meta.json",
            get(activitypub::host_meta_json),
        )
        .route("/.well-known/nodeinfo", get(activitypub::nodeinfo_links))
        .route("/nodeinfo/{version}", get(activitypub::nodeinfo))
        .route("/users/{handle}", get(activitypub::actor))
        .route("/users/{handle}/outbox", get(activitypub::outbox))
        .route("/users/{handle}/followers", get(activitypub::followers))
        .route(
            "/users/{handle}/{collection}",
            get(activitypub::empty_collection),
        )
        .route("/posts/{slug}/replies", get(thread::post_replies))
        .route("/posts/{slug}/context", get(thread::post_context))
        .route("/comments/{id}/replies", get(thread::comment_replies))
        .route(
            "/comments/{id}/{collection}",
            get(thread::comment_reactions),
        )
        .route(
            "/posts/{slug}/{collection}",
            get(activitypub::post_reactions),
        )
        .route(
            "/quote-authorizations/{id}",
            get(activitypub::quote_authorization),
        )
        .route("/inbox", post(inbox::shared_inbox))
        .route("/users/{handle}/inbox", post(inbox::actor_inbox))
        .layer(FederationMiddleware::new(federation));

    Router::new()
        .merge(pages)
        .merge(federation)
        .nest("/api/v1", api::router(&state.settings()))
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(api::MAX_REQUEST_BYTES))
        .layer(SetResponseHeaderLayer::appending(
            header::VARY,
            HeaderValue::from_static("Accept"),
        ))
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' https: data:; media-src 'self' https:; \
                 style-src 'self'; script-src 'none'; object-src 'none'; frame-ancestors 'none'; \
                 base-uri 'none'; form-action 'self'",
            ),
        ))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let request_id = request
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!(
                    "request",
                    method = %request.method(),
                    path = %request.uri().path(),
                    request_id = %request_id,
                )
            }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match crate::db::ping(&state.pool).await {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({"status": "ok", "database": "ok"})),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "error", "database": e.to_string()})),
            )
        }
    }
}
