//! Errors of the federation layer, and the statuses other servers get for them:
//! 401 when a signature cannot be verified, 400 for malformed activities,
//! 403 when a verified actor may not do what it asks.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use activitypub_federation::error::Error as ProtocolError;

use crate::errors::JsonError;
use crate::net;

#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database pool: {0}")]
    Pool(#[from] crate::db::PoolError),
    #[error("invalid activity: {0}")]
    Invalid(String),
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// The sender could not be verified (401).
    #[error("not verified: {0}")]
    Unverified(String),
}

impl FederationError {
    /// Whether trying again later may succeed: the database, the network or
    /// a remote server failed us (not a refusal, ours or theirs).
    pub fn is_transient(&self) -> bool {
        match self {
            FederationError::Database(_) | FederationError::Pool(_) => true,
            FederationError::Protocol(p) => Self::is_transient_protocol(p),
            FederationError::Invalid(_)
            | FederationError::Forbidden(_)
            | FederationError::Unverified(_) => false,
        }
    }

    /// The network or a remote server failed us, for now.
    pub fn is_transient_protocol(error: &ProtocolError) -> bool {
        match error {
            ProtocolError::ReqwestMiddleware(e) => net::is_transient(e),
            ProtocolError::Reqwest(e) => net::is_transient_network(e),
            ProtocolError::DomainResolveError(_) => true,
            _ => false,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            FederationError::Protocol(e) => match e {
                ProtocolError::ActivitySignatureInvalid
                | ProtocolError::ActivityBodyDigestInvalid => StatusCode::UNAUTHORIZED,
                // The signer's key could not be had: nothing is verified.
                ProtocolError::NotFound
                | ProtocolError::FetchInvalidContentType(_)
                | ProtocolError::FetchWrongId(_)
                | ProtocolError::ParseFetchedObject(..)
                | ProtocolError::Reqwest(_)
                | ProtocolError::ReqwestMiddleware(_)
                | ProtocolError::DomainResolveError(_)
                | ProtocolError::ResolveInternalIpError(..)
                | ProtocolError::RequestLimit
                | ProtocolError::ResponseBodyLimit => StatusCode::UNAUTHORIZED,
                ProtocolError::ParseReceivedActivity { .. }
                | ProtocolError::UrlVerificationError(_)
                | ProtocolError::UrlParse(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::UNAUTHORIZED,
            },
            FederationError::Invalid(_) => StatusCode::BAD_REQUEST,
            FederationError::Forbidden(_) => StatusCode::FORBIDDEN,
            FederationError::Unverified(_) => StatusCode::UNAUTHORIZED,
            FederationError::Database(_) | FederationError::Pool(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

impl From<FederationError> for JsonError {
    fn from(e: FederationError) -> Self {
        let status = e.status();
        if status.is_server_error() {
            return JsonError::internal(e);
        }
        tracing::info!(error = %e, status = status.as_u16(), "inbox refused an activity");
        JsonError::new(status, e.to_string())
    }
}

impl IntoResponse for FederationError {
    fn into_response(self) -> Response {
        JsonError::from(self).into_response()
    }
}
