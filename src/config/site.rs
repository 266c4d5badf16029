//! What the owner changes from the admin pages (`/admin/settings`): the
//! blog's title, description, language and time zone, the author's name,
//! the profile (bio, fields, pictures) and the comment policies. They are
//! kept in the database, over the configuration file's values, which stay
//! the reference for everything the server needs to start (domain, listen
//! address, database, data directory).
//!
//! A value left `None` is the configuration file's.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::blog::{is_language_tag, parse_time_zone};
use super::{CommentPolicy, ConfigError, MediaFile, Settings};

/// The most hold keywords kept.
pub const MAX_KEYWORDS: usize = 200;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteOverrides {
    pub title: Option<String>,
    pub description: Option<String>,
    pub language: Option<String>,
    pub time_zone: Option<String>,
    pub author_name: Option<String>,
    /// Markdown; empty: the description.
    pub bio: Option<String>,
    pub fields: Option<Vec<(String, String)>>,
    /// An uploaded picture (its file name under `<data_dir>/media`); an
    /// empty name: no avatar.
    pub avatar: Option<String>,
    pub header: Option<String>,
    pub fediverse_policy: Option<String>,
    pub reader_comments: Option<bool>,
    pub reader_policy: Option<String>,
    pub hold_keywords: Option<Vec<String>>,
}

/// A value that cannot be taken: the field, and why (after its label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        field,
        message: message.into(),
    }
}

fn length(field: &'static str, value: &str, min: usize, max: usize) -> Result<(), Invalid> {
    let n = value.chars().count();
    if n < min {
        Err(invalid(field, "must not be empty"))
    } else if n > max {
        Err(invalid(field, format!("must be at most {max} characters")))
    } else {
        Ok(())
    }
}

impl SiteOverrides {
    /// Checks every value as the configuration file's are checked.
    pub fn validate(&self) -> Result<(), Invalid> {
        if let Some(title) = &self.title {
            length("title", title, 1, 200)?;
        }
        if let Some(description) = &self.description {
            length("description", description, 0, 1000)?;
        }
        if let Some(language) = &self.language
            && !is_language_tag(language)
        {
            return Err(invalid(
                "language",
                format!("{language:?} is not a language tag such as \"en\" or \"pt-BR\""),
            ));
        }
        if let Some(zone) = &self.time_zone {
            parse_time_zone(zone).map_err(|message| invalid("time_zone", message))?;
        }
        if let Some(name) = &self.author_name {
            length("author_name", name, 1, 100)?;
        }
        if let Some(bio) = &self.bio {
            length("bio", bio, 0, 5000)?;
        }
        if let Some(fields) = &self.fields {
            if fields.len() > 8 {
                return Err(invalid("fields", "at most 8 (Mastodon shows 4)"));
            }
            for (name, value) in fields {
                if name.is_empty() || name.chars().count() > 255 || value.chars().count() > 2048 {
                    return Err(invalid(
                        "fields",
                        "each needs a name (up to 255 characters) and a value (up to 2048)",
                    ));
                }
            }
        }
        if let Some(policy) = &self.fediverse_policy {
            CommentPolicy::from_name(policy)
                .ok_or_else(|| invalid("fediverse_policy", "is not a policy"))?;
        }
        if let Some(policy) = &self.reader_policy {
            CommentPolicy::from_name(policy)
                .filter(|p| *p != CommentPolicy::HoldFirstTime)
                .ok_or_else(|| invalid("reader_policy", "is not a policy for readers"))?;
        }
        if let Some(words) = &self.hold_keywords {
            if words.len() > MAX_KEYWORDS {
                return Err(invalid(
                    "hold_keywords",
                    format!("are more than {MAX_KEYWORDS}"),
                ));
            }
            if let Some(word) = words.iter().find(|w| w.chars().count() > 100) {
                return Err(invalid(
                    "hold_keywords",
                    format!("{word:?} is longer than 100 characters"),
                ));
            }
        }
        Ok(())
    }
}

impl Settings {
    /// These settings with the owner's changes over them.
    pub fn with_overrides(&self, o: &SiteOverrides) -> Result<Settings, ConfigError> {
        let bad = |e: Invalid| ConfigError::invalid(e.field, e.message);
        o.validate().map_err(bad)?;
        let mut s = self.clone();
        let bio_was_description = s.profile.bio == s.blog.description;
        if let Some(v) = &o.title {
            s.blog.title = v.clone();
        }
        if let Some(v) = &o.description {
            s.blog.description = v.clone();
        }
        if let Some(v) = &o.language {
            s.blog.language = v.clone();
        }
        if let Some(v) = &o.time_zone {
            s.blog.time_zone = parse_time_zone(v).map_err(|m| bad(invalid("time_zone", m)))?;
        }
        if let Some(v) = &o.author_name {
            s.blog.author_name = v.clone();
        }
        s.profile.bio = match &o.bio {
            Some(bio) if !bio.trim().is_empty() => bio.clone(),
            Some(_) => s.blog.description.clone(),
            None if bio_was_description => s.blog.description.clone(),
            None => s.profile.bio,
        };
        if let Some(v) = &o.fields {
            s.profile.fields = v.clone();
        }
        if let Some(name) = &o.avatar {
            s.profile.avatar = uploaded("avatar", name, &s.data_dir)?;
        }
        if let Some(name) = &o.header {
            s.profile.header = uploaded("header", name, &s.data_dir)?;
        }
        if let Some(v) = o
            .fediverse_policy
            .as_deref()
            .and_then(CommentPolicy::from_name)
        {
            s.comments.fediverse_policy = v;
        }
        if let Some(v) = o.reader_comments {
            s.comments.reader_comments = v;
        }
        if let Some(v) = o
            .reader_policy
            .as_deref()
            .and_then(CommentPolicy::from_name)
        {
            s.comments.reader_policy = v;
        }
        if let Some(v) = &o.hold_keywords {
            s.comments.hold_keywords = v.clone();
        }
        Ok(s)
    }
}

/// A profile picture that was uploaded (`<sha256>.<ext>` under
/// `<data_dir>/media`); `None` for an empty name.
fn uploaded(
    field: &'static str,
    name: &str,
    data_dir: &Path,
) -> Result<Option<MediaFile>, ConfigError> {
    if name.is_empty() {
        return Ok(None);
    }
    let wrong = || ConfigError::invalid(field, format!("{name:?} is not an uploaded picture"));
    let (hash, extension) = name.split_once('.').ok_or_else(wrong)?;
    let hex = hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    let (content_type, extension) = match extension {
        "png" => ("image/png", "png"),
        "jpg" => ("image/jpeg", "jpg"),
        "gif" => ("image/gif", "gif"),
        "webp" => ("image/webp", "webp"),
        _ => return Err(wrong()),
    };
    let path = data_dir.join("media").join(name);
    if !hex || !path.is_file() {
        return Err(wrong());
    }
    Ok(Some(MediaFile {
        path,
        content_type,
        extension,
        digest: hash[..12].to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owners_values_go_over_the_files_and_are_checked_alike() {
        let base =
            Settings::from_toml_layers(&["[blog]\ntitle = \"From the file\"\n"]).expect("settings");
        let changed = base
            .with_overrides(&SiteOverrides {
                title: Some("From the admin page".into()),
                description: Some("New words".into()),
                time_zone: Some("Europe/Stockholm".into()),
                hold_keywords: Some(vec!["casino".into()]),
                fediverse_policy: Some("hold_all".into()),
                ..SiteOverrides::default()
            })
            .expect("valid");
        assert_eq!(changed.blog.title, "From the admin page");
        assert_eq!(changed.blog.time_zone.name(), "Europe/Stockholm");
        // The bio follows the description when it was the description.
        assert_eq!(changed.profile.bio, "New words");
        assert_eq!(changed.comments.fediverse_policy, CommentPolicy::HoldAll);
        assert_eq!(changed.comments.hold_keywords, vec!["casino".to_string()]);
        assert_eq!(changed.domain, base.domain);
        assert_eq!(
            base.with_overrides(&SiteOverrides::default())
                .expect("nothing changed")
                .blog
                .title,
            "From the file"
        );

        for (overrides, field) in [
            (
                SiteOverrides {
                    title: Some(String::new()),
                    ..Default::default()
                },
                "title",
            ),
            (
                SiteOverrides {
                    language: Some("english!".into()),
                    ..Default::default()
                },
                "language",
            ),
            (
                SiteOverrides {
                    time_zone: Some("Mars/Olympus".into()),
                    ..Default::default()
                },
                "time_zone",
            ),
            (
                SiteOverrides {
                    reader_policy: Some("hold_first_time".into()),
                    ..Default::default()
                },
                "reader_policy",
            ),
            (
                SiteOverrides {
                    avatar: Some(format!("{}.png", "a".repeat(64))),
                    ..Default::default()
                },
                "avatar",
            ),
            (
                SiteOverrides {
                    avatar: Some("../../etc/passwd".into()),
                    ..Default::default()
                },
                "avatar",
            ),
        ] {
            match base.with_overrides(&overrides) {
                Err(ConfigError::Invalid { key, .. }) => assert_eq!(key, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
