//! Activities arriving in our inboxes. The signature (with the key of the
//! actor the activity names) and the actor's host are checked by the library
//! before `verify`; `verify` checks what this actor may do; `receive` applies
//! the effect and records the activity id in one transaction, so a redelivery
//! changes nothing.

use activitypub_federation::config::Data;
use activitypub_federation::fetch::object_id::ObjectId;
use activitypub_federation::traits::{Activity, Actor};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use url::Url;

use super::error::FederationError;
use super::objects::remote_actor::RemoteActor;
use super::outgoing;
use crate::delivery;
use crate::models::delivery::instance;
use crate::models::{follower, received_activity, remote_actor};
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
}

/// A reference that may be a bare id or an object with an `id`.
fn id_of<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
    let value = Value::deserialize(d)?;
    object_id(&value)
        .ok_or_else(|| serde::de::Error::custom("expected an id or an object with an id"))
}

fn object_id(value: &Value) -> Option<Url> {
    match value {
        Value::String(s) => Url::parse(s).ok(),
        Value::Object(o) => o
            .get("id")
            .and_then(Value::as_str)
            .and_then(|s| Url::parse(s).ok()),
        _ => None,
    }
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

impl InboxActivity {
    fn object_id(&self) -> Option<Url> {
        object_id(&self.object)
    }

    fn our_actor(data: &Data<AppState>) -> String {
        urls::actor(&data.settings)
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
        let names_us = self.object_id().map(|u| u.to_string()) == Some(Self::our_actor(data));
        let undoes_someone_else = self
            .object
            .get("actor")
            .is_some_and(|inner| object_id(inner).as_ref() != Some(&self.actor));
        match self.kind.as_str() {
            "Follow" if !names_us => Err(FederationError::Invalid(
                "a Follow must name this blog's actor as its object".into(),
            )),
            // An embedded activity must be the undoer's own.
            "Undo" if undoes_someone_else => Err(FederationError::Forbidden(
                "an actor can only undo its own activities".into(),
            )),
            _ => Ok(()),
        }
    }

    async fn receive(self, data: &Data<AppState>) -> Result<(), FederationError> {
        let mut conn = data.pool.get().await?;
        let instance = crate::models::delivery::instance_of(self.actor.as_str());
        instance::record_alive(&mut conn, &instance, false).await?;
        match self.kind.as_str() {
            "Follow" => receive_follow(self, data, &mut conn).await,
            "Undo" => receive_undo(self, &mut conn).await,
            "Delete" if self.object_id().as_ref() == Some(&self.actor) => {
                forget_actor(&mut conn, self.actor.as_str()).await
            }
            "Update" if self.object_id().as_ref() == Some(&self.actor) => {
                // Never trust the embedded copy: refetch the profile from its origin.
                drop(conn);
                ObjectId::<RemoteActor>::from(self.actor.clone())
                    .dereference_forced(data)
                    .await?;
                Ok(())
            }
            other => {
                tracing::debug!(kind = other, activity_id = %self.id, "ignoring an activity we do not act on");
                Ok(())
            }
        }
    }
}

async fn receive_follow(
    activity: InboxActivity,
    data: &Data<AppState>,
    conn: &mut AsyncPgConnection,
) -> Result<(), FederationError> {
    let follower = ObjectId::<RemoteActor>::from(activity.actor.clone())
        .dereference(data)
        .await?;
    let settings = data.settings.clone();
    let inbox = follower.inbox().to_string();
    let shared = follower.shared_inbox().map(|u| u.to_string());
    conn.transaction::<_, FederationError, _>(async |conn| {
        if !received_activity::record(conn, activity.id.as_str()).await? {
            return Ok(());
        }
        follower::upsert(
            conn,
            activity.actor.as_str(),
            &inbox,
            shared.as_deref(),
            activity.id.as_str(),
        )
        .await?;
        let accept =
            outgoing::accept_follow(&settings, activity.id.as_str(), activity.actor.as_str());
        delivery::enqueue(conn, &accept, std::slice::from_ref(&inbox)).await?;
        tracing::info!(follower = %activity.actor, "new follower");
        Ok(())
    })
    .await
}

async fn receive_undo(
    activity: InboxActivity,
    conn: &mut AsyncPgConnection,
) -> Result<(), FederationError> {
    let inner_kind = activity.object.get("type").and_then(Value::as_str);
    let undoes_follow = match inner_kind {
        Some(kind) => kind == "Follow",
        // A bare id: the Follow we stored for this actor, if that is it.
        None => match (
            activity.object_id(),
            follower::find(conn, activity.actor.as_str()).await?,
        ) {
            (Some(id), Some(f)) => f.follow_activity_id == id.as_str(),
            _ => false,
        },
    };
    if !undoes_follow {
        return Ok(());
    }
    conn.transaction::<_, FederationError, _>(async |conn| {
        if received_activity::record(conn, activity.id.as_str()).await?
            && follower::remove(conn, activity.actor.as_str()).await?
        {
            tracing::info!(follower = %activity.actor, "unfollowed");
        }
        Ok(())
    })
    .await
}

/// Drops everything an actor had here (as a follower, its cached profile).
pub async fn forget_actor(
    conn: &mut AsyncPgConnection,
    actor: &str,
) -> Result<(), FederationError> {
    conn.transaction::<_, FederationError, _>(async |conn| {
        follower::remove(conn, actor).await?;
        remote_actor::remove(conn, actor).await?;
        Ok(())
    })
    .await?;
    tracing::info!(actor, "forgot a deleted actor");
    Ok(())
}
