//! Settings: the built-in defaults (config/default.toml), an optional file and
//! `FEDBLOG__SECTION__KEY` environment variables, read by serde into typed
//! values, a file per section. A value that is wrong is refused with its key
//! named (`configuration key `blog.time_zone`: unknown time zone ...`); the
//! few checks that need two sections at once are made here.

mod admin;
mod blog;
mod comments;
mod database;
mod federation;
mod log;
mod profile;
mod server;
mod site;
mod theme;
mod values;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;
use url::Url;

pub use admin::SessionLimits;
pub use blog::{BlogSettings, is_language_tag};
pub use comments::{CommentPolicy, CommentSettings};
pub use federation::FederationSettings;
pub use log::LogFormat;
pub use profile::{ActorType, MAX_PROFILE_IMAGE_BYTES, MediaFile, ProfileSettings};
pub use site::{Invalid, MAX_KEYWORDS, SiteOverrides};

/// The reference configuration, compiled in so the binary runs without files.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// A configuration problem, naming the key that is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {path}: {message}")]
    File { path: String, message: String },
    #[error("configuration: {0}")]
    Parse(String),
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: String, message: String },
}

impl ConfigError {
    fn invalid(key: &str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// The configuration as written: one struct per section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Sections {
    server: server::Section,
    database: database::Section,
    storage: database::Storage,
    blog: blog::Section,
    author: blog::Author,
    admin: admin::Section,
    theme: theme::Section,
    log: log::Section,
    federation: federation::Section,
    profile: profile::Section,
    comments: comments::Section,
}

/// Validated settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `https://blog.example.org` (no trailing slash); every absolute link starts with it.
    pub base_url: Url,
    /// The domain as configured, with its port if any: `blog.example.org`.
    pub domain: String,
    pub listen: SocketAddr,
    /// Whether the client's address is taken from `X-Forwarded-For` (set by
    /// a reverse proxy in front of fedblog) rather than the TCP peer.
    pub trust_proxy: bool,
    pub database_url: Option<String>,
    pub postgres_bin_dir: Option<PathBuf>,
    pub pool_size: usize,
    pub data_dir: PathBuf,
    /// The largest image the admin pages take, in bytes.
    pub max_upload_bytes: usize,
    pub blog: BlogSettings,
    pub admin_token: Option<String>,
    pub sessions: SessionLimits,
    pub theme_dir: Option<PathBuf>,
    pub log_level: String,
    pub log_format: LogFormat,
    pub federation: FederationSettings,
    pub profile: ProfileSettings,
    pub comments: CommentSettings,
}

impl Settings {
    /// Loads the built-in defaults, then `file` (if given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::File {
                    path: path.display().to_string(),
                    message: "no such file".into(),
                });
            }
            figment = figment.merge(Toml::file(path));
        }
        Self::from_figment(figment.merge(Env::prefixed("FEDBLOG__").split("__")))
    }

    /// The defaults with `layers` (TOML texts) on top, and no environment:
    /// what tests use to get settings that the machine cannot change.
    pub fn from_toml_layers(layers: &[&str]) -> Result<Self, ConfigError> {
        let figment = layers
            .iter()
            .fold(Figment::from(Toml::string(DEFAULT_TOML)), |f, layer| {
                f.merge(Toml::string(layer))
            });
        Self::from_figment(figment)
    }

    fn from_figment(figment: Figment) -> Result<Self, ConfigError> {
        let sections: Sections = figment.extract().map_err(figment_error)?;
        let server = sections.server.check()?;
        let blog = sections.blog.with_author(sections.author);
        let max_upload_bytes = sections.storage.max_upload_bytes();
        let data_dir = sections.storage.data_dir;
        let profile = sections.profile.check(&data_dir, &blog.description)?;
        Ok(Settings {
            base_url: server.base_url,
            domain: server.domain,
            listen: server.listen,
            trust_proxy: server.trust_proxy,
            database_url: sections.database.url,
            postgres_bin_dir: sections.database.postgres_bin_dir.path(),
            pool_size: sections.database.pool_size.count(),
            data_dir,
            max_upload_bytes,
            blog,
            sessions: sections.admin.session_limits(),
            admin_token: sections.admin.token,
            theme_dir: sections.theme.dir.path(),
            log_level: sections.log.level,
            log_format: sections.log.format,
            federation: sections.federation.into(),
            profile,
            comments: sections.comments.into(),
        })
    }

    /// An absolute URL on this blog for `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        let base = self.base_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }
}

/// figment's errors name the key path: one wrong value is reported as that
/// key's error; several (or one without a key) are listed.
fn figment_error(error: figment::Error) -> ConfigError {
    let mut errors: Vec<(String, String)> = error
        .into_iter()
        .map(|e| (e.path.join("."), e.kind.to_string()))
        .collect();
    if let [(key, _)] = errors.as_slice()
        && !key.is_empty()
    {
        let (key, message) = errors.remove(0);
        return ConfigError::Invalid { key, message };
    }
    ConfigError::Parse(
        errors
            .into_iter()
            .map(|(key, message)| {
                if key.is_empty() {
                    message
                } else {
                    format!("key `{key}`: {message}")
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(overrides: &str) -> Result<Settings, ConfigError> {
        Settings::from_toml_layers(&[overrides])
    }

    #[test]
    fn defaults_are_valid() {
        let s = with("").expect("defaults load");
        assert_eq!(s.base_url.as_str(), "http://localhost:8080/");
        assert_eq!(s.url("/feed.atom"), "http://localhost:8080/feed.atom");
        assert!(s.database_url.is_none());
        assert_eq!(s.blog.time_zone, chrono_tz::UTC);
    }

    #[test]
    fn bad_values_name_their_key() {
        for (toml, key) in [
            ("[server]\nscheme = \"ftp\"", "server.scheme"),
            ("[server]\ndomain = \"exa mple.org\"", "server.domain"),
            (
                "[server]\ndomain = \"https://example.org\"",
                "server.domain",
            ),
            ("[server]\nlisten = \"localhost\"", "server.listen"),
            ("[database]\nurl = \"mysql://x\"", "database.url"),
            ("[database]\npool_size = 0", "database.pool_size"),
            ("[blog]\ntime_zone = \"Mars/Olympus\"", "blog.time_zone"),
            ("[blog]\nlanguage = \"english!\"", "blog.language"),
            ("[blog]\nposts_per_page = 1000", "blog.posts_per_page"),
            ("[author]\nhandle = \"Blog Author\"", "author.handle"),
            ("[admin]\ntoken = \"short\"", "admin.token"),
            ("[log]\nformat = \"xml\"", "log.format"),
            (
                "[comments]\nfediverse_policy = \"maybe\"",
                "comments.fediverse_policy",
            ),
            (
                "[comments]\nreader_policy = \"hold_first_time\"",
                "comments.reader_policy",
            ),
            (
                "[comments]\nhold_keywords = [\"ok\", \" \"]",
                "comments.hold_keywords",
            ),
            (
                "[comments]\nreader_rate_limit = 0",
                "comments.reader_rate_limit",
            ),
            (
                "[comments]\nreader_rate_window_minutes = 100000",
                "comments.reader_rate_window_minutes",
            ),
            (
                "[federation]\ninbox_workers = 0",
                "federation.inbox_workers",
            ),
            (
                "[federation]\ninbox_concurrency = 0",
                "federation.inbox_concurrency",
            ),
            (
                "[federation]\ninbox_queue_limit = -1",
                "federation.inbox_queue_limit",
            ),
        ] {
            let err = with(toml).expect_err(toml).to_string();
            assert!(err.contains(key), "{toml:?} gave {err:?}");
        }
    }

    #[test]
    fn comment_settings_are_read() {
        let s = with(
            "[comments]\nfediverse_policy = \"hold_first_time\"\nhold_keywords = [\" Casino \"]",
        )
        .expect("valid");
        assert_eq!(s.comments.fediverse_policy, CommentPolicy::HoldFirstTime);
        assert_eq!(
            s.comments.reader_policy,
            CommentPolicy::HoldAll,
            "the default"
        );
        assert_eq!(s.comments.hold_keywords, ["casino"]);
        assert_eq!(
            s.comments.reader_rate_window,
            std::time::Duration::from_secs(600)
        );
    }

    #[test]
    fn unknown_and_mistyped_keys_are_named() {
        let err = with("[blog]\ntitel = \"x\"")
            .expect_err("unknown key")
            .to_string();
        assert!(err.contains("titel"), "{err}");
        let err = with("[blog]\nposts_per_page = \"ten\"")
            .expect_err("type")
            .to_string();
        assert!(err.contains("blog.posts_per_page"), "{err}");
    }

    #[test]
    fn profile_images_must_exist_and_be_images() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("me.png"), b"png").expect("write");
        std::fs::write(dir.path().join("me.svg"), b"<svg/>").expect("write");
        let data = format!("[storage]\ndata_dir = \"{}\"\n", dir.path().display());
        let ok =
            Settings::from_toml_layers(&[&data, "[profile]\navatar = \"me.png\""]).expect("valid");
        let avatar = ok.profile.avatar.expect("avatar");
        assert_eq!(
            (avatar.content_type, avatar.extension),
            ("image/png", "png")
        );
        for bad in [
            "[profile]\navatar = \"me.svg\"",
            "[profile]\nheader = \"missing.jpg\"",
        ] {
            let err = Settings::from_toml_layers(&[&data, bad])
                .expect_err(bad)
                .to_string();
            assert!(err.contains("profile."), "{err}");
        }
    }

    #[test]
    fn domain_with_port_and_time_zone() {
        let s = with(
            "[server]\ndomain = \"Blog.Example.org\"\nscheme = \"https\"\n[blog]\ntime_zone = \"Europe/Stockholm\"",
        )
        .expect("valid");
        assert_eq!(s.domain, "blog.example.org");
        assert_eq!(s.url("/"), "https://blog.example.org/");
        assert_eq!(s.blog.time_zone, chrono_tz::Europe::Stockholm);
    }
}
