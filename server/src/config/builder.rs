//! [`AuthBuilder`]: every setting of an engine in one place, checked once by
//! [`AuthBuilder::build`], which assembles the [`Auth`] handle.

use super::magic_links::MagicLinkConfig;
use super::qr::{QrConfig, QrConfirmation};
use super::rate_limits::{Budget, FailureMode, RateLimitConfig};
use super::{
    AuthConfig, ConfigError, DEFAULT_CHALLENGE_TTL, DEFAULT_SESSION_TTL, EmailLinking, parse_origin,
};
use crate::auth::{Auth, IdGenerator, Inner, MetadataType};
use crate::clock::{Clock, SystemClock};
use crate::events::Events;
use crate::hooks::{Hooks, NoHooks};
use crate::http::client_address::ForwardedHeader;
use crate::mail::{EmailSender, MagicLinkSetup};
use crate::qr::waiters::WaiterSlots;
use crate::rate_limit::{MemoryRateLimiter, RateLimiter, RateLimits};
use crate::secrets::random_id;
use crate::store::{MemoryStore, Store};
use crate::watch::Watchers;
use ipnet::IpNet;
use passkey_magic_shared::RateLimitRule;
use std::sync::Arc;
use std::time::Duration;
use webauthn_rs::WebauthnBuilder;

impl Auth {
    /// Starts configuring an engine for relying-party id `rp_id` (your domain) and the
    /// origin the browser runs on. Add more origins with [`AuthBuilder::origin`].
    ///
    /// # Errors
    /// [`ConfigError::InvalidOrigin`] when `origin` is not a URL.
    pub fn builder(rp_id: &str, origin: &str) -> Result<AuthBuilder, ConfigError> {
        AuthBuilder::new(rp_id, origin)
    }
}

/// Builds an [`Auth`]. Settings are checked once, in [`AuthBuilder::build`].
pub struct AuthBuilder {
    config: AuthConfig,
    store: Arc<dyn Store>,
    hooks: Arc<dyn Hooks>,
    clock: Arc<dyn Clock>,
    rate_limits: RateLimitConfig,
    rate_limiter: Arc<dyn RateLimiter>,
    trusted_proxies: Vec<IpNet>,
    forwarded_header: ForwardedHeader,
    id_generator: Arc<IdGenerator>,
    magic_link_config: Option<MagicLinkConfig>,
    email_sender: Option<Arc<dyn EmailSender>>,
}

impl AuthBuilder {
    /// See [`Auth::builder`].
    ///
    /// # Errors
    /// [`ConfigError::InvalidOrigin`] when `origin` is not a URL.
    pub fn new(rp_id: &str, origin: &str) -> Result<Self, ConfigError> {
        Ok(AuthBuilder {
            config: AuthConfig {
                rp_name: rp_id.to_owned(),
                rp_id: rp_id.to_owned(),
                origins: vec![parse_origin(origin)?],
                session_ttl: DEFAULT_SESSION_TTL,
                challenge_ttl: DEFAULT_CHALLENGE_TTL,
                qr: QrConfig::default(),
                email_linking: EmailLinking::default(),
                email_available_route: true,
                security_event_retention: super::DEFAULT_SECURITY_EVENT_RETENTION,
            },
            store: Arc::new(MemoryStore::new()),
            hooks: Arc::new(NoHooks),
            clock: Arc::new(SystemClock),
            rate_limits: RateLimitConfig::default(),
            rate_limiter: Arc::new(MemoryRateLimiter::default()),
            trusted_proxies: Vec::new(),
            forwarded_header: ForwardedHeader::default(),
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
    pub fn origin(mut self, origin: &str) -> Result<Self, ConfigError> {
        self.config.origins.push(parse_origin(origin)?);
        Ok(self)
    }

    /// Session lifetime. Default: 7 days.
    pub fn session_ttl(mut self, ttl: Duration) -> Self {
        self.config.session_ttl = ttl;
        self
    }

    /// How long security events are kept before the purge task deletes them
    /// ([`crate::audit`]); whole days from 1 to 3650. Default: 90 days.
    pub fn security_event_retention(mut self, retention: Duration) -> Self {
        self.config.security_event_retention = retention;
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
    pub fn qr_confirmation(mut self, confirmation: QrConfirmation) -> Self {
        self.config.qr.confirmation = confirmation;
        self
    }

    /// How often long-polling desktops re-check the store for changes made by other
    /// instances (changes in this process wake them at once). Default: 3 seconds.
    pub fn qr_poll_fallback(mut self, interval: Duration) -> Self {
        self.config.qr.poll_fallback = interval;
        self
    }

    /// Caps on QR status long-polls held at once: `per_login` on one QR login (a desktop
    /// needs one) and `overall` in this process; a poll over a cap is answered at once
    /// with the current status. Default: 4 and 16 384.
    pub fn qr_long_poll_caps(mut self, per_login: usize, overall: usize) -> Self {
        self.config.qr.max_waiters_per_login = per_login;
        self.config.qr.max_waiters = overall;
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
    /// budgets ([`RateLimitRule::default_budget`]). Checked by [`build`](Self::build).
    pub fn rate_limit(mut self, rule: RateLimitRule, budget: Option<Budget>) -> Self {
        self.rate_limits.rules.insert(rule, budget);
        self
    }

    /// The limiter that counts requests. Default: in-process
    /// ([`crate::rate_limit::MemoryRateLimiter`]); use a shared one (Redis) when several
    /// instances serve the same users.
    pub fn rate_limiter(mut self, limiter: impl RateLimiter) -> Self {
        self.rate_limiter = Arc::new(limiter);
        self
    }

    /// What to do when the limiter is unreachable. Default: [`FailureMode::Closed`] (503).
    pub fn rate_limit_failure_mode(mut self, mode: FailureMode) -> Self {
        self.rate_limits.failure_mode = mode;
        self
    }

    /// How IPv6 clients are grouped for rate limits: per network of this prefix length
    /// (1 to 128; 128 counts each address). Default: 64, so one host cannot dodge limits
    /// by rotating through the addresses of its /64. Checked by [`build`](Self::build).
    pub fn rate_limit_ipv6_prefix(mut self, prefix_len: u8) -> Self {
        self.rate_limits.ipv6_prefix_len = prefix_len;
        self
    }

    /// Reverse proxies whose forwarding header ([`forwarded_header`](Self::forwarded_header))
    /// is believed. Default: none — the client address is the socket peer, so a client
    /// cannot dodge rate limits by sending such headers itself.
    pub fn trusted_proxies(mut self, proxies: impl IntoIterator<Item = IpNet>) -> Self {
        self.trusted_proxies = proxies.into_iter().collect();
        self
    }

    /// The one forwarding header a trusted proxy sets; the others are ignored. In a chain
    /// the client is the right-most entry that is not a trusted proxy. Default:
    /// `X-Forwarded-For`.
    pub fn forwarded_header(mut self, header: ForwardedHeader) -> Self {
        self.forwarded_header = header;
        self
    }

    /// Id generator for users and sessions. Default: random UUID v4 strings.
    pub fn id_generator(mut self, generate: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.id_generator = Arc::new(move || Ok(generate()));
        self
    }

    // ---- accounts ----

    /// How `link-email` attaches an address. Default: [`EmailLinking::Verified`] (a
    /// confirmation link is sent; needs magic links). [`EmailLinking::Immediate`] is
    /// v0.4's behaviour and lets a user claim an address they do not own: read its risk.
    pub fn email_linking(mut self, linking: EmailLinking) -> Self {
        self.config.email_linking = linking;
        self
    }

    /// Whether the public `POST /account/email-available` route answers. It tells anyone
    /// whether an address has an account (rate limited by `email.available`); `false`
    /// makes it `404`. Default: `true` (v0.4).
    pub fn email_available_route(mut self, enabled: bool) -> Self {
        self.config.email_available_route = enabled;
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
    pub fn build<U: MetadataType, C: MetadataType>(self) -> Result<Auth<U, C>, ConfigError> {
        self.config.validate()?;
        self.rate_limits.validate()?;
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
        // Storage failures are counted per operation, whatever the backend.
        let store: Arc<dyn Store> = Arc::new(crate::telemetry::MeteredStore(self.store));
        let qr_watchers = Arc::new(Watchers::new(
            Arc::clone(&store),
            Arc::clone(&self.clock),
            self.config.qr.poll_fallback,
        ));
        let qr_waiter_slots = Arc::new(WaiterSlots::new(
            self.config.qr.max_waiters_per_login,
            self.config.qr.max_waiters,
        ));
        Ok(Auth::from_inner(Inner {
            qr_watchers,
            qr_waiter_slots,
            config: self.config,
            webauthn,
            store,
            hooks: self.hooks,
            events: Events::new(),
            clock: self.clock,
            rate_limits: RateLimits::new(self.rate_limits, self.rate_limiter),
            trusted_proxies: self.trusted_proxies,
            forwarded_header: self.forwarded_header,
            id_generator: self.id_generator,
            magic_links,
        }))
    }
}
