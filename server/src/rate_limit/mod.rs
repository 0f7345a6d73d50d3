//! Rate limiting of sensitive public routes, per client address (and, where a rule says
//! so, per identifier such as an email), in one process or shared across many.
//!
//! Each [`RateLimitRule`] of the protocol has a default [`Budget`] that an app can change
//! or disable. Counting is done by a [`RateLimiter`]: [`MemoryRateLimiter`] (the default,
//! one process) or `RedisRateLimiter` (feature `redis`, shared by every instance). Keys
//! are hashed, so raw emails and addresses are not kept by the limiter.

mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use memory::{DEFAULT_MAX_KEYS, MemoryRateLimiter};
#[cfg(feature = "redis")]
pub use redis::RedisRateLimiter;

use crate::error::Error;
use async_trait::async_trait;
use passkey_magic_shared::{RateLimitRule, Timestamp};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// How many requests a key may make per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Requests allowed per window.
    pub limit: u32,
    /// The window.
    pub window: Duration,
}

impl Budget {
    /// `limit` requests per `window`.
    pub const fn new(limit: u32, window: Duration) -> Self {
        Budget { limit, window }
    }

    /// The protocol's default budget for a rule.
    pub const fn default_for(rule: RateLimitRule) -> Self {
        let (limit, seconds) = rule.default_budget();
        Budget::new(limit, Duration::from_secs(seconds))
    }
}

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

/// The limiter's backend failed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("rate limiter unavailable: {0}")]
pub struct LimiterError(pub String);

/// Counts requests per key in fixed windows.
#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Counts one request for `key` and says whether it is within `budget`.
    ///
    /// # Errors
    /// [`LimiterError`] when the backend cannot be reached.
    async fn hit(
        &self,
        key: &str,
        budget: Budget,
        now: Timestamp,
    ) -> Result<Decision, LimiterError>;
}

/// What to do when the limiter's backend is unreachable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FailureMode {
    /// Refuse the request with `503` (the default: limits cannot be dodged by knocking
    /// the limiter over).
    #[default]
    Closed,
    /// Let the request through and log a warning.
    Open,
}

/// Rules, limiter and failure mode: the rate limiting of one `Auth`.
#[derive(Clone)]
pub struct RateLimits {
    rules: HashMap<RateLimitRule, Option<Budget>>,
    limiter: Arc<dyn RateLimiter>,
    failure_mode: FailureMode,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("rules", &self.rules)
            .field("failure_mode", &self.failure_mode)
            .finish_non_exhaustive()
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            rules: RateLimitRule::ALL
                .into_iter()
                .map(|rule| (rule, Some(Budget::default_for(rule))))
                .collect(),
            limiter: Arc::new(MemoryRateLimiter::default()),
            failure_mode: FailureMode::Closed,
        }
    }
}

impl RateLimits {
    /// Changes (`Some`) or disables (`None`) one rule.
    pub fn set_rule(&mut self, rule: RateLimitRule, budget: Option<Budget>) {
        self.rules.insert(rule, budget);
    }

    /// The budget of a rule; `None` when disabled.
    pub fn rule(&self, rule: RateLimitRule) -> Option<Budget> {
        self.rules.get(&rule).copied().flatten()
    }

    /// Replaces the limiter.
    pub fn set_limiter(&mut self, limiter: Arc<dyn RateLimiter>) {
        self.limiter = limiter;
    }

    /// Sets the behaviour when the limiter is unreachable.
    pub fn set_failure_mode(&mut self, mode: FailureMode) {
        self.failure_mode = mode;
    }

    /// Counts a request under `rule` for this client (and identifier) and refuses it when
    /// over budget.
    ///
    /// # Errors
    /// [`Error::RateLimited`] over budget; [`Error::Unavailable`] when the limiter is down
    /// and the failure mode is closed.
    pub async fn check(
        &self,
        rule: RateLimitRule,
        client: Option<IpAddr>,
        identifier: Option<&str>,
        now: Timestamp,
    ) -> Result<(), Error> {
        let Some(budget) = self.rule(rule) else {
            return Ok(());
        };
        let key = limiter_key(rule, client, identifier);
        match self.limiter.hit(&key, budget, now).await {
            Ok(Decision::Allowed) => Ok(()),
            Ok(Decision::Limited { retry_after }) => {
                tracing::info!(rule = rule.name(), "rate limited");
                Err(Error::RateLimited {
                    retry_after_seconds: retry_after.as_secs_f64().ceil().max(1.0) as u64,
                })
            }
            Err(error) => match self.failure_mode {
                FailureMode::Closed => Err(Error::Unavailable(error.to_string())),
                FailureMode::Open => {
                    tracing::warn!(%error, rule = rule.name(), "rate limiter down; allowing");
                    Ok(())
                }
            },
        }
    }
}

/// `rule:sha256(address, identifier)`: the limiter never sees raw addresses or emails.
pub(crate) fn limiter_key(
    rule: RateLimitRule,
    client: Option<IpAddr>,
    identifier: Option<&str>,
) -> String {
    let mut hasher = Sha256::new();
    match client {
        Some(address) => hasher.update(address.to_string().as_bytes()),
        None => hasher.update(b"unknown"),
    }
    hasher.update([0]);
    if let Some(identifier) = identifier {
        hasher.update(identifier.to_lowercase().as_bytes());
    }
    let digest = hasher.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}:{hex}", rule.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hide_addresses_and_identifiers() {
        let address: IpAddr = "203.0.113.7".parse().unwrap();
        let key = limiter_key(
            RateLimitRule::MagicLinkSend,
            Some(address),
            Some("ada@x.com"),
        );
        assert!(key.starts_with("magicLink.send:"));
        assert!(!key.contains("203.0.113.7") && !key.contains("ada"));
        assert_eq!(
            key,
            limiter_key(
                RateLimitRule::MagicLinkSend,
                Some(address),
                Some("ADA@x.com")
            )
        );
        assert_ne!(
            key,
            limiter_key(
                RateLimitRule::MagicLinkSend,
                Some(address),
                Some("bob@x.com")
            )
        );
        assert_ne!(
            key,
            limiter_key(RateLimitRule::QrCreate, Some(address), Some("ada@x.com"))
        );
    }

    #[test]
    fn defaults_follow_the_spec_and_rules_can_be_disabled() {
        let mut limits = RateLimits::default();
        assert_eq!(
            limits.rule(RateLimitRule::EmailAvailable),
            Some(Budget::new(10, Duration::from_secs(60)))
        );
        limits.set_rule(RateLimitRule::EmailAvailable, None);
        assert_eq!(limits.rule(RateLimitRule::EmailAvailable), None);
    }
}
