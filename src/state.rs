//! What every request handler shares.

use std::sync::Arc;

use crate::config::Settings;
use crate::db::Pool;
use crate::render::templates::{Templates, ThemeError};

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub settings: Arc<Settings>,
    pub templates: Arc<Templates>,
}

impl AppState {
    pub fn new(settings: Settings, pool: Pool) -> Result<Self, ThemeError> {
        let templates = Templates::new(settings.theme_dir.clone())?;
        Ok(AppState {
            pool,
            settings: Arc::new(settings),
            templates: Arc::new(templates),
        })
    }
}
