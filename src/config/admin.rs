//! `[admin]`: the JSON API's token, when it is configured rather than
//! generated.

use serde::{Deserialize, Deserializer};

use super::values::parsed;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// `None`: one is generated on first start.
    #[serde(deserialize_with = "token")]
    pub token: Option<String>,
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
