//! `[log]`: how much is logged, and how.

use serde::{Deserialize, Deserializer};

use super::values::parsed;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    #[serde(deserialize_with = "level")]
    pub level: String,
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

impl<'de> Deserialize<'de> for LogFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parsed(deserializer, |text| match text.trim() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("must be \"text\" or \"json\", not {other:?}")),
        })
    }
}

/// A level or a filter as `RUST_LOG` takes it (`info`, `fedblog=debug,info`).
fn level<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    parsed(deserializer, |text| {
        let level = text.trim();
        if level.is_empty() || tracing_subscriber::EnvFilter::try_new(level).is_err() {
            Err(format!(
                "{level:?} is not a level (trace, debug, info, warn, error) or filter"
            ))
        } else {
            Ok(level.to_string())
        }
    })
}
