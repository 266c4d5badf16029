//! `[admin]`: the JSON API's token, when it is configured rather than
//! generated, and how long the admin UI's sessions last.

use serde::{Deserialize, Deserializer};

use super::values::{Bounded, parsed};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// `None`: one is generated on first start.
    #[serde(deserialize_with = "token")]
    pub token: Option<String>,
    session_idle_minutes: Bounded<5, 43_200>,
    session_max_days: Bounded<1, 365>,
}

/// How long a signed-in browser stays signed in.
#[derive(Debug, Clone, Copy)]
pub struct SessionLimits {
    /// Without use.
    pub idle: chrono::Duration,
    /// Since signing in.
    pub max_age: chrono::Duration,
}

impl Section {
    pub fn session_limits(&self) -> SessionLimits {
        SessionLimits {
            idle: chrono::Duration::minutes(self.session_idle_minutes.0),
            max_age: chrono::Duration::days(self.session_max_days.0),
        }
    }
}

fn token<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    parsed(deserializer, |text| match text.trim() {
        "" => Ok(None),
        token if token.chars().count() >= 16 && !token.chars().any(char::is_whitespace) => {
            Ok(Some(token.to_string()))
        }
        _ => Err(
            "must be at least 16 characters without spaces (or empty to have one generated)".into(),
        ),
    })
}
