//! Errors as HTML pages, in the blog's theme, for people (see
//! [`crate::errors`] for the policy, and for JSON answers).

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::errors::JsonError;
use crate::posts::PostError;
use crate::state::AppState;

/// An error on a public page; rendered with the theme's error.html.
#[derive(Debug)]
pub enum PageError {
    NotFound,
    Gone,
    BadRequest(String),
    /// A form that cannot be trusted (a missing, forged or expired token).
    Forbidden(String),
    /// A request body over the limit.
    PayloadTooLarge,
    /// Over a rate limit; may try again after this long.
    TooManyRequests(std::time::Duration),
    Internal(String),
}

/// Carried from a failed handler to [`render_error_pages`], which has the templates.
#[derive(Debug, Clone)]
struct ErrorPage {
    status: StatusCode,
    title: &'static str,
    message: String,
    /// Seconds, for a `Retry-After` header.
    retry_after: Option<u64>,
}

/// The page's status and message as JSON: for a page's script, and for the
/// API where it shares a step with the pages.
impl From<PageError> for JsonError {
    fn from(error: PageError) -> Self {
        let page = error.page();
        let mut json = JsonError::new(page.status, page.message);
        json.retry_after = page.retry_after;
        json
    }
}

impl PageError {
    fn page(self) -> ErrorPage {
        match self {
            PageError::NotFound => ErrorPage {
                status: StatusCode::NOT_FOUND,
                title: "Page not found",
                message: "There is nothing at this address. It may have moved, or the link may be mistyped.".into(),
                retry_after: None,
            },
            PageError::Gone => ErrorPage {
                status: StatusCode::GONE,
                title: "This post was deleted",
                message: "The author deleted this post. It is not coming back.".into(),
                retry_after: None,
            },
            PageError::BadRequest(message) => ErrorPage {
                status: StatusCode::BAD_REQUEST,
                title: "Bad request",
                message,
                retry_after: None,
            },
            PageError::Forbidden(message) => ErrorPage {
                status: StatusCode::FORBIDDEN,
                title: "This form could not be accepted",
                message,
                retry_after: None,
            },
            PageError::PayloadTooLarge => ErrorPage {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                title: "Too long",
                message: "What you sent is too long for this form. Please shorten it and try again.".into(),
                retry_after: None,
            },
            PageError::TooManyRequests(wait) => {
                let seconds = wait.as_secs().max(1);
                let minutes = seconds.div_ceil(60);
                ErrorPage {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    title: "Too many comments",
                    message: format!(
                        "You have sent several comments in a short time. Please wait {minutes} {} and try again.",
                        if minutes == 1 { "minute" } else { "minutes" }
                    ),
                    retry_after: Some(seconds),
                }
            }
            PageError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error on a page");
                ErrorPage {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    title: "Something went wrong",
                    message: "The blog could not show this page just now. Please try again in a moment.".into(),
                    retry_after: None,
                }
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let page = self.page();
        let mut response = (page.status, page.message.clone()).into_response();
        if let Some(seconds) = page.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(page);
        response
    }
}

macro_rules! internal_from {
    ($($t:ty),*) => {$(
        impl From<$t> for PageError {
            fn from(e: $t) -> Self {
                PageError::Internal(e.to_string())
            }
        }
    )*};
}
internal_from!(
    diesel::result::Error,
    crate::db::PoolError,
    minijinja::Error
);

impl From<PostError> for PageError {
    fn from(e: PostError) -> Self {
        match e {
            PostError::NotFound(_) => PageError::NotFound,
            other => PageError::Internal(other.to_string()),
        }
    }
}

/// What `error.html` is given.
#[derive(serde::Serialize)]
struct ErrorContext<'a> {
    site: super::site::SiteContext,
    status: u16,
    title: &'a str,
    message: &'a str,
}

/// Renders [`PageError`] responses with the theme, falling back to plain text
/// if the theme itself fails.
pub async fn render_error_pages(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let response = next.run(request).await;
    let Some(page) = response.extensions().get::<ErrorPage>().cloned() else {
        return response;
    };
    let context = ErrorContext {
        site: super::site::site_context(&state.settings()),
        status: page.status.as_u16(),
        title: page.title,
        message: &page.message,
    };
    let mut page_response = match state.templates.render("error.html", context) {
        Ok(html) => {
            let mut themed = (page.status, html).into_response();
            themed.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            themed
        }
        Err(e) => {
            tracing::error!(error = %e, "the theme's error.html failed to render");
            (page.status, format!("{}: {}", page.title, page.message)).into_response()
        }
    };
    if let Some(retry) = response.headers().get(header::RETRY_AFTER) {
        page_response
            .headers_mut()
            .insert(header::RETRY_AFTER, retry.clone());
    }
    page_response
}

impl From<PostError> for JsonError {
    fn from(e: PostError) -> Self {
        match e {
            PostError::Invalid { field, message } => JsonError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                field,
                format!("{field}: {message}"),
            ),
            PostError::NotFound(slug) => JsonError::new(
                StatusCode::NOT_FOUND,
                format!("no post with the slug {slug:?}"),
            ),
            PostError::Database(e) => JsonError::internal(e),
        }
    }
}
