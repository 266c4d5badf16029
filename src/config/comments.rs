//! `[comments]`: who decides whether a comment is shown, the reader form and
//! its rate limit, and the words that hold a comment for the author.

use serde::{Deserialize, Deserializer};

use super::values::{Bounded, parsed};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    fediverse_policy: CommentPolicy,
    reader_comments: bool,
    #[serde(deserialize_with = "reader_policy")]
    reader_policy: CommentPolicy,
    #[serde(deserialize_with = "keywords")]
    hold_keywords: Vec<String>,
    reader_rate_limit: Bounded<1, 10_000>,
    reader_rate_window_minutes: Bounded<1, 1440>,
}

/// Who decides whether a comment is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentPolicy {
    /// Shown at once.
    ApproveAll,
    /// Held until the author approves someone's first comment; shown at once after that.
    HoldFirstTime,
    /// Every comment waits for the author.
    HoldAll,
}

impl CommentPolicy {
    fn parse(text: &str, allowed: &[CommentPolicy]) -> Result<Self, String> {
        let text = text.trim();
        let policy = match text {
            "approve_all" => Some(CommentPolicy::ApproveAll),
            "hold_first_time" => Some(CommentPolicy::HoldFirstTime),
            "hold_all" => Some(CommentPolicy::HoldAll),
            _ => None,
        };
        policy.filter(|p| allowed.contains(p)).ok_or_else(|| {
            let names: Vec<&str> = allowed.iter().map(|p| p.as_str()).collect();
            format!("must be one of {}, not {text:?}", names.join(", "))
        })
    }

    /// A policy by its name in the configuration (`approve_all`, ...).
    pub fn from_name(text: &str) -> Option<Self> {
        use CommentPolicy::*;
        Self::parse(text, &[ApproveAll, HoldFirstTime, HoldAll]).ok()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CommentPolicy::ApproveAll => "approve_all",
            CommentPolicy::HoldFirstTime => "hold_first_time",
            CommentPolicy::HoldAll => "hold_all",
        }
    }
}

impl<'de> Deserialize<'de> for CommentPolicy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use CommentPolicy::*;
        parsed(deserializer, |text| {
            CommentPolicy::parse(text, &[ApproveAll, HoldFirstTime, HoldAll])
        })
    }
}

/// A reader without an account has no "first time": all or nothing.
fn reader_policy<'de, D: Deserializer<'de>>(deserializer: D) -> Result<CommentPolicy, D::Error> {
    use CommentPolicy::*;
    parsed(deserializer, |text| {
        CommentPolicy::parse(text, &[ApproveAll, HoldAll])
    })
}

fn keywords<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    use serde::de::Error;
    Vec::<String>::deserialize(deserializer)?
        .into_iter()
        .map(|word| {
            let word = word.trim().to_lowercase();
            if word.is_empty() {
                Err(D::Error::custom("must not contain empty words"))
            } else {
                Ok(word)
            }
        })
        .collect()
}

#[derive(Debug, Clone)]
pub struct CommentSettings {
    /// For replies from the fediverse.
    pub fediverse_policy: CommentPolicy,
    /// Whether the post page has a comment form for readers without an account.
    pub reader_comments: bool,
    /// For comments from the form (`ApproveAll` or `HoldAll`).
    pub reader_policy: CommentPolicy,
    /// Lowercased words or phrases; a comment containing one is held.
    pub hold_keywords: Vec<String>,
    /// Comments one address may send through the form per window.
    pub reader_rate_limit: u32,
    pub reader_rate_window: std::time::Duration,
}

impl From<Section> for CommentSettings {
    fn from(c: Section) -> Self {
        CommentSettings {
            fediverse_policy: c.fediverse_policy,
            reader_comments: c.reader_comments,
            reader_policy: c.reader_policy,
            hold_keywords: c.hold_keywords,
            reader_rate_limit: u32::try_from(c.reader_rate_limit.0).unwrap_or(u32::MAX),
            reader_rate_window: std::time::Duration::from_secs(
                c.reader_rate_window_minutes.count() as u64 * 60,
            ),
        }
    }
}
