//! Who may act as the blog's owner: the API's bearer token (configured, or
//! generated on first start and kept only as a SHA-256 digest), and the
//! admin UI's password (an argon2id hash) and sessions (kept by the SHA-256
//! of their random token, so that a copy of the database signs no one in).

use diesel_async::{AsyncConnection, AsyncPgConnection};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::config::{SessionLimits, Settings};
use crate::models::{admin_session, instance_setting};

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

const PASSWORD_HASH_KEY: &str = "admin_password_argon2id";

/// Shortest and longest password taken.
pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_BYTES: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error(
        "the password must be {MIN_PASSWORD_CHARS} characters or more (and at most {MAX_PASSWORD_BYTES} bytes)"
    )]
    WeakPassword,
    #[error("hashing the password: {0}")]
    Hash(#[from] argon2::password_hash::Error),
    #[error("the password hash could not run: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
}

/// Sets the admin UI's password and ends every session (a changed password
/// signs everyone out, but the browser that changed it when `keep` names it).
pub async fn set_password(
    conn: &mut AsyncPgConnection,
    password: &str,
    keep: Option<&SessionToken>,
) -> Result<(), AccessError> {
    if password.chars().count() < MIN_PASSWORD_CHARS || password.len() > MAX_PASSWORD_BYTES {
        return Err(AccessError::WeakPassword);
    }
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || {
        use argon2::password_hash::PasswordHasher;
        argon2::Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
    })
    .await??;
    let keep = keep.map(SessionToken::digest);
    conn.transaction::<_, AccessError, _>(async |conn| {
        instance_setting::set(conn, PASSWORD_HASH_KEY, &hash).await?;
        admin_session::delete_others(conn, keep.as_deref()).await?;
        Ok(())
    })
    .await
}

/// The stored password hash, `None` until one is set.
pub async fn password_hash(conn: &mut AsyncPgConnection) -> diesel::QueryResult<Option<String>> {
    instance_setting::get(conn, PASSWORD_HASH_KEY).await
}

/// Whether `password` is the one `hash` was made from (argon2 takes tens of
/// milliseconds: it runs off the async workers, and holds no connection).
pub async fn password_matches(hash: String, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::PasswordVerifier;
        use argon2::password_hash::phc::PasswordHash;
        PasswordHash::new(&hash).is_ok_and(|parsed| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .unwrap_or(false)
}

/// A session's secret, as the browser's cookie holds it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl SessionToken {
    fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        SessionToken(hex::encode(bytes))
    }

    /// The token from a cookie value, if it has the right shape.
    pub fn parse(value: &str) -> Option<Self> {
        (value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| SessionToken(value.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the database keeps.
    pub fn digest(&self) -> String {
        digest(&self.0)
    }
}

/// Keeps the token out of logs.
impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

/// Starts a session (after the password was checked); sessions past their
/// time are forgotten on the way.
pub async fn start_session(
    conn: &mut AsyncPgConnection,
    limits: SessionLimits,
) -> diesel::QueryResult<SessionToken> {
    admin_session::purge_expired(conn, limits.idle, limits.max_age).await?;
    let token = SessionToken::generate();
    admin_session::create(conn, &token.digest()).await?;
    Ok(token)
}

/// Whether `token` is a session in use; using it keeps it alive.
pub async fn session_is_valid(
    conn: &mut AsyncPgConnection,
    token: &SessionToken,
    limits: SessionLimits,
) -> diesel::QueryResult<bool> {
    Ok(
        admin_session::touch(conn, &token.digest(), limits.idle, limits.max_age)
            .await?
            .is_some(),
    )
}

pub async fn end_session(
    conn: &mut AsyncPgConnection,
    token: &SessionToken,
) -> diesel::QueryResult<()> {
    admin_session::delete(conn, &token.digest()).await?;
    Ok(())
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
