//! The blog's profile (its actor: name, bio, fields, pictures) is set in the
//! configuration and takes effect at start-up. When it differs from what was
//! last published, followers are sent an `Update` of the actor, so that
//! their servers show the new name, bio or picture.

use diesel::result::Error as DieselError;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::delivery;
use crate::federation::objects::person::blog_actor;
use crate::federation::outgoing;
use crate::models::instance_setting;
use crate::state::keys::ActorKeys;

/// The digest of the actor document last published.
const PUBLISHED_DIGEST: &str = "actor_document_digest";

/// Sends `Update(Person)` to the followers when the actor document is not the
/// one last published (the first start only records it). Returns whether an
/// Update was queued.
pub async fn publish_if_changed(
    conn: &mut AsyncPgConnection,
    settings: &Settings,
    keys: &ActorKeys,
) -> Result<bool, DieselError> {
    let person = serde_json::to_value(blog_actor(settings, keys))
        .map_err(|e| DieselError::SerializationError(Box::new(e)))?;
    let digest = hex::encode(Sha256::digest(person.to_string().as_bytes()));
    let settings = settings.clone();
    conn.transaction::<_, DieselError, _>(async |conn| {
        let published = instance_setting::get(conn, PUBLISHED_DIGEST).await?;
        if published.as_deref() == Some(digest.as_str()) {
            return Ok(false);
        }
        instance_setting::set(conn, PUBLISHED_DIGEST, &digest).await?;
        if published.is_none() {
            return Ok(false);
        }
        delivery::enqueue_to_followers(conn, &outgoing::update_actor(&settings, person)).await?;
        tracing::info!("the profile changed; its Update goes to the followers");
        Ok(true)
    })
    .await
}
