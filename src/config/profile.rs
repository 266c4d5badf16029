//! `[profile]`: the blog actor as the fediverse shows it: its type, bio,
//! pictures and profile fields.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer};
use sha2::Digest as _;

use super::ConfigError;
use super::values::{Optional, Text, parsed};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    actor_type: ActorType,
    bio: Text<0, 5000>,
    avatar: Optional,
    header: Optional,
    fields: Fields,
}

/// The ActivityStreams type of the blog's actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorType {
    Person,
    Service,
    Organization,
    Application,
    Group,
}

impl ActorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorType::Person => "Person",
            ActorType::Service => "Service",
            ActorType::Organization => "Organization",
            ActorType::Application => "Application",
            ActorType::Group => "Group",
        }
    }
}

impl<'de> Deserialize<'de> for ActorType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        parsed(deserializer, |text| match text.trim() {
            "Person" => Ok(ActorType::Person),
            "Service" => Ok(ActorType::Service),
            "Organization" => Ok(ActorType::Organization),
            "Application" => Ok(ActorType::Application),
            "Group" => Ok(ActorType::Group),
            other => Err(format!(
                "{other:?} must be Person, Service, Organization, Application or Group"
            )),
        })
    }
}

/// The profile's (name, value) fields: at most 8, each named.
#[derive(Debug)]
struct Fields(Vec<(String, String)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Field {
            name: String,
            value: String,
        }
        let raw = Vec::<Field>::deserialize(deserializer)?;
        if raw.len() > 8 {
            return Err(D::Error::custom("at most 8 fields (Mastodon shows 4)"));
        }
        raw.into_iter()
            .map(|field| {
                let (name, value) = (field.name.trim(), field.value.trim());
                if name.is_empty() || name.chars().count() > 255 || value.chars().count() > 2048 {
                    Err(D::Error::custom(
                        "each field needs a name (up to 255 characters) and a value (up to 2048)",
                    ))
                } else {
                    Ok((name.to_string(), value.to_string()))
                }
            })
            .collect::<Result<_, _>>()
            .map(Fields)
    }
}

/// The blog actor's profile on the fediverse.
#[derive(Debug, Clone)]
pub struct ProfileSettings {
    pub actor_type: ActorType,
    /// Markdown; the blog's description when not set.
    pub bio: String,
    pub avatar: Option<MediaFile>,
    pub header: Option<MediaFile>,
    /// (name, value) pairs shown on the profile.
    pub fields: Vec<(String, String)>,
}

/// An image file the blog serves (avatar, header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaFile {
    pub path: PathBuf,
    pub content_type: &'static str,
    pub extension: &'static str,
    /// The start of the SHA-256 of its bytes at start-up: part of its URL,
    /// so that servers that cache images by URL see a new picture.
    pub digest: String,
}

/// Largest avatar or header image.
pub const MAX_PROFILE_IMAGE_BYTES: u64 = 4 * 1024 * 1024;

impl Section {
    /// The profile, with its pictures read from `data_dir` and the blog's
    /// `description` as the bio when none is set.
    pub fn check(self, data_dir: &Path, description: &str) -> Result<ProfileSettings, ConfigError> {
        let bio = if self.bio.0.is_empty() {
            description.to_string()
        } else {
            self.bio.0
        };
        Ok(ProfileSettings {
            actor_type: self.actor_type,
            bio,
            avatar: media_file("profile.avatar", self.avatar.0, data_dir)?,
            header: media_file("profile.header", self.header.0, data_dir)?,
            fields: self.fields.0,
        })
    }
}

/// An image path from the configuration: it must exist and be a PNG, JPEG,
/// GIF or WebP file of reasonable size.
fn media_file(
    key: &'static str,
    value: Option<String>,
    data_dir: &Path,
) -> Result<Option<MediaFile>, ConfigError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let invalid = |message: String| ConfigError::invalid(key, message);
    let path = data_dir.join(&value);
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (content_type, extension) = match extension.as_str() {
        "png" => ("image/png", "png"),
        "jpg" | "jpeg" => ("image/jpeg", "jpg"),
        "gif" => ("image/gif", "gif"),
        "webp" => ("image/webp", "webp"),
        _ => {
            return Err(invalid(format!(
                "{value:?} must be a .png, .jpg, .gif or .webp file"
            )));
        }
    };
    let meta = std::fs::metadata(&path)
        .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
    if !meta.is_file() || meta.len() > MAX_PROFILE_IMAGE_BYTES {
        return Err(invalid(format!(
            "{} must be a file of at most 4 MiB",
            path.display()
        )));
    }
    let bytes = std::fs::read(&path)
        .map_err(|e| invalid(format!("cannot read {}: {e}", path.display())))?;
    let digest = hex::encode(&sha2::Sha256::digest(&bytes)[..6]);
    Ok(Some(MediaFile {
        path,
        content_type,
        extension,
        digest,
    }))
}
