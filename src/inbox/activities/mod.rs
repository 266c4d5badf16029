//! Activities arriving in our inboxes. In the request, the signature (with
//! the key of the actor the activity names) and the actor's host are checked
//! by the library before `verify`, which checks what this actor may do
//! without fetching anything; the inbox then queues the activity. Later, a
//! worker calls [`process`], which fetches what it needs and applies the
//! effect, recording the activity id in the same transaction, so a
//! redelivery changes nothing. No database connection is held while
//! anything is fetched: each step takes one for its queries and gives it back.
//! One file per kind, with its `verify` (in the request) above its `receive`
//! (in a worker).

mod create;
mod delete;
mod follow;
pub mod quote;
mod reaction;
mod undo;
mod update;

use activitypub_federation::config::Data;
use activitypub_federation::traits::Activity;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use url::Url;

use crate::federation::error::FederationError;
use crate::federation::{object_id, same_origin};
use crate::models::reaction::Kind as ReactionKind;
use crate::state::AppState;
use crate::urls;

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct InboxActivity {
    pub id: Url,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(deserialize_with = "id_of")]
    pub actor: Url,
    #[serde(default)]
    pub object: Value,
    /// Everything else the sender wrote (addressing, times...), kept in the queue.
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// A reference that may be a bare id or an object with an `id`.
fn id_of<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
    let value = Value::deserialize(d)?;
    object_id(&value)
        .ok_or_else(|| serde::de::Error::custom("expected an id or an object with an id"))
}

impl InboxActivity {
    fn object_id(&self) -> Option<Url> {
        object_id(&self.object)
    }

    fn our_actor(data: &Data<AppState>) -> String {
        urls::actor(&data.settings())
    }

    /// An actor announcing its own deletion.
    pub fn is_self_delete(&self) -> bool {
        self.kind == "Delete" && self.object_id().as_ref() == Some(&self.actor)
    }
}

#[async_trait::async_trait]
impl Activity for InboxActivity {
    type DataType = AppState;
    type Error = FederationError;

    fn id(&self) -> &Url {
        &self.id
    }

    fn actor(&self) -> &Url {
        &self.actor
    }

    async fn verify(&self, data: &Data<AppState>) -> Result<(), FederationError> {
        // The library compares domains only; an origin includes the port.
        if !same_origin(&self.id, &self.actor) {
            return Err(FederationError::Invalid(
                "the activity's id is not on its actor's server".into(),
            ));
        }
        match self.kind.as_str() {
            "Follow" => follow::verify(self, data),
            "Undo" => undo::verify(self),
            "Create" => create::verify(self),
            "QuoteRequest" => quote::verify(self, data),
            _ => Ok(()),
        }
    }

    /// Verified: the inbox queues it (outside the library, so that the
    /// sender's wait for the key is bounded apart from the queue write).
    async fn receive(self, _data: &Data<AppState>) -> Result<(), FederationError> {
        Ok(())
    }
}

/// Applies a verified activity (in a worker, after the sender was answered).
pub async fn process(
    activity: InboxActivity,
    data: &Data<AppState>,
) -> Result<(), FederationError> {
    match activity.kind.as_str() {
        "Follow" => follow::receive(activity, data).await,
        "Create" => create::receive(activity, data).await,
        "Like" => reaction::receive(activity, ReactionKind::Like, data).await,
        "Announce" => reaction::receive(activity, ReactionKind::Announce, data).await,
        "Delete" if activity.is_self_delete() => delete::receive_self(activity, data).await,
        "Delete" => delete::receive(activity, data).await,
        "Undo" => undo::receive(activity, data).await,
        "Update" => update::receive(activity, data).await,
        "QuoteRequest" => quote::receive(activity, data).await,
        other => {
            tracing::debug!(kind = other, activity_id = %activity.id, "ignoring an activity we do not act on");
            Ok(())
        }
    }
}
