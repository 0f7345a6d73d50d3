//! Rate limiting of sensitive public routes, per client address (and, where a rule says
//! so, per identifier such as an email), in one process or shared across many.
//!
//! Each [`RateLimitRule`] of the protocol has a default [`Budget`] that an app can change
//! or disable (settings in [`crate::config::rate_limits`], checked when the engine is
//! built). Counting is done by a [`RateLimiter`]: [`MemoryRateLimiter`] (the default, one
//! process; evicts its oldest windows rather than refusing new clients when full) or
//! `RedisRateLimiter` (feature `redis`, shared by every instance).
//!
//! Requests are counted under a [`LimiterKey`]: the rule plus a fixed-size hash of the
//! client's address group and the identifier, so raw emails and addresses are not kept
//! by the limiter. IPv6 clients are grouped by network (`/64` by default), so one host
//! cannot dodge its budget by rotating through the addresses of its prefix.
//! `magicLink.send` is counted twice: per address and email, and per address alone
//! (`magicLink.send.address`), so one client cannot mail many addresses.

mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use crate::config::rate_limits::{Budget, FailureMode};
pub use memory::{DEFAULT_MAX_KEYS, MemoryRateLimiter};
#[cfg(feature = "redis")]
pub use redis::RedisRateLimiter;

use crate::config::RateLimitConfig;
use async_trait::async_trait;
use passkey_magic_shared::{RateLimitRule, Timestamp};
use sha2::{Digest, Sha256};
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The answer of a limiter for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Within budget.
    Allowed,
    /// Over budget; the window resets after this long.
    Limited {
        /// Time until the key may try again.
        retry_after: Duration,
    },
}

/// Why [`RateLimits::check`] did not let a request through (becomes
/// [`Error::RateLimited`](crate::Error::RateLimited) or
/// [`Error::Unavailable`](crate::Error::Unavailable)).
#[derive(Debug, Clone, thiserror::Error)]
pub enum Refusal {
    /// Over budget.
    #[error("too many requests")]
    Limited {
        /// Time until the key may try again.
        retry_after: Duration,
    },
    /// The limiter is down and the failure mode is closed.
    #[error(transparent)]
    Unavailable(#[from] LimiterError),
}

/// The limiter's backend failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("rate limiter unavailable: {0}")]
pub struct LimiterError(pub String);

/// What a limiter counts requests under: the rule and a 128-bit hash of the client's
/// address group and the identifier. Fixed-size and `Copy`, so counting a request
/// allocates no key, and the limiter never sees raw addresses or emails.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LimiterKey {
    rule: RateLimitRule,
    digest: [u8; 16],
}

impl LimiterKey {
    /// The key of a request under `rule` from `client` (IPv6 addresses grouped by their
    /// first `ipv6_prefix_len` bits, IPv4-mapped IPv6 as IPv4) for `identifier` (an email,
    /// compared case-insensitively).
    pub fn new(
        rule: RateLimitRule,
        client: Option<IpAddr>,
        identifier: Option<&str>,
        ipv6_prefix_len: u8,
    ) -> Self {
        let mut hasher = Sha256::new();
        match client.map(|address| address.to_canonical()) {
            Some(IpAddr::V4(address)) => {
                hasher.update([4]);
                hasher.update(address.octets());
            }
            Some(IpAddr::V6(address)) => {
                let bits = u32::from(ipv6_prefix_len.clamp(1, 128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                hasher.update([6, ipv6_prefix_len]);
                hasher.update((u128::from(address) & mask).to_be_bytes());
            }
            None => hasher.update([0]),
        }
        if let Some(identifier) = identifier {
            hasher.update([1]);
            // ASCII lower-casing, as emails compare (`email::canonical`); a byte at a
            // time, no String per request.
            for byte in identifier.bytes() {
                hasher.update([byte.to_ascii_lowercase()]);
            }
        }
        let digest = hasher.finalize();
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        LimiterKey { rule, digest: key }
    }

    /// The rule counted.
    pub fn rule(&self) -> RateLimitRule {
        self.rule
    }

    /// The hash of the address group and identifier.
    pub fn digest(&self) -> &[u8; 16] {
        &self.digest
    }
}

/// `rule:hex`, e.g. `magicLink.send:3f2a…` (for shared limiters' storage keys).
impl fmt::Display for LimiterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rule.name())?;
        f.write_str(":")?;
        for byte in self.digest {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for LimiterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LimiterKey({self})")
    }
}

/// Counts requests per key in fixed windows.
#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Counts one request for `key` and says whether it is within `budget`.
    ///
    /// # Errors
    /// [`LimiterError`] when the backend cannot be reached.
    async fn hit(
        &self,
        key: &LimiterKey,
        budget: Budget,
        now: Timestamp,
    ) -> Result<Decision, LimiterError>;

    /// The same count without awaiting, for limiters that need no I/O: `Some` answer,
    /// or `None` (the default) to be asked through [`hit`](Self::hit). Lets an
    /// in-process limiter count a request without allocating a future.
    fn hit_now(
        &self,
        _key: &LimiterKey,
        _budget: Budget,
        _now: Timestamp,
    ) -> Option<Result<Decision, LimiterError>> {
        None
    }

    /// Whether the backend answers, for readiness probes (`GET /readyz`). The default
    /// (a limiter that needs no I/O) is always reachable.
    ///
    /// # Errors
    /// [`LimiterError`] when the backend cannot be reached.
    async fn ping(&self) -> Result<(), LimiterError> {
        Ok(())
    }
}

/// The validated settings and the limiter: the rate limiting of one `Auth`.
#[derive(Clone)]
pub struct RateLimits {
    config: RateLimitConfig,
    limiter: Arc<dyn RateLimiter>,
}

impl fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimits")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl RateLimits {
    /// Rate limiting with validated `config`, counted by `limiter`.
    pub(crate) fn new(config: RateLimitConfig, limiter: Arc<dyn RateLimiter>) -> Self {
        RateLimits { config, limiter }
    }

    /// The settings in force.
    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// The budget of a rule; `None` when disabled.
    pub fn rule(&self, rule: RateLimitRule) -> Option<Budget> {
        self.config.rule(rule)
    }

    /// Whether the limiter's backend answers (see [`RateLimiter::ping`]).
    ///
    /// # Errors
    /// [`LimiterError`] when it cannot be reached.
    pub async fn ping(&self) -> Result<(), LimiterError> {
        self.limiter.ping().await
    }

    /// Counts a request under `rule` for this client (and identifier) and refuses it when
    /// over budget.
    ///
    /// # Errors
    /// [`Refusal::Limited`] over budget; [`Refusal::Unavailable`] when the limiter is down
    /// and the failure mode is closed.
    pub async fn check(
        &self,
        rule: RateLimitRule,
        client: Option<IpAddr>,
        identifier: Option<&str>,
        now: Timestamp,
    ) -> Result<(), Refusal> {
        let Some(budget) = self.rule(rule) else {
            return Ok(());
        };
        let key = LimiterKey::new(rule, client, identifier, self.config.ipv6_prefix_len);
        let counted = match self.limiter.hit_now(&key, budget, now) {
            Some(counted) => counted,
            None => self.limiter.hit(&key, budget, now).await,
        };
        match counted {
            Ok(Decision::Allowed) => Ok(()),
            Ok(Decision::Limited { retry_after }) => {
                tracing::info!(rule = rule.name(), "rate limited");
                crate::telemetry::rate_limited(rule);
                Err(Refusal::Limited { retry_after })
            }
            Err(error) => match self.config.failure_mode {
                FailureMode::Closed => Err(error.into()),
                FailureMode::Open => {
                    tracing::warn!(%error, rule = rule.name(), "rate limiter down; allowing");
                    Ok(())
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(client: &str, identifier: Option<&str>) -> LimiterKey {
        LimiterKey::new(
            RateLimitRule::MagicLinkSend,
            Some(client.parse().unwrap()),
            identifier,
            64,
        )
    }

    #[test]
    fn keys_hide_addresses_and_identifiers() {
        let key = key("203.0.113.7", Some("ada@x.com"));
        let text = format!("{key} {key:?}");
        assert!(text.starts_with("magicLink.send:"));
        assert!(!text.contains("203.0.113.7") && !text.contains("ada"));
        assert_eq!(key, self::key("203.0.113.7", Some("ADA@x.com")));
        assert_ne!(key, self::key("203.0.113.7", Some("bob@x.com")));
        assert_ne!(key, self::key("203.0.113.7", None));
        assert_ne!(key, self::key("203.0.113.8", Some("ada@x.com")));
        let other_rule = LimiterKey::new(
            RateLimitRule::QrCreate,
            Some("203.0.113.7".parse().unwrap()),
            Some("ada@x.com"),
            64,
        );
        assert_ne!(key, other_rule);
    }

    #[test]
    fn ipv6_clients_are_grouped_by_prefix() {
        let a = key("2001:db8:1:2:aaaa::1", None);
        assert_eq!(a, key("2001:db8:1:2:ffff:ffff:ffff:ffff", None));
        assert_ne!(a, key("2001:db8:1:3::1", None));
        // IPv4-mapped IPv6 is the IPv4 address.
        assert_eq!(key("::ffff:203.0.113.7", None), key("203.0.113.7", None));
        // /128 counts every address.
        let exact = |address: &str| {
            LimiterKey::new(
                RateLimitRule::QrCreate,
                Some(address.parse().unwrap()),
                None,
                128,
            )
        };
        assert_ne!(exact("2001:db8::1"), exact("2001:db8::2"));
    }

    #[test]
    fn rules_can_be_disabled() {
        let mut config = RateLimitConfig::default();
        config.rules.insert(RateLimitRule::EmailAvailable, None);
        let limits = RateLimits::new(config, Arc::new(MemoryRateLimiter::default()));
        assert_eq!(limits.rule(RateLimitRule::EmailAvailable), None);
        assert!(limits.rule(RateLimitRule::QrCreate).is_some());
    }
}
