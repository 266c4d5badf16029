//! How errors become answers.
//!
//! - Other servers and API clients get JSON, `{"error": "...", "field":
//!   "..."}`: [`JsonError`], for the API, the ActivityPub documents and the
//!   inbox alike. People get an HTML page in the blog's theme:
//!   [`crate::web::error::PageError`]. Each is made into a response in one
//!   place, its `IntoResponse`.
//! - A 4xx says what was wrong, naming the field when there is one. A 5xx
//!   says only "internal error; see the server log", and the log has the
//!   cause.
//! - 401 carries `WWW-Authenticate`, 503 carries `Retry-After`.
//! - Below the entry points, each module has its own error enum
//!   (`thiserror`, with `#[from]` so that the source is kept, never a
//!   `String`); the entry points map them to these two, and the CLI prints
//!   them through `anyhow` with their causes.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A JSON error answer.
#[derive(Debug)]
pub struct JsonError {
    pub status: StatusCode,
    pub message: String,
    /// The request field that was wrong, if one was.
    pub field: Option<String>,
    /// For 503: when to come back, in seconds.
    pub retry_after: Option<u64>,
}

impl JsonError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        JsonError {
            status,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    pub fn field(status: StatusCode, field: impl Into<String>, message: impl Into<String>) -> Self {
        JsonError {
            field: Some(field.into()),
            ..JsonError::new(status, message)
        }
    }

    pub fn not_found() -> Self {
        JsonError::new(StatusCode::NOT_FOUND, "not found")
    }

    pub fn unauthorized(message: &str) -> Self {
        JsonError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// A 503 that asks the client to come back after `seconds`.
    pub fn unavailable(message: impl Into<String>, seconds: u64) -> Self {
        JsonError {
            retry_after: Some(seconds),
            ..JsonError::new(StatusCode::SERVICE_UNAVAILABLE, message)
        }
    }

    /// A 500: the cause goes to the log, not to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        JsonError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; see the server log",
        )
    }
}

impl IntoResponse for JsonError {
    fn into_response(self) -> Response {
        let body = match &self.field {
            Some(field) => json!({ "error": self.message, "field": field }),
            None => json!({ "error": self.message }),
        };
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"fedblog\""),
            );
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<diesel::result::Error> for JsonError {
    fn from(e: diesel::result::Error) -> Self {
        JsonError::internal(e)
    }
}

impl From<crate::db::PoolError> for JsonError {
    fn from(e: crate::db::PoolError) -> Self {
        JsonError::internal(e)
    }
}
