//! The settings in force: the configuration file's, with the owner's
//! changes from the admin pages over them (kept in the database, see
//! [`crate::config::SiteOverrides`]). Every process reads them again every
//! few seconds, so that a change made in one reaches the others.

use std::sync::{Arc, Mutex, RwLock};

use diesel_async::AsyncPgConnection;

use crate::config::{ConfigError, Settings, SiteOverrides};
use crate::models::instance_setting;

/// Where the owner's changes are kept (JSON).
pub const OVERRIDES_KEY: &str = "site_overrides";

pub struct LiveSettings {
    /// The configuration file's.
    base: Arc<Settings>,
    /// In force, and the owner's changes they were made with.
    current: RwLock<(Arc<Settings>, SiteOverrides)>,
    /// The owner's changes as last read from the database.
    last_stored: Mutex<Option<SiteOverrides>>,
}

impl LiveSettings {
    pub fn new(base: Settings) -> Self {
        let base = Arc::new(base);
        LiveSettings {
            current: RwLock::new((base.clone(), SiteOverrides::default())),
            last_stored: Mutex::new(None),
            base,
        }
    }

    /// The settings in force now.
    pub fn get(&self) -> Arc<Settings> {
        match self.current.read() {
            Ok(current) => current.0.clone(),
            Err(poisoned) => poisoned.into_inner().0.clone(),
        }
    }

    /// The owner's changes in force now.
    pub fn overrides(&self) -> SiteOverrides {
        match self.current.read() {
            Ok(current) => current.1.clone(),
            Err(poisoned) => poisoned.into_inner().1.clone(),
        }
    }

    /// The configuration file's settings, before the owner's changes.
    pub fn base(&self) -> &Settings {
        &self.base
    }

    /// Puts `overrides` in force; whether anything changed.
    pub fn apply(&self, overrides: SiteOverrides) -> Result<bool, ConfigError> {
        if self.overrides() == overrides {
            return Ok(false);
        }
        let settings = Arc::new(self.base.with_overrides(&overrides)?);
        let mut current = match self.current.write() {
            Ok(current) => current,
            Err(poisoned) => poisoned.into_inner(),
        };
        *current = (settings, overrides);
        Ok(true)
    }

    /// Reads the owner's changes from the database and puts them in force.
    /// A profile picture whose file is gone (a restore without the data
    /// directory) is left out and the rest kept; changes that do not hold at
    /// all give way to the configuration file's. Either is logged once.
    pub async fn reload(
        &self,
        conn: &mut AsyncPgConnection,
    ) -> Result<bool, diesel::result::Error> {
        let stored = load(conn).await?;
        {
            let mut last = match self.last_stored.lock() {
                Ok(last) => last,
                Err(poisoned) => poisoned.into_inner(),
            };
            if last.as_ref() == Some(&stored) {
                return Ok(false);
            }
            *last = Some(stored.clone());
        }
        let error = match self.apply(stored.clone()) {
            Ok(changed) => return Ok(changed),
            Err(e) => e,
        };
        let without_pictures = SiteOverrides {
            avatar: None,
            header: None,
            ..stored
        };
        if let Ok(changed) = self.apply(without_pictures) {
            tracing::warn!(error = %error, "a profile picture saved from the admin pages is missing; the configuration file's is used");
            return Ok(changed);
        }
        tracing::warn!(error = %error, "the settings saved from the admin pages cannot be used; using the configuration file's");
        Ok(self.apply(SiteOverrides::default()).unwrap_or(false))
    }
}

/// The owner's changes as stored (none when nothing or something unreadable
/// is stored).
pub async fn load(conn: &mut AsyncPgConnection) -> Result<SiteOverrides, diesel::result::Error> {
    let stored = instance_setting::get(conn, OVERRIDES_KEY).await?;
    Ok(stored
        .and_then(|json| match serde_json::from_str(&json) {
            Ok(overrides) => Some(overrides),
            Err(e) => {
                tracing::warn!(error = %e, "unreadable settings from the admin pages; ignored");
                None
            }
        })
        .unwrap_or_default())
}

/// Stores the owner's changes (in the caller's transaction).
pub async fn store(
    conn: &mut AsyncPgConnection,
    overrides: &SiteOverrides,
) -> Result<(), diesel::result::Error> {
    let json = serde_json::to_string(overrides)
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    instance_setting::set(conn, OVERRIDES_KEY, &json).await
}
