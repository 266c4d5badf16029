//! The blog actor's RSA key pair: generated once, on first start, and kept in
//! the database. The private key never leaves the process (never served, never logged).

use std::fmt;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use rsa::RsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;

use crate::models::instance_setting;

const PRIVATE_KEY: &str = "actor_private_key_pem";
const PUBLIC_KEY: &str = "actor_public_key_pem";
const CREATED_AT: &str = "actor_created_at";

#[derive(Clone)]
pub struct ActorKeys {
    pub public_pem: String,
    private_pem: String,
    /// The private key, parsed once (for the RFC 9421 signatures we make
    /// ourselves; activitypub_federation parses its own copy).
    signing_key: RsaPrivateKey,
    /// When the actor came to be (its `published`).
    pub created_at: DateTime<Utc>,
}

impl ActorKeys {
    pub fn private_pem(&self) -> &str {
        &self.private_pem
    }

    pub fn signing_key(&self) -> &RsaPrivateKey {
        &self.signing_key
    }
}

/// Keeps the private key out of logs and debug output.
impl fmt::Debug for ActorKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActorKeys")
            .field("public_pem", &self.public_pem)
            .field("private_pem", &"<redacted>")
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("generating the actor key pair failed: {0}")]
    Generate(String),
    #[error("the stored private key cannot be read: {0}")]
    Unreadable(String),
}

/// Loads the key pair, generating it on first use. Two processes starting at
/// once agree on one pair: only the first insert wins, both read it back.
pub async fn load_or_create(conn: &mut AsyncPgConnection) -> Result<ActorKeys, KeyError> {
    if let Some(keys) = load(conn).await? {
        return Ok(keys);
    }
    let pair = tokio::task::spawn_blocking(
        activitypub_federation::http_signatures::generate_actor_keypair,
    )
    .await
    .map_err(|e| KeyError::Generate(e.to_string()))?
    .map_err(|e| KeyError::Generate(e.to_string()))?;
    if instance_setting::insert_new(conn, PRIVATE_KEY, &pair.private_key).await? {
        instance_setting::set(conn, PUBLIC_KEY, &pair.public_key).await?;
        instance_setting::set(conn, CREATED_AT, &Utc::now().to_rfc3339()).await?;
        tracing::info!("generated the blog actor's key pair");
    }
    load(conn)
        .await?
        .ok_or_else(|| KeyError::Generate("the stored key pair is incomplete".into()))
}

async fn load(conn: &mut AsyncPgConnection) -> Result<Option<ActorKeys>, KeyError> {
    let (Some(private_pem), Some(public_pem)) = (
        instance_setting::get(conn, PRIVATE_KEY).await?,
        instance_setting::get(conn, PUBLIC_KEY).await?,
    ) else {
        return Ok(None);
    };
    let created_at = instance_setting::get(conn, CREATED_AT)
        .await?
        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map_or_else(Utc::now, |t| t.with_timezone(&Utc));
    let signing_key = RsaPrivateKey::from_pkcs8_pem(&private_pem)
        .map_err(|e| KeyError::Unreadable(e.to_string()))?;
    Ok(Some(ActorKeys {
        public_pem,
        private_pem,
        signing_key,
        created_at,
    }))
}
