//! The admin API's bearer token, checked on each request (see
//! [`crate::access`] for how it is made and kept).

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::access;
use crate::errors::JsonError;
use crate::state::AppState;

/// Proof that the request carried the admin token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = JsonError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                JsonError::unauthorized("an `Authorization: Bearer <token>` header is required")
            })?;
        let expected = match &state.settings().admin_token {
            Some(token) => Some(access::digest(token)),
            None => {
                let mut conn = state.pool.get().await?;
                access::stored_digest(&mut conn).await?
            }
        };
        match expected {
            Some(expected) if access::same_digest(&expected, &access::digest(given)) => Ok(Admin),
            _ => Err(JsonError::unauthorized("the token is not valid")),
        }
    }
}
