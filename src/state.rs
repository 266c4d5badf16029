//! What every request handler shares.

use std::sync::Arc;

use crate::config::Settings;
use crate::db::Pool;
use crate::federation::keys::{self, ActorKeys, KeyError};
use crate::render::templates::{Templates, ThemeError};

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub settings: Arc<Settings>,
    pub templates: Arc<Templates>,
    pub actor_keys: Arc<ActorKeys>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Theme(#[from] ThemeError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("database pool: {0}")]
    Pool(String),
}

impl AppState {
    /// Loads the theme and the blog actor's keys (generating them on first start).
    pub async fn load(settings: Settings, pool: Pool) -> Result<Self, StateError> {
        let templates = Templates::new(settings.theme_dir.clone())?;
        let actor_keys = {
            let mut conn = pool
                .get()
                .await
                .map_err(|e| StateError::Pool(e.to_string()))?;
            keys::load_or_create(&mut conn).await?
        };
        Ok(AppState {
            pool,
            settings: Arc::new(settings),
            templates: Arc::new(templates),
            actor_keys: Arc::new(actor_keys),
        })
    }
}
