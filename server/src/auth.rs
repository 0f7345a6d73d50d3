//! The [`Auth`] handle: configuration, storage, hooks and events in one cheap-to-clone
//! value, with the operations grouped as in the JavaScript API
//! ([`Auth::passkeys`], [`Auth::sessions`], [`Auth::accounts`], [`Auth::magic_links`],
//! [`Auth::qr`]).

use crate::clock::{Clock, SystemClock};
use crate::config::{AuthConfig, ConfigError, DEFAULT_CHALLENGE_TTL, DEFAULT_SESSION_TTL};
use crate::error::{Error, Result};
use crate::events::{Event, Events};
use crate::hooks::{Hooks, NoHooks};
use crate::magic_links::{MagicLinkConfig, MagicLinkSetup};
use crate::mail::EmailSender;
use crate::rate_limit::{Budget, FailureMode, RateLimiter, RateLimits};
use crate::secrets::{RandomError, random_id};
use crate::store::{MemoryStore, Store};
use ipnet::IpNet;
use passkey_magic_shared::RateLimitRule;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use webauthn_rs::{Webauthn, WebauthnBuilder};

pub use passkey_magic_shared::Metadata;

/// Types usable as user or credential metadata: any serde type that is a JSON object.
pub trait MetadataType: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {}
impl<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> MetadataType for T {}

type IdGenerator = dyn Fn() -> std::result::Result<String, RandomError> + Send + Sync;

pub(crate) struct Inner {
    pub(crate) config: AuthConfig,
    pub(crate) webauthn: Webauthn,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) hooks: Arc<dyn Hooks>,
    pub(crate) events: Events,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rate_limits: RateLimits,
    pub(crate) qr_watchers: Arc<crate::qr::Watchers>,
    pub(crate) trusted_proxies: Vec<IpNet>,
    id_generator: Arc<IdGenerator>,
    /// Magic links: on when both a link URL and an email sender are configured.
    pub(crate) magic_links: Option<MagicLinkSetup>,
}

/// The authentication engine. Cloning is cheap (an `Arc`); clones share everything.
///
/// `U` and `C` are the metadata types of users and credentials (default: a JSON object),
/// like v0.4's `createAuth<UserMeta, CredentialMeta>`.
///
/// ```
/// use passkey_magic_server::Auth;
/// # fn main() -> Result<(), passkey_magic_server::config::ConfigError> {
/// let auth: Auth = Auth::builder("example.com", "https://example.com")?
///     .rp_name("Example")
///     .build()?;
/// # Ok(()) }
/// ```
pub struct Auth<U = Metadata, C = Metadata> {
    pub(crate) inner: Arc<Inner>,
    _metadata: PhantomData<fn() -> (U, C)>,
}

impl<U, C> Clone for Auth<U, C> {
    fn clone(&self) -> Self {
        Auth {
            inner: Arc::clone(&self.inner),
            _metadata: PhantomData,
        }
    }
}

impl<U, C> std::fmt::Debug for Auth<U, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("rp_id", &self.inner.config.rp_id)
            .field("origins", &self.inner.config.origins)
            .finish_non_exhaustive()
    }
}

impl Auth {
    /// Starts configuring an engine for relying-party id `rp_id` (your domain) and the
    /// origin the browser runs on. Add more origins with [`AuthBuilder::origin`].
    ///
    /// # Errors
    /// [`ConfigError::InvalidOrigin`] when `origin` is not a URL.
    pub fn builder(rp_id: &str, origin: &str) -> std::result::Result<AuthBuilder, ConfigError> {
        AuthBuilder::new(rp_id, origin)
    }
}

impl<U: MetadataType, C: MetadataType> Auth<U, C> {
    /// The validated configuration.
    pub fn config(&self) -> &AuthConfig {
        &self.inner.config
    }

    /// Subscribes to [`Event`]s.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.events.subscribe()
    }

    /// The storage backend.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// Spawns the background task that deletes expired sessions and challenges every
    /// `interval`. It stops when the returned guard is dropped.
    pub fn spawn_purge_task(&self, interval: Duration) -> PurgeTask {
        let store = Arc::clone(&self.inner.store);
        let clock = Arc::clone(&self.inner.clock);
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            loop {
                ticker.tick().await;
                match store.purge_expired(clock.now()).await {
                    Ok(0) => {}
                    Ok(count) => tracing::debug!(count, "purged expired records"),
                    Err(error) => tracing::warn!(%error, "purging expired records failed"),
                }
            }
        });
        PurgeTask(task)
    }

    /// The rate limiting in force.
    pub fn rate_limits(&self) -> &RateLimits {
        &self.inner.rate_limits
    }

    pub(crate) fn now(&self) -> passkey_magic_shared::Timestamp {
        self.inner.clock.now()
    }

    pub(crate) fn new_id(&self) -> Result<String> {
        (self.inner.id_generator)().map_err(|error| Error::Internal(error.to_string()))
    }

    pub(crate) fn emit(&self, event: Event) {
        self.inner.events.emit(event);
    }
}

/// Owns the background purge task; dropping it stops the task.
#[derive(Debug)]
pub struct PurgeTask(tokio::task::JoinHandle<()>);

impl Drop for PurgeTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Builds an [`Auth`]. Settings are checked once, in [`AuthBuilder::build`].
pub struct AuthBuilder {
    config: AuthConfig,
    store: Arc<dyn Store>,
    hooks: Arc<dyn Hooks>,
    clock: Arc<dyn Clock>,
    rate_limits: RateLimits,
    trusted_proxies: Vec<IpNet>,
    id_generator: Arc<IdGenerator>,
    magic_link_config: Option<MagicLinkConfig>,
    email_sender: Option<Arc<dyn EmailSender>>,
}

impl AuthBuilder {
    /// See [`Auth::builder`].
    ///
    /// # Errors
    /// [`ConfigError::InvalidOrigin`] when `origin` is not a URL.
    pub fn new(rp_id: &str, origin: &str) -> std::result::Result<Self, ConfigError> {
        Ok(AuthBuilder {
            config: AuthConfig {
                rp_name: rp_id.to_owned(),
                rp_id: rp_id.to_owned(),
                origins: vec![crate::config::parse_origin(origin)?],
                session_ttl: DEFAULT_SESSION_TTL,
                challenge_ttl: DEFAULT_CHALLENGE_TTL,
                qr: crate::qr::QrConfig::default(),
            },
            store: Arc::new(MemoryStore::new()),
            hooks: Arc::new(NoHooks),
            clock: Arc::new(SystemClock),
            rate_limits: RateLimits::default(),
            trusted_proxies: Vec::new(),
            id_generator: Arc::new(random_id),
            magic_link_config: None,
            email_sender: None,
        })
    }

    /// Name shown in passkey prompts. Default: the rp id.
    pub fn rp_name(mut self, name: impl Into<String>) -> Self {
        self.config.rp_name = name.into();
        self
    }

    /// Allows another exact origin (e.g. `https://app.example.com`).
    ///
    /// # Errors
    /// [`ConfigError::InvalidOrigin`] when it is not a URL.
    pub fn origin(mut self, origin: &str) -> std::result::Result<Self, ConfigError> {
        self.config
            .origins
            .push(crate::config::parse_origin(origin)?);
        Ok(self)
    }

    /// Session lifetime. Default: 7 days.
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.config.session_ttl = ttl;
        self
    }

    /// How long a WebAuthn challenge may be answered. Default: 60 seconds.
    pub fn challenge_ttl(mut self, ttl: Duration) -> Self {
        self.config.challenge_ttl = ttl;
        self
    }

    /// Lifetime of a QR login. Default: 5 minutes.
    pub fn qr_ttl(mut self, ttl: Duration) -> Self {
        self.config.qr.ttl = ttl;
        self
    }

    /// Confirmation codes for QR logins (the phone enters digits shown on the desktop).
    /// Default: off; when on, 6 digits.
    pub fn qr_confirmation(mut self, confirmation: crate::qr::QrConfirmation) -> Self {
        self.config.qr.confirmation = confirmation;
        self
    }

    /// How often long-polling desktops re-check the store for changes made by other
    /// instances (changes in this process wake them at once). Default: 3 seconds.
    pub fn qr_poll_fallback(mut self, interval: Duration) -> Self {
        self.config.qr.poll_fallback = interval;
        self
    }

    /// Storage backend. Default: a fresh [`MemoryStore`] (lost on restart).
    pub fn store(mut self, store: impl Store) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// Storage backend, already shared.
    pub fn shared_store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = store;
        self
    }

    /// Lifecycle hooks. Default: none.
    pub fn hooks(mut self, hooks: impl Hooks) -> Self {
        self.hooks = Arc::new(hooks);
        self
    }

    /// Time source. Default: the system clock; tests use [`crate::clock::ManualClock`].
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Changes (`Some`) or disables (`None`) a rate-limit rule. Default: the protocol's
    /// budgets ([`RateLimitRule::default_budget`]).
    pub fn rate_limit(mut self, rule: RateLimitRule, budget: Option<Budget>) -> Self {
        self.rate_limits.set_rule(rule, budget);
        self
    }

    /// The limiter that counts requests. Default: in-process
    /// ([`crate::rate_limit::MemoryRateLimiter`]); use a shared one (Redis) when several
    /// instances serve the same users.
    pub fn rate_limiter(mut self, limiter: impl RateLimiter) -> Self {
        self.rate_limits.set_limiter(Arc::new(limiter));
        self
    }

    /// What to do when the limiter is unreachable. Default: [`FailureMode::Closed`] (503).
    pub fn rate_limit_failure_mode(mut self, mode: FailureMode) -> Self {
        self.rate_limits.set_failure_mode(mode);
        self
    }

    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` / `X-Real-IP` headers are
    /// believed. Default: none — the client address is the socket peer, so a client
    /// cannot dodge rate limits by sending such headers itself.
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpNet>) -> Self {
        self.trusted_proxies = proxies.into_iter().collect();
        self
    }

    /// Id generator for users and sessions. Default: random UUID v4 strings.
    pub fn id_generator(mut self, generate: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.id_generator = Arc::new(move || Ok(generate()));
        self
    }

    // ---- magic links ----

    /// Where magic links point and how long they work. Magic links are on when this and
    /// an [`email_sender`](Self::email_sender) are both set. Default: off (routes 7 and 8
    /// answer `400 Magic link not configured`). The URL is checked by
    /// [`build`](Self::build).
    pub fn magic_links(mut self, config: MagicLinkConfig) -> Self {
        self.magic_link_config = Some(config);
        self
    }

    /// Who delivers magic-link emails: [`crate::mail::DevOutbox`] in development,
    /// `SmtpSender` (feature `smtp`) or your own [`EmailSender`] in production.
    /// Default: none.
    pub fn email_sender(mut self, sender: impl EmailSender) -> Self {
        self.email_sender = Some(Arc::new(sender));
        self
    }

    /// The email sender, already shared.
    pub fn shared_email_sender(mut self, sender: Arc<dyn EmailSender>) -> Self {
        self.email_sender = Some(sender);
        self
    }

    /// Validates the settings and builds the engine.
    ///
    /// # Errors
    /// The first invalid setting, as a [`ConfigError`].
    pub fn build<U: MetadataType, C: MetadataType>(
        self,
    ) -> std::result::Result<Auth<U, C>, ConfigError> {
        self.config.validate()?;
        let mut origins = self.config.origins.iter();
        let first = origins
            .next()
            .ok_or_else(|| ConfigError::InvalidOrigin(String::new()))?;
        let mut builder = WebauthnBuilder::new(&self.config.rp_id, first)
            .map_err(|error| ConfigError::WebAuthn(error.to_string()))?
            .rp_name(&self.config.rp_name)
            .timeout(self.config.challenge_ttl);
        for origin in origins {
            builder = builder.append_allowed_origin(origin);
        }
        let webauthn = builder
            .build()
            .map_err(|error| ConfigError::WebAuthn(error.to_string()))?;
        let magic_links = MagicLinkSetup::from_builder(self.magic_link_config, self.email_sender)?;
        let qr_watchers = Arc::new(crate::qr::Watchers::new(
            Arc::clone(&self.store),
            Arc::clone(&self.clock),
            self.config.qr.poll_fallback,
        ));
        Ok(Auth {
            inner: Arc::new(Inner {
                qr_watchers,
                config: self.config,
                webauthn,
                store: self.store,
                hooks: self.hooks,
                events: Events::new(),
                clock: self.clock,
                rate_limits: self.rate_limits,
                trusted_proxies: self.trusted_proxies,
                id_generator: self.id_generator,
                magic_links,
            }),
            _metadata: PhantomData,
        })
    }
}
