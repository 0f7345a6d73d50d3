//! Rate-limit settings: a [`Budget`] per rule, how client addresses are grouped, and what
//! to do when a shared limiter is down. Checked once, when the engine is built.

use super::ConfigError;
use passkey_magic_shared::RateLimitRule;
use std::collections::HashMap;
use std::time::Duration;

/// Default prefix length that groups IPv6 clients: a /64 is what one subscriber (one
/// home, one server) usually gets, so counting per address would let one host rotate
/// through 2⁶⁴ addresses.
pub const DEFAULT_IPV6_PREFIX_LEN: u8 = 64;

/// The longest window a budget may have.
pub const MAX_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// How many requests a key may make per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Requests allowed per window (at least 1; disable a rule instead of allowing 0).
    pub limit: u32,
    /// The window (1 second to [`MAX_WINDOW`]).
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

    /// Checks the limit and window.
    ///
    /// # Errors
    /// [`ConfigError::InvalidRateLimit`] naming `rule`.
    pub fn validate(&self, rule: RateLimitRule) -> Result<(), ConfigError> {
        if self.limit == 0 || self.window < Duration::from_secs(1) || self.window > MAX_WINDOW {
            return Err(ConfigError::InvalidRateLimit(rule.name()));
        }
        Ok(())
    }
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

/// The rate-limit settings of one engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// The budget of each rule; `None` disables it. Default: the protocol's budgets.
    pub rules: HashMap<RateLimitRule, Option<Budget>>,
    /// IPv6 clients are counted per network of this prefix length (1 to 128; 128 counts
    /// each address). IPv4 addresses are always counted one by one. Default:
    /// [`DEFAULT_IPV6_PREFIX_LEN`].
    pub ipv6_prefix_len: u8,
    /// When the limiter is unreachable. Default: [`FailureMode::Closed`].
    pub failure_mode: FailureMode,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            rules: RateLimitRule::ALL
                .into_iter()
                .map(|rule| (rule, Some(Budget::default_for(rule))))
                .collect(),
            ipv6_prefix_len: DEFAULT_IPV6_PREFIX_LEN,
            failure_mode: FailureMode::Closed,
        }
    }
}

impl RateLimitConfig {
    /// The budget of a rule; `None` when disabled.
    pub fn rule(&self, rule: RateLimitRule) -> Option<Budget> {
        self.rules.get(&rule).copied().flatten()
    }

    /// Checks every budget and the IPv6 prefix length.
    ///
    /// # Errors
    /// [`ConfigError::InvalidRateLimit`] or [`ConfigError::InvalidIpv6Prefix`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (rule, budget) in &self.rules {
            if let Some(budget) = budget {
                budget.validate(*rule)?;
            }
        }
        if !(1..=128).contains(&self.ipv6_prefix_len) {
            return Err(ConfigError::InvalidIpv6Prefix(self.ipv6_prefix_len));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_spec_and_are_valid() {
        let config = RateLimitConfig::default();
        assert_eq!(
            config.rule(RateLimitRule::EmailAvailable),
            Some(Budget::new(10, Duration::from_secs(60)))
        );
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn budgets_and_prefixes_are_checked() {
        let rule = RateLimitRule::QrCreate;
        for bad in [
            Budget::new(0, Duration::from_secs(60)),
            Budget::new(5, Duration::ZERO),
            Budget::new(5, Duration::MAX),
        ] {
            let mut config = RateLimitConfig::default();
            config.rules.insert(rule, Some(bad));
            assert_eq!(
                config.validate(),
                Err(ConfigError::InvalidRateLimit("qr.create")),
                "{bad:?}"
            );
        }
        for bad in [0, 129] {
            let config = RateLimitConfig {
                ipv6_prefix_len: bad,
                ..RateLimitConfig::default()
            };
            assert_eq!(config.validate(), Err(ConfigError::InvalidIpv6Prefix(bad)));
        }
    }
}
