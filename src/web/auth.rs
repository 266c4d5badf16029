//! The admin API's bearer token: configured, or generated on first start and
//! kept only as a SHA-256 hash.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use diesel_async::AsyncPgConnection;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::config::Settings;
use crate::models::instance_setting;
use crate::state::AppState;

const TOKEN_HASH_KEY: &str = "admin_token_sha256";

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("fbt_{}", hex::encode(bytes))
}

/// Equal-time comparison of two hex digests, so timing reveals nothing.
fn same_digest(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// On first start without a configured token, makes one and returns it (to be
/// printed once). Returns `None` when a token exists already.
pub async fn ensure_token(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
) -> diesel::QueryResult<Option<String>> {
    if settings.admin_token.is_some() {
        return Ok(None);
    }
    let token = new_token();
    let stored = instance_setting::insert_new(conn, TOKEN_HASH_KEY, &hash(&token)).await?;
    Ok(stored.then_some(token))
}

/// Replaces the stored token with a new one and returns it.
pub async fn reset_token(conn: &mut AsyncPgConnection) -> diesel::QueryResult<String> {
    let token = new_token();
    instance_setting::set(conn, TOKEN_HASH_KEY, &hash(&token)).await?;
    Ok(token)
}

/// Proof that the request carried the admin token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

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
                ApiError::unauthorized("an `Authorization: Bearer <token>` header is required")
            })?;
        let expected = match &state.settings.admin_token {
            Some(token) => Some(hash(token)),
            None => {
                let mut conn = state.pool.get().await?;
                instance_setting::get(&mut conn, TOKEN_HASH_KEY).await?
            }
        };
        match expected {
            Some(expected) if same_digest(&expected, &hash(given)) => Ok(Admin),
            _ => Err(ApiError::unauthorized("the token is not valid")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_compared_by_digest() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.len() >= 40);
        assert!(same_digest(&hash(&a), &hash(&a)));
        assert!(!same_digest(&hash(&a), &hash(&b)));
        assert!(!same_digest("ab", "abc"));
    }
}
