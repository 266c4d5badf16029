//! The blog actor as the federation library needs it: the key that signs our
//! deliveries and fetches.

use activitypub_federation::config::Data;
use activitypub_federation::traits::{Actor, Object};
use url::Url;

use crate::federation::error::FederationError;
use crate::state::AppState;
use crate::state::keys::ActorKeys;

#[derive(Debug, Clone)]
pub struct BlogActor {
    pub id: Url,
    pub keys: ActorKeys,
}

#[async_trait::async_trait]
impl Object for BlogActor {
    type DataType = AppState;
    type Kind = ();
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    async fn read_from_id(
        _id: Url,
        _data: &Data<AppState>,
    ) -> Result<Option<Self>, FederationError> {
        Ok(None)
    }

    async fn into_json(self, _data: &Data<AppState>) -> Result<(), FederationError> {
        Ok(())
    }

    async fn verify(
        _json: &(),
        _expected: &Url,
        _data: &Data<AppState>,
    ) -> Result<(), FederationError> {
        Err(FederationError::Invalid("the blog actor is local".into()))
    }

    async fn from_json(_json: (), _data: &Data<AppState>) -> Result<Self, FederationError> {
        Err(FederationError::Invalid("the blog actor is local".into()))
    }
}

impl Actor for BlogActor {
    fn public_key_pem(&self) -> &str {
        &self.keys.public_pem
    }

    fn private_key_pem(&self) -> Option<String> {
        Some(self.keys.private_pem().to_string())
    }

    fn inbox(&self) -> Url {
        self.id.clone()
    }
}
