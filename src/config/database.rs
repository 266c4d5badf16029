//! `[database]` and `[storage]`: where the data lives.

use std::path::PathBuf;

use serde::{Deserialize, Deserializer};

use super::values::{Bounded, Optional, parsed};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// Empty: the embedded cluster.
    #[serde(deserialize_with = "database_url")]
    pub url: Option<String>,
    pub postgres_bin_dir: Optional,
    pub pool_size: Bounded<1, 100>,
}

fn database_url<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    parsed(deserializer, |text| match text.trim() {
        "" => Ok(None),
        url if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Some(url.to_string()))
        }
        _ => Err(
            "must start with postgres:// or postgresql:// (or be empty for the embedded database)"
                .into(),
        ),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    #[serde(deserialize_with = "data_dir")]
    pub data_dir: PathBuf,
    max_upload_mb: Bounded<1, 100>,
}

impl Storage {
    /// The largest upload taken, in bytes.
    pub fn max_upload_bytes(&self) -> usize {
        usize::try_from(self.max_upload_mb.0).unwrap_or(1) * 1024 * 1024
    }
}

fn data_dir<'de, D: Deserializer<'de>>(deserializer: D) -> Result<PathBuf, D::Error> {
    parsed(deserializer, |text| match text.trim() {
        "" => Err("must not be empty".into()),
        dir => Ok(PathBuf::from(dir)),
    })
}
