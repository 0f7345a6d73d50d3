//! The [`Auth`] handle: configuration, storage, hooks, events and limits in one
//! cheap-to-clone value.
//!
//! This module is the engine's core layer: it knows the settings and the infrastructure
//! (store, clock, limiter, mail, hooks, events) but no feature. Each feature module adds
//! its group of operations to `Auth` itself (`auth.passkeys()`, `auth.qr()`, ...), and
//! [`crate::config::AuthBuilder`] assembles the handle, so imports only point downward.

use crate::clock::Clock;
use crate::config::AuthConfig;
use crate::error::Result;
use crate::events::{Event, Events};
use crate::hooks::Hooks;
use crate::mail::MagicLinkSetup;
use crate::rate_limit::RateLimits;
use crate::secrets::RandomError;
use crate::store::{Purged, Store};
use crate::watch::Watchers;
use ipnet::IpNet;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use webauthn_rs::Webauthn;

pub use passkey_magic_shared::Metadata;

/// Types usable as user or credential metadata: any serde type that is a JSON object.
pub trait MetadataType: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {}
impl<T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static> MetadataType for T {}

/// The id generator of users and sessions.
pub(crate) type IdGenerator = dyn Fn() -> std::result::Result<String, RandomError> + Send + Sync;

/// What every clone of an [`Auth`] shares. Built by [`crate::config::AuthBuilder`].
pub(crate) struct Inner {
    pub(crate) config: AuthConfig,
    pub(crate) webauthn: Webauthn,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) hooks: Arc<dyn Hooks>,
    pub(crate) events: Events,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) rate_limits: RateLimits,
    pub(crate) qr_watchers: Arc<Watchers>,
    pub(crate) qr_waiter_slots: Arc<crate::qr::waiters::WaiterSlots>,
    pub(crate) trusted_proxies: Vec<IpNet>,
    pub(crate) forwarded_header: crate::http::client_address::ForwardedHeader,
    pub(crate) id_generator: Arc<IdGenerator>,
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

impl<U, C> Auth<U, C> {
    /// The handle around `inner` (see [`crate::config::AuthBuilder::build`]).
    pub(crate) fn from_inner(inner: Inner) -> Self {
        Auth {
            inner: Arc::new(inner),
            _metadata: PhantomData,
        }
    }
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

    /// Spawns the background task that, every `interval`, runs [`Self::purge`]: expired
    /// sessions, challenges, links and QR logins, and the security events older than the
    /// retention ([`crate::config::AuthBuilder::security_event_retention`]). It stops when
    /// the returned guard is dropped.
    pub fn spawn_purge_task(&self, interval: Duration) -> PurgeTask {
        let auth = self.clone();
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(interval);
            loop {
                ticker.tick().await;
                auth.purge().await;
            }
        });
        PurgeTask(task)
    }

    /// One round of the purge task: [expired records](Self::purge_expired), then security
    /// events past their retention. Failures are logged; the next round tries again.
    pub async fn purge(&self) {
        if let Err(error) = self.purge_expired().await {
            tracing::warn!(%error, "purging expired records failed");
        }
        let cutoff = self
            .now()
            .saturating_sub(self.inner.config.security_event_retention);
        match self.inner.store.purge_security_events(cutoff).await {
            Ok(0) => {}
            Ok(count) => tracing::debug!(count, "purged old security events"),
            Err(error) => tracing::warn!(%error, "purging old security events failed"),
        }
    }

    /// Deletes expired sessions, challenges, links and QR logins now, and counts the QR
    /// logins that expired unfinished in the `qr_logins_total{state="expired"}` metric.
    ///
    /// Expiry is counted here because nothing else happens when a QR login expires.
    /// Each row is deleted by exactly one purge, whichever instance runs it and however
    /// often the process restarted, so each expired login is counted exactly once
    /// (when the first purge after its expiry runs, not at the moment it expired).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn purge_expired(&self) -> Result<Purged> {
        let purged = self.inner.store.purge_expired(self.now()).await?;
        if purged.rows > 0 {
            tracing::debug!(
                rows = purged.rows,
                expired_qr_logins = purged.expired_qr_logins,
                "purged expired records"
            );
        }
        crate::telemetry::qr_logins_expired(purged.expired_qr_logins);
        Ok(purged)
    }

    /// The rate limiting in force.
    pub fn rate_limits(&self) -> &RateLimits {
        &self.inner.rate_limits
    }

    pub(crate) fn now(&self) -> passkey_magic_shared::Timestamp {
        self.inner.clock.now()
    }

    pub(crate) fn new_id(&self) -> Result<String> {
        Ok((self.inner.id_generator)()?)
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
