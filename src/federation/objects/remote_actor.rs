//! Actors on other servers, as far as we need them: inbox, shared inbox and
//! public key, cached in `remote_actors` and refetched when stale or updated.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::protocol::verification::verify_domains_match;
use activitypub_federation::traits::{Actor, Object};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use url::Url;

use activitypub_federation::error::Error as ProtocolError;

use crate::federation::error::FederationError;
use crate::models::remote_actor::{self, RemoteActorRow};
use crate::state::AppState;

#[derive(Debug, Clone)]
pub struct RemoteActor {
    pub id: Url,
    pub row: RemoteActorRow,
}

/// The parts of an actor document we read; everything else is tolerated.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActorDocument {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub inbox: Url,
    #[serde(default)]
    pub endpoints: Option<Endpoints>,
    pub public_key: PublicKeyDocument,
    #[serde(default, deserialize_with = "link_href")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "link_href")]
    pub icon: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoints {
    #[serde(default)]
    pub shared_inbox: Option<Url>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyDocument {
    pub id: String,
    pub owner: Url,
    pub public_key_pem: String,
}

/// `url`/`icon` may be a string, a Link/Image object, or a list of them.
fn link_href<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    fn pick(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("href").or_else(|| o.get("url")).and_then(pick),
            Value::Array(a) => a.iter().find_map(pick),
            _ => None,
        }
    }
    Ok(Option::<Value>::deserialize(d)?.as_ref().and_then(pick))
}

/// The smallest RSA key we accept (Mastodon's and everyone's is 2048 or more).
pub const MIN_KEY_BITS: usize = 2048;

/// An RSA public key (SPKI or PKCS#1 PEM) of at least [`MIN_KEY_BITS`].
fn check_key_strength(pem: &str) -> Result<(), FederationError> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    use rsa::pkcs8::DecodePublicKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::RsaPublicKey::from_public_key_pem(pem.trim())
        .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem.trim()))
        .map_err(|_| {
            FederationError::Invalid("the actor's public key is not an RSA key we can read".into())
        })?;
    let bits = key.n().bits();
    if bits < MIN_KEY_BITS {
        return Err(FederationError::Unverified(format!(
            "the actor's RSA key has {bits} bits; at least {MIN_KEY_BITS} are required"
        )));
    }
    Ok(())
}

impl RemoteActor {
    /// The actor `id`, from our cache or its server (`forced`: from its
    /// server in any case). Refused unless the document is that very actor:
    /// the library follows a document's `id` to another URL on the same
    /// server, which would let one account's key speak for another.
    pub async fn dereference_exact(
        id: &Url,
        data: &Data<AppState>,
        forced: bool,
    ) -> Result<Self, FederationError> {
        let object = ObjectId::<RemoteActor>::from(id.clone());
        let fetch = async |data: &Data<AppState>| {
            if forced {
                object.dereference_forced(data).await
            } else {
                object.dereference(data).await
            }
        };
        // Unsigned first (Mastodon outside secure mode, Misskey, Pleroma,
        // Fedify answer it), saving an RSA signature; signed when the server
        // answers with something other than an actor (401/403 from secure
        // mode or GoToSocial), and from then on for a day.
        let server = crate::models::delivery::instance_of(id.as_str());
        let unsigned = data
            .unsigned_fetch
            .get()
            .filter(|_| !data.instance_health.wants_signed_fetch(&server));
        let actor = match unsigned {
            Some(config) => match fetch(&config.to_request_data()).await {
                Err(FederationError::Protocol(
                    ProtocolError::FetchInvalidContentType(_)
                    | ProtocolError::ParseFetchedObject(..),
                )) => {
                    data.instance_health.refused_unsigned_fetch(&server);
                    object.dereference_forced(data).await?
                }
                // Still stale: the library tried to refresh it, the server
                // refused, and the library gave back what we had. Ask
                // signed; if that fails too, what we had will do.
                Ok(known) if is_stale(&known) => match object.dereference_forced(data).await {
                    Ok(fresh) => {
                        data.instance_health.refused_unsigned_fetch(&server);
                        fresh
                    }
                    Err(_) => known,
                },
                other => other?,
            },
            None => fetch(data).await?,
        };
        if actor.id != *id {
            return Err(FederationError::Unverified(
                "the actor document's id is not the URL it was fetched from".into(),
            ));
        }
        Ok(actor)
    }

    fn from_row(row: RemoteActorRow) -> Result<Self, FederationError> {
        let id = Url::parse(&row.ap_id).map_err(|e| FederationError::Invalid(e.to_string()))?;
        Ok(RemoteActor { id, row })
    }
}

/// Older than activitypub_federation refetches an actor at (a day; 20
/// seconds in debug builds, as the library has it): after a dereference, it
/// means the refetch failed.
fn is_stale(actor: &RemoteActor) -> bool {
    let interval = if cfg!(debug_assertions) {
        chrono::Duration::seconds(20)
    } else {
        chrono::Duration::days(1)
    };
    actor.row.fetched_at < Utc::now() - interval
}

#[async_trait::async_trait]
impl Object for RemoteActor {
    type DataType = AppState;
    type Kind = ActorDocument;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn last_refreshed_at(&self) -> Option<DateTime<Utc>> {
        Some(self.row.fetched_at)
    }

    async fn read_from_id(
        object_id: Url,
        data: &Data<AppState>,
    ) -> Result<Option<Self>, FederationError> {
        let mut conn = data.pool.get().await?;
        remote_actor::find(&mut conn, object_id.as_str())
            .await?
            .map(RemoteActor::from_row)
            .transpose()
    }

    /// The actor is gone (its document answers 410): so is everything it had here.
    async fn delete(&self, data: &Data<AppState>) -> Result<(), FederationError> {
        let mut conn = data.pool.get().await?;
        remote_actor::forget(&mut conn, self.id.as_str()).await?;
        tracing::info!(actor = %self.id, "forgot a deleted actor");
        Ok(())
    }

    async fn into_json(self, _data: &Data<AppState>) -> Result<ActorDocument, FederationError> {
        Err(FederationError::Invalid(
            "remote actors are not served from here".into(),
        ))
    }

    async fn verify(
        json: &ActorDocument,
        expected_domain: &Url,
        _data: &Data<AppState>,
    ) -> Result<(), FederationError> {
        verify_domains_match(&json.id, expected_domain)?;
        verify_domains_match(&json.id, &json.inbox)?;
        if json.public_key.owner != json.id {
            return Err(FederationError::Unverified(
                "the public key's owner is not the actor".into(),
            ));
        }
        check_key_strength(&json.public_key.public_key_pem)
    }

    async fn from_json(
        json: ActorDocument,
        data: &Data<AppState>,
    ) -> Result<Self, FederationError> {
        let row = RemoteActorRow {
            id: 0,
            ap_id: json.id.to_string(),
            inbox_url: json.inbox.to_string(),
            shared_inbox_url: json
                .endpoints
                .and_then(|e| e.shared_inbox)
                .map(|u| u.to_string()),
            public_key_pem: json.public_key.public_key_pem,
            preferred_username: json.preferred_username,
            name: json.name,
            url: json.url,
            icon_url: json.icon,
            fetched_at: Utc::now(),
        };
        let mut conn = data.pool.get().await?;
        let stored = remote_actor::upsert(&mut conn, &row).await?;
        RemoteActor::from_row(stored)
    }
}

impl Actor for RemoteActor {
    fn public_key_pem(&self) -> &str {
        &self.row.public_key_pem
    }

    fn private_key_pem(&self) -> Option<String> {
        None
    }

    fn inbox(&self) -> Url {
        Url::parse(&self.row.inbox_url).unwrap_or_else(|_| self.id.clone())
    }

    fn shared_inbox(&self) -> Option<Url> {
        self.row
            .shared_inbox_url
            .as_deref()
            .and_then(|u| Url::parse(u).ok())
    }
}
