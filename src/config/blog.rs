//! `[blog]` and `[author]`: what the blog is called, its language and time
//! zone, and who writes it.

use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

use super::values::{Bounded, Text, parsed};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    title: Text<1, 200>,
    description: Text<0, 1000>,
    #[serde(deserialize_with = "language")]
    language: String,
    #[serde(deserialize_with = "time_zone")]
    time_zone: Tz,
    posts_per_page: Bounded<1, 100>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Author {
    name: Text<1, 100>,
    #[serde(deserialize_with = "handle")]
    handle: String,
}

#[derive(Debug, Clone)]
pub struct BlogSettings {
    pub title: String,
    pub description: String,
    pub language: String,
    pub time_zone: Tz,
    pub posts_per_page: i64,
    pub author_name: String,
    pub author_handle: String,
}

impl Section {
    pub fn with_author(self, author: Author) -> BlogSettings {
        BlogSettings {
            title: self.title.0,
            description: self.description.0,
            language: self.language,
            time_zone: self.time_zone,
            posts_per_page: self.posts_per_page.0,
            author_name: author.name.0,
            author_handle: author.handle,
        }
    }
}

fn language<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    parsed(deserializer, |text| {
        let language = text.trim();
        if is_language_tag(language) {
            Ok(language.to_string())
        } else {
            Err(format!(
                "{language:?} is not a language tag such as \"en\" or \"pt-BR\""
            ))
        }
    })
}

fn time_zone<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tz, D::Error> {
    parsed(deserializer, parse_time_zone)
}

/// An IANA time zone name.
pub fn parse_time_zone(text: &str) -> Result<Tz, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "unknown time zone {text:?}; use an IANA name such as \"UTC\" or \"Europe/Stockholm\""
        )
    })
}

fn handle<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    parsed(deserializer, |text| {
        let handle = text.trim();
        let ok = (1..=30).contains(&handle.len())
            && handle
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(handle.to_string())
        } else {
            Err(format!(
                "{handle:?} must be 1-30 characters of lowercase letters, digits and \"_\""
            ))
        }
    })
}

/// A BCP 47 language tag in its common shape: `en`, `sv`, `pt-BR`, `zh-Hant-TW`.
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    primary_ok
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}
