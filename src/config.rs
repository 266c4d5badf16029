//! Settings: the built-in defaults (config/default.toml), an optional file and
//! `FEDBLOG__SECTION__KEY` environment variables, validated into typed values.

use sha2::Digest as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;
use url::Url;

/// The reference configuration, compiled in so the binary runs without files.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// A configuration problem, naming the key that is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {path}: {message}")]
    File { path: String, message: String },
    #[error("configuration: {0}")]
    Parse(String),
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    server: RawServer,
    database: RawDatabase,
    storage: RawStorage,
    blog: RawBlog,
    author: RawAuthor,
    admin: RawAdmin,
    theme: RawTheme,
    log: RawLog,
    federation: RawFederation,
    profile: RawProfile,
    comments: RawComments,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComments {
    fediverse_policy: String,
    reader_comments: bool,
    reader_policy: String,
    hold_keywords: Vec<String>,
    reader_rate_limit: i64,
    reader_rate_window_minutes: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    actor_type: String,
    bio: String,
    avatar: String,
    header: String,
    fields: Vec<RawField>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFederation {
    allow_private_addresses: bool,
    delivery_workers: i64,
    max_attempts: i64,
    give_up_after_hours: i64,
    request_timeout_secs: i64,
    per_instance_concurrency: i64,
    show_followers: bool,
    inbox_workers: i64,
    inbox_concurrency: i64,
    inbox_queue_limit: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    domain: String,
    scheme: String,
    listen: String,
    trust_proxy: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: String,
    postgres_bin_dir: String,
    pool_size: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    data_dir: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBlog {
    title: String,
    description: String,
    language: String,
    time_zone: String,
    posts_per_page: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAuthor {
    name: String,
    handle: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdmin {
    token: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTheme {
    dir: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    level: String,
    format: String,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
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
    pub blog: BlogSettings,
    pub admin_token: Option<String>,
    pub theme_dir: Option<PathBuf>,
    pub log_level: String,
    pub log_format: LogFormat,
    pub federation: FederationSettings,
    pub profile: ProfileSettings,
    pub comments: CommentSettings,
}

/// The blog actor's profile on the fediverse.
#[derive(Debug, Clone)]
pub struct ProfileSettings {
    /// The ActivityStreams actor type: Person, Service, Organization, Application or Group.
    pub actor_type: &'static str,
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

#[derive(Debug, Clone)]
pub struct FederationSettings {
    /// Tests only: lets fedblog connect to loopback and private addresses
    /// (and use http and ports in ActivityPub ids).
    pub allow_private_addresses: bool,
    /// Deliveries in flight at once.
    pub delivery_workers: usize,
    /// Attempts before a delivery is given up.
    pub max_attempts: i32,
    /// Age after which a failing delivery is given up.
    pub give_up_after: chrono::Duration,
    /// Total time for one outgoing request (fetch or delivery).
    pub request_timeout: std::time::Duration,
    /// Deliveries in flight to one server at once.
    pub per_instance_concurrency: i64,
    /// Whether the followers collection lists its members (else only counts them).
    pub show_followers: bool,
    /// Queued inbound activities processed at once.
    pub inbox_workers: usize,
    /// Inbox requests being verified at once; more are answered 503.
    pub inbox_concurrency: usize,
    /// Activities waiting in the inbox queue beyond which requests are answered 503.
    pub inbox_queue_limit: i64,
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
        let raw: RawSettings = figment
            .extract()
            .map_err(|e| ConfigError::Parse(describe_figment_error(e)))?;
        Self::validate(raw)
    }

    fn validate(raw: RawSettings) -> Result<Self, ConfigError> {
        let scheme = raw.server.scheme.trim().to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(invalid(
                "server.scheme",
                format!("must be \"http\" or \"https\", not {:?}", raw.server.scheme),
            ));
        }
        let domain = raw.server.domain.trim().to_ascii_lowercase();
        let base_url = parse_domain(&scheme, &domain)?;
        let listen: SocketAddr = raw.server.listen.trim().parse().map_err(|_| {
            invalid(
                "server.listen",
                format!(
                    "{:?} is not an address with a port, such as \"127.0.0.1:8080\" or \"[::]:8080\"",
                    raw.server.listen
                ),
            )
        })?;

        let database_url = non_empty(&raw.database.url);
        if let Some(url) = &database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(invalid(
                "database.url",
                "must start with postgres:// or postgresql:// (or be empty for the embedded database)",
            ));
        }
        if !(1..=100).contains(&raw.database.pool_size) {
            return Err(invalid("database.pool_size", "must be between 1 and 100"));
        }
        let data_dir = non_empty(&raw.storage.data_dir)
            .map(PathBuf::from)
            .ok_or_else(|| invalid("storage.data_dir", "must not be empty"))?;

        let blog = validate_blog(raw.blog, raw.author)?;

        let admin_token = non_empty(&raw.admin.token);
        if let Some(token) = &admin_token
            && (token.chars().count() < 16 || token.chars().any(|c| c.is_whitespace()))
        {
            return Err(invalid(
                "admin.token",
                "must be at least 16 characters without spaces (or empty to have one generated)",
            ));
        }

        let log_format = match raw.log.format.trim() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(invalid(
                    "log.format",
                    format!("must be \"text\" or \"json\", not {other:?}"),
                ));
            }
        };
        let log_level = raw.log.level.trim().to_string();
        if log_level.is_empty() || tracing_subscriber::EnvFilter::try_new(&log_level).is_err() {
            return Err(invalid(
                "log.level",
                format!("{log_level:?} is not a level (trace, debug, info, warn, error) or filter"),
            ));
        }

        let f = raw.federation;
        if !(1..=256).contains(&f.delivery_workers) {
            return Err(invalid(
                "federation.delivery_workers",
                "must be between 1 and 256",
            ));
        }
        if !(1..=100).contains(&f.max_attempts) {
            return Err(invalid(
                "federation.max_attempts",
                "must be between 1 and 100",
            ));
        }
        if !(1..=24 * 90).contains(&f.give_up_after_hours) {
            return Err(invalid(
                "federation.give_up_after_hours",
                "must be between 1 and 2160",
            ));
        }
        if !(1..=120).contains(&f.request_timeout_secs) {
            return Err(invalid(
                "federation.request_timeout_secs",
                "must be between 1 and 120",
            ));
        }
        if !(1..=64).contains(&f.per_instance_concurrency) {
            return Err(invalid(
                "federation.per_instance_concurrency",
                "must be between 1 and 64",
            ));
        }
        if !(1..=256).contains(&f.inbox_workers) {
            return Err(invalid(
                "federation.inbox_workers",
                "must be between 1 and 256",
            ));
        }
        if !(1..=4096).contains(&f.inbox_concurrency) {
            return Err(invalid(
                "federation.inbox_concurrency",
                "must be between 1 and 4096",
            ));
        }
        if !(1..=10_000_000).contains(&f.inbox_queue_limit) {
            return Err(invalid(
                "federation.inbox_queue_limit",
                "must be between 1 and 10000000",
            ));
        }
        let federation = FederationSettings {
            inbox_workers: f.inbox_workers as usize,
            inbox_concurrency: f.inbox_concurrency as usize,
            inbox_queue_limit: f.inbox_queue_limit,
            per_instance_concurrency: f.per_instance_concurrency,
            show_followers: f.show_followers,
            request_timeout: std::time::Duration::from_secs(f.request_timeout_secs as u64),
            allow_private_addresses: f.allow_private_addresses,
            delivery_workers: f.delivery_workers as usize,
            max_attempts: f.max_attempts as i32,
            give_up_after: chrono::Duration::hours(f.give_up_after_hours),
        };

        let profile = validate_profile(raw.profile, &data_dir, &blog.description)?;
        let comments = validate_comments(raw.comments)?;

        Ok(Settings {
            comments,
            profile,
            federation,
            base_url,
            domain,
            listen,
            trust_proxy: raw.server.trust_proxy,
            database_url,
            postgres_bin_dir: non_empty(&raw.database.postgres_bin_dir).map(PathBuf::from),
            pool_size: raw.database.pool_size as usize,
            data_dir,
            blog,
            admin_token,
            theme_dir: non_empty(&raw.theme.dir).map(PathBuf::from),
            log_level,
            log_format,
        })
    }

    /// An absolute URL on this blog for `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        let base = self.base_url.as_str().trim_end_matches('/');
        format!("{base}{path}")
    }
}

fn validate_blog(blog: RawBlog, author: RawAuthor) -> Result<BlogSettings, ConfigError> {
    let title = blog.title.trim().to_string();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(invalid("blog.title", "must be 1 to 200 characters"));
    }
    let description = blog.description.trim().to_string();
    if description.chars().count() > 1000 {
        return Err(invalid(
            "blog.description",
            "must be at most 1000 characters",
        ));
    }
    let language = blog.language.trim().to_string();
    if !is_language_tag(&language) {
        return Err(invalid(
            "blog.language",
            format!("{language:?} is not a language tag such as \"en\" or \"pt-BR\""),
        ));
    }
    let time_zone: Tz = blog.time_zone.trim().parse().map_err(|_| {
        invalid(
            "blog.time_zone",
            format!(
                "unknown time zone {:?}; use an IANA name such as \"UTC\" or \"Europe/Stockholm\"",
                blog.time_zone
            ),
        )
    })?;
    if !(1..=100).contains(&blog.posts_per_page) {
        return Err(invalid("blog.posts_per_page", "must be between 1 and 100"));
    }
    let author_name = author.name.trim().to_string();
    if author_name.is_empty() || author_name.chars().count() > 100 {
        return Err(invalid("author.name", "must be 1 to 100 characters"));
    }
    let author_handle = author.handle.trim().to_string();
    let handle_ok = (1..=30).contains(&author_handle.len())
        && author_handle
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !handle_ok {
        return Err(invalid(
            "author.handle",
            format!(
                "{author_handle:?} must be 1-30 characters of lowercase letters, digits and \"_\""
            ),
        ));
    }
    Ok(BlogSettings {
        title,
        description,
        language,
        time_zone,
        posts_per_page: blog.posts_per_page,
        author_name,
        author_handle,
    })
}

fn parse_domain(scheme: &str, domain: &str) -> Result<Url, ConfigError> {
    let bad = || {
        invalid(
            "server.domain",
            format!(
                "{domain:?} is not a domain name (with an optional port), such as \"blog.example.org\" or \"localhost:8080\""
            ),
        )
    };
    if domain.is_empty() || domain.contains(['/', '?', '#', '@', ' ']) {
        return Err(bad());
    }
    let url = Url::parse(&format!("{scheme}://{domain}/")).map_err(|_| bad())?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    Ok(url)
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

fn validate_profile(
    raw: RawProfile,
    data_dir: &Path,
    description: &str,
) -> Result<ProfileSettings, ConfigError> {
    let bio = non_empty(&raw.bio).unwrap_or_else(|| description.to_string());
    if bio.chars().count() > 5000 {
        return Err(invalid("profile.bio", "must be at most 5000 characters"));
    }
    if raw.fields.len() > 8 {
        return Err(invalid(
            "profile.fields",
            "at most 8 fields (Mastodon shows 4)",
        ));
    }
    let mut fields = Vec::new();
    for field in raw.fields {
        let (name, value) = (
            field.name.trim().to_string(),
            field.value.trim().to_string(),
        );
        if name.is_empty() || name.chars().count() > 255 || value.chars().count() > 2048 {
            return Err(invalid(
                "profile.fields",
                "each field needs a name (up to 255 characters) and a value (up to 2048)",
            ));
        }
        fields.push((name, value));
    }
    let actor_type = match raw.actor_type.trim() {
        "Person" => "Person",
        "Service" => "Service",
        "Organization" => "Organization",
        "Application" => "Application",
        "Group" => "Group",
        other => {
            return Err(invalid(
                "profile.actor_type",
                format!("{other:?} must be Person, Service, Organization, Application or Group"),
            ));
        }
    };
    Ok(ProfileSettings {
        actor_type,
        bio,
        avatar: media_file("profile.avatar", &raw.avatar, data_dir)?,
        header: media_file("profile.header", &raw.header, data_dir)?,
        fields,
    })
}

/// An image path from the configuration: it must exist and be a PNG, JPEG,
/// GIF or WebP file of reasonable size.
fn media_file(
    key: &'static str,
    value: &str,
    data_dir: &Path,
) -> Result<Option<MediaFile>, ConfigError> {
    let Some(value) = non_empty(value) else {
        return Ok(None);
    };
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
            return Err(invalid(
                key,
                format!("{value:?} must be a .png, .jpg, .gif or .webp file"),
            ));
        }
    };
    let meta = std::fs::metadata(&path)
        .map_err(|e| invalid(key, format!("cannot read {}: {e}", path.display())))?;
    if !meta.is_file() || meta.len() > MAX_PROFILE_IMAGE_BYTES {
        return Err(invalid(
            key,
            format!("{} must be a file of at most 4 MiB", path.display()),
        ));
    }
    let bytes = std::fs::read(&path)
        .map_err(|e| invalid(key, format!("cannot read {}: {e}", path.display())))?;
    let digest = hex::encode(&sha2::Sha256::digest(&bytes)[..6]);
    Ok(Some(MediaFile {
        path,
        content_type,
        extension,
        digest,
    }))
}

fn validate_comments(raw: RawComments) -> Result<CommentSettings, ConfigError> {
    let policy = |key: &'static str, value: &str, allowed: &[&str]| {
        let value = value.trim();
        let policy = match value {
            "approve_all" => Some(CommentPolicy::ApproveAll),
            "hold_first_time" => Some(CommentPolicy::HoldFirstTime),
            "hold_all" => Some(CommentPolicy::HoldAll),
            _ => None,
        };
        policy.filter(|_| allowed.contains(&value)).ok_or_else(|| {
            invalid(
                key,
                format!("must be one of {}, not {value:?}", allowed.join(", ")),
            )
        })
    };
    let fediverse_policy = policy(
        "comments.fediverse_policy",
        &raw.fediverse_policy,
        &["approve_all", "hold_first_time", "hold_all"],
    )?;
    let reader_policy = policy(
        "comments.reader_policy",
        &raw.reader_policy,
        &["approve_all", "hold_all"],
    )?;
    if !(1..=10_000).contains(&raw.reader_rate_limit) {
        return Err(invalid(
            "comments.reader_rate_limit",
            "must be between 1 and 10000",
        ));
    }
    if !(1..=24 * 60).contains(&raw.reader_rate_window_minutes) {
        return Err(invalid(
            "comments.reader_rate_window_minutes",
            "must be between 1 and 1440",
        ));
    }
    let mut hold_keywords = Vec::new();
    for word in &raw.hold_keywords {
        let word = word.trim().to_lowercase();
        if word.is_empty() {
            return Err(invalid(
                "comments.hold_keywords",
                "must not contain empty words",
            ));
        }
        hold_keywords.push(word);
    }
    Ok(CommentSettings {
        fediverse_policy,
        reader_comments: raw.reader_comments,
        reader_policy,
        hold_keywords,
        reader_rate_limit: raw.reader_rate_limit as u32,
        reader_rate_window: std::time::Duration::from_secs(
            raw.reader_rate_window_minutes as u64 * 60,
        ),
    })
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

/// figment's messages name the key path; keep them and drop the noise.
fn describe_figment_error(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let message = e.kind.to_string();
            if key.is_empty() {
                message
            } else {
                format!("key `{key}`: {message}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
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
