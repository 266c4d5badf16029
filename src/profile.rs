//! The blog's profile (its actor: name, bio, fields, pictures) is set in the
//! configuration, and changed from the admin pages ([`save`]). When it
//! differs from what was last published (at start-up, or when the owner
//! saves), followers are sent an `Update` of the actor, so that their
//! servers show the new name, bio or picture.

use diesel::result::Error as DieselError;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use sha2::{Digest, Sha256};

use crate::config::{ConfigError, Settings, SiteOverrides};
use crate::delivery;
use crate::federation::objects::person::blog_actor;
use crate::federation::outgoing;
use crate::models::instance_setting;
use crate::state::keys::ActorKeys;
use crate::state::live::{self, LiveSettings};

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// A value that cannot be taken (its key is the form's field).
    #[error(transparent)]
    Invalid(#[from] ConfigError),
    #[error("database: {0}")]
    Database(#[from] DieselError),
}

/// Saves the owner's settings and puts them in force; when the profile
/// changed, its `Update` is queued for the followers in the same
/// transaction. Returns whether it was.
pub async fn save(
    conn: &mut AsyncPgConnection,
    settings: &LiveSettings,
    keys: &ActorKeys,
    overrides: SiteOverrides,
) -> Result<bool, SaveError> {
    let in_force = settings.base().with_overrides(&overrides)?;
    let updated = conn
        .transaction::<_, DieselError, _>(async |conn| {
            // What followers have now, if never recorded (a server that
            // never started), so that the change below is one.
            publish_if_changed(conn, &settings.get(), keys).await?;
            live::store(conn, &overrides).await?;
            publish_if_changed(conn, &in_force, keys).await
        })
        .await?;
    settings.apply(overrides)?;
    Ok(updated)
}

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
