//! What every request handler shares.

pub mod form_secret;
pub mod gate;
pub mod health;
pub mod image_cache;
pub mod keys;
pub mod live;
pub mod rate_limit;

use std::sync::{Arc, OnceLock};

use activitypub_federation::config::FederationConfig;

use crate::config::Settings;
use crate::db::Pool;
use crate::render::templates::{Templates, ThemeError};
use crate::state::form_secret::FormSecret;
use crate::state::gate::InboxGate;
use crate::state::health::InstanceHealth;
use crate::state::image_cache::ImageCache;
use crate::state::rate_limit::RateLimiter;
use keys::{ActorKeys, KeyError};
use live::LiveSettings;

/// Sign-in attempts one address may make per [`LOGIN_WINDOW`].
pub const LOGIN_ATTEMPTS_PER_ADDRESS: u32 = 10;
/// Sign-in attempts all new browsers together may make per [`LOGIN_WINDOW`];
/// a browser that signed in before is not held back by them.
pub const LOGIN_ATTEMPTS_PER_ACCOUNT: u32 = 30;
pub const LOGIN_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    /// The settings in force (the file's, with the owner's changes).
    pub live: Arc<LiveSettings>,
    pub templates: Arc<Templates>,
    pub actor_keys: Arc<ActorKeys>,
    /// Keys the comment form's CSRF tokens.
    pub form_secret: Arc<FormSecret>,
    /// Comments through the form per client address.
    pub comment_limiter: Arc<RateLimiter>,
    /// Sign-in attempts per client address.
    pub login_limiter: Arc<RateLimiter>,
    /// Sign-in attempts from browsers not yet signed in on, all addresses
    /// together (one key).
    pub account_limiter: Arc<RateLimiter>,
    /// Commenters' avatars, cached locally.
    pub avatars: Arc<ImageCache>,
    /// Pictures attached to comments, cached locally.
    pub attachments: Arc<ImageCache>,
    /// How much the inbox takes at once (requests, queue).
    pub inbox_gate: Arc<InboxGate>,
    /// Which servers answered or wrote to us lately.
    pub instance_health: Arc<InstanceHealth>,
    /// The federation configuration without signed fetches (set once it is
    /// built): actors are fetched unsigned first, and signed from servers
    /// that refuse that (see `RemoteActor::dereference_exact`).
    pub unsigned_fetch: Arc<OnceLock<FederationConfig<AppState>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(transparent)]
    Theme(#[from] ThemeError),
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error("database pool: {0}")]
    Pool(#[from] crate::db::PoolError),
    #[error("loading the comment form secret: {0}")]
    FormSecret(#[from] diesel::result::Error),
    #[error("the HTTP client for avatars: {0}")]
    Client(#[from] reqwest::Error),
}

impl AppState {
    /// The settings in force now (they change when the owner saves
    /// `/admin/settings`): take them once per request.
    pub fn settings(&self) -> Arc<Settings> {
        self.live.get()
    }

    /// Loads the theme, the blog actor's keys and the comment form's secret
    /// (generating them on first start).
    pub async fn load(settings: Settings, pool: Pool) -> Result<Self, StateError> {
        let templates = Templates::new(settings.theme_dir.clone())?;
        let live = LiveSettings::new(settings);
        let (actor_keys, form_secret) = {
            let mut conn = pool.get().await?;
            live.reload(&mut conn).await?;
            (
                keys::load_or_create(&mut conn).await?,
                FormSecret::load_or_create(&mut conn).await?,
            )
        };
        let settings = live.get();
        let comments = &settings.comments;
        let comment_limiter =
            RateLimiter::new(comments.reader_rate_limit, comments.reader_rate_window);
        let avatars = ImageCache::avatars(&settings)?;
        let attachments = ImageCache::attachments(&settings)?;
        let inbox_gate = InboxGate::new(
            settings.federation.inbox_concurrency,
            settings.federation.inbox_queue_limit,
        );
        Ok(AppState {
            inbox_gate: Arc::new(inbox_gate),
            instance_health: Arc::default(),
            unsigned_fetch: Arc::default(),
            avatars: Arc::new(avatars),
            attachments: Arc::new(attachments),
            form_secret: Arc::new(form_secret),
            comment_limiter: Arc::new(comment_limiter),
            login_limiter: Arc::new(RateLimiter::new(LOGIN_ATTEMPTS_PER_ADDRESS, LOGIN_WINDOW)),
            account_limiter: Arc::new(RateLimiter::new(LOGIN_ATTEMPTS_PER_ACCOUNT, LOGIN_WINDOW)),
            pool,
            live: Arc::new(live),
            templates: Arc::new(templates),
            actor_keys: Arc::new(actor_keys),
        })
    }
}
