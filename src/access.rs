//! Who may act as the blog's owner: the API's bearer token, configured, or
//! generated on first start and kept only as a SHA-256 digest.

use diesel_async::AsyncPgConnection;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::models::instance_setting;

const TOKEN_HASH_KEY: &str = "admin_token_sha256";

pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("fbt_{}", hex::encode(bytes))
}

/// Equal-time comparison of two hex digests, so timing reveals nothing.
pub fn same_digest(a: &str, b: &str) -> bool {
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
    let stored = instance_setting::insert_new(conn, TOKEN_HASH_KEY, &digest(&token)).await?;
    Ok(stored.then_some(token))
}

/// Replaces the stored token with a new one and returns it.
pub async fn reset_token(conn: &mut AsyncPgConnection) -> diesel::QueryResult<String> {
    let token = new_token();
    instance_setting::set(conn, TOKEN_HASH_KEY, &digest(&token)).await?;
    Ok(token)
}

/// The digest of the token stored by [`ensure_token`] or [`reset_token`].
pub async fn stored_digest(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Option<String>> {
    instance_setting::get(conn, TOKEN_HASH_KEY).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_compared_by_digest() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.len() >= 40);
        assert!(same_digest(&digest(&a), &digest(&a)));
        assert!(!same_digest(&digest(&a), &digest(&b)));
        assert!(!same_digest("ab", "abc"));
    }
}
