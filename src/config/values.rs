//! Values that check themselves as serde reads them, so that a wrong one is
//! refused with figment naming its key (`key `blog.posts_per_page`: must be
//! between 1 and 100`).

use std::path::PathBuf;

use serde::de::{Deserialize, Deserializer, Error};

/// An integer from `MIN` to `MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bounded<const MIN: i64, const MAX: i64>(pub i64);

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = i64::deserialize(deserializer)?;
        if (MIN..=MAX).contains(&value) {
            Ok(Bounded(value))
        } else {
            Err(D::Error::custom(format!("must be between {MIN} and {MAX}")))
        }
    }
}

impl<const MIN: i64, const MAX: i64> Bounded<MIN, MAX> {
    /// The value where it cannot be negative (`MIN` is at least 0).
    pub fn count(self) -> usize {
        usize::try_from(self.0).unwrap_or(0)
    }
}

/// A text, trimmed; an empty one is `None` (an optional setting left out).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Optional(pub Option<String>);

impl<'de> Deserialize<'de> for Optional {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Optional(non_empty(&String::deserialize(deserializer)?)))
    }
}

impl Optional {
    pub fn path(self) -> Option<PathBuf> {
        self.0.map(PathBuf::from)
    }
}

/// A text, trimmed, of `MIN` to `MAX` characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<const MIN: usize, const MAX: usize>(pub String);

impl<'de, const MIN: usize, const MAX: usize> Deserialize<'de> for Text<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?.trim().to_string();
        let length = text.chars().count();
        if (MIN..=MAX).contains(&length) {
            Ok(Text(text))
        } else if MIN == 0 {
            Err(D::Error::custom(format!(
                "must be at most {MAX} characters"
            )))
        } else {
            Err(D::Error::custom(format!(
                "must be {MIN} to {MAX} characters"
            )))
        }
    }
}

pub fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// Reads a text and makes it a value with `parse`, whose error is the message.
pub fn parsed<'de, D, T>(
    deserializer: D,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
{
    let text = String::deserialize(deserializer)?;
    parse(&text).map_err(D::Error::custom)
}
