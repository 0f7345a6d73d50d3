//! Every setting of the engine, and [`AuthBuilder`], which checks them once and builds
//! the [`Auth`](crate::Auth) handle.
//!
//! - [`AuthConfig`] (this module): relying party, origins, lifetimes;
//! - [`qr`]: QR login settings ([`QrConfig`], [`QrConfirmation`]);
//! - [`magic_links`]: where magic links point ([`MagicLinkConfig`]);
//! - [`rate_limits`]: per-rule [`Budget`]s, IPv6 grouping, [`FailureMode`];
//! - [`builder`], the [`AuthBuilder`].
//!
//! The settings depend on nothing of the engine; only the builder, which assembles the
//! handle, sits above [`crate::auth`].

pub mod builder;
pub mod magic_links;
pub mod qr;
pub mod rate_limits;

pub use builder::AuthBuilder;
pub use magic_links::{DEFAULT_MAGIC_LINK_TTL, MagicLinkConfig};
pub use qr::{
    DEFAULT_CODE_LENGTH, DEFAULT_MAX_WAITERS, DEFAULT_MAX_WAITERS_PER_LOGIN, DEFAULT_POLL_FALLBACK,
    DEFAULT_QR_TTL, QrConfig, QrConfirmation,
};
pub use rate_limits::{Budget, DEFAULT_IPV6_PREFIX_LEN, FailureMode, RateLimitConfig};

use std::time::Duration;
use url::Url;

/// Default lifetime of a session (7 days, as v0.4).
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// Default retention of security events (90 days): older ones are purged.
pub const DEFAULT_SECURITY_EVENT_RETENTION: Duration = Duration::from_secs(90 * 24 * 60 * 60);
/// Longest retention of security events accepted (10 years).
pub const MAX_SECURITY_EVENT_RETENTION: Duration = Duration::from_secs(3650 * 24 * 60 * 60);
/// Default lifetime of a WebAuthn challenge (60 seconds, as v0.4).
pub const DEFAULT_CHALLENGE_TTL: Duration = Duration::from_secs(60);

/// Why a configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The relying-party id is empty or not a bare host name.
    #[error("invalid rp id {0:?}: expected a bare domain such as \"example.com\"")]
    InvalidRpId(String),
    /// An origin is not an absolute http(s) URL without path.
    #[error("invalid origin {0:?}: expected e.g. \"https://example.com\"")]
    InvalidOrigin(String),
    /// An origin's host is not the rp id or a subdomain of it.
    #[error("origin {origin:?} is not within rp id {rp_id:?}")]
    OriginOutsideRpId {
        /// The origin.
        origin: String,
        /// The rp id.
        rp_id: String,
    },
    /// The security event retention is under a day or over ten years.
    #[error("invalid security event retention: must be between 1 and 3650 days")]
    InvalidRetention,
    /// A lifetime is zero or absurdly long.
    #[error("invalid {0}: must be between 1 second and 400 days")]
    InvalidTtl(&'static str),
    /// webauthn-rs refused the settings.
    #[error("WebAuthn configuration rejected: {0}")]
    WebAuthn(String),
    /// A QR login setting is out of range.
    #[error("invalid QR setting: {0}")]
    InvalidQrSetting(&'static str),
    /// The magic-link URL is not an absolute http(s) URL, or already has a `token`.
    #[error("invalid magic link URL {0:?}: expected e.g. \"https://example.com/auth/verify\"")]
    InvalidMagicLinkUrl(String),
    /// A rate-limit budget (the rule named) allows no request or has a window outside
    /// 1 second to 1 day.
    #[error("invalid rate limit for {0}: the limit must be at least 1 and the window 1 s to 1 day")]
    InvalidRateLimit(&'static str),
    /// The IPv6 prefix length that groups rate-limited clients is not 1 to 128.
    #[error("invalid IPv6 prefix length {0} for rate limits: expected 1 to 128")]
    InvalidIpv6Prefix(u8),
}

/// Validated settings of the engine.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Name shown in passkey prompts.
    pub rp_name: String,
    /// Relying-party id: the domain passkeys are bound to.
    pub rp_id: String,
    /// Exact origins allowed to run ceremonies.
    pub origins: Vec<Url>,
    /// Session lifetime.
    pub session_ttl: Duration,
    /// Challenge lifetime.
    pub challenge_ttl: Duration,
    /// QR login settings.
    pub qr: QrConfig,
    /// How `link-email` attaches an address. Default: [`EmailLinking::Verified`].
    pub email_linking: EmailLinking,
    /// Whether the public `POST /account/email-available` route answers (v0.4: yes). It
    /// tells anyone whether an address has an account; off, it answers `404`.
    /// Default: `true`.
    pub email_available_route: bool,
    /// How long security events are kept (see [`crate::audit`]). Default:
    /// [`DEFAULT_SECURITY_EVENT_RETENTION`] (90 days).
    pub security_event_retention: Duration,
}

/// How linking an email to an account (`link-email`) works.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EmailLinking {
    /// The address gets a confirmation link (sent like a magic link, so magic links must
    /// be configured); only using it attaches the address, and signs in the account
    /// that asked. Until then the address stays free: `link-email` answers the user
    /// unchanged, and a magic link for the address never signs into that account.
    #[default]
    Verified,
    /// v0.4's behaviour: the address is attached at once, without proof that the user
    /// owns it. **Risk**: a user can link someone else's address; when its owner later
    /// signs in with a magic link, they land in that user's account (pre-hijacking).
    /// Only for compatibility with apps that verify addresses themselves.
    Immediate,
}

impl AuthConfig {
    /// Checks the rp id, origins and lifetimes.
    ///
    /// # Errors
    /// The first problem found, as a [`ConfigError`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        let rp_id = &self.rp_id;
        if rp_id.is_empty()
            || rp_id.contains(['/', ':', ' ', '@'])
            || rp_id.starts_with('.')
            || rp_id.ends_with('.')
        {
            return Err(ConfigError::InvalidRpId(rp_id.clone()));
        }
        if self.origins.is_empty() {
            return Err(ConfigError::InvalidOrigin(String::new()));
        }
        for origin in &self.origins {
            let text = origin.as_str().trim_end_matches('/').to_owned();
            let host = origin.host_str().unwrap_or_default();
            if !matches!(origin.scheme(), "http" | "https")
                || host.is_empty()
                || origin.path() != "/"
                || origin.query().is_some()
                || origin.fragment().is_some()
            {
                return Err(ConfigError::InvalidOrigin(text));
            }
            if host != rp_id && !host.ends_with(&format!(".{rp_id}")) {
                return Err(ConfigError::OriginOutsideRpId {
                    origin: text,
                    rp_id: rp_id.clone(),
                });
            }
        }
        const MAX: Duration = Duration::from_secs(400 * 24 * 60 * 60);
        for (name, ttl) in [
            ("session ttl", self.session_ttl),
            ("challenge ttl", self.challenge_ttl),
        ] {
            if ttl < Duration::from_secs(1) || ttl > MAX {
                return Err(ConfigError::InvalidTtl(name));
            }
        }
        const DAY: Duration = Duration::from_secs(24 * 60 * 60);
        if self.security_event_retention < DAY
            || self.security_event_retention > MAX_SECURITY_EVENT_RETENTION
        {
            return Err(ConfigError::InvalidRetention);
        }
        self.qr.validate()?;
        Ok(())
    }
}

/// Parses an origin such as `https://example.com`.
///
/// # Errors
/// [`ConfigError::InvalidOrigin`] when it is not a URL.
pub fn parse_origin(origin: &str) -> Result<Url, ConfigError> {
    Url::parse(origin).map_err(|_| ConfigError::InvalidOrigin(origin.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(rp_id: &str, origins: &[&str]) -> AuthConfig {
        AuthConfig {
            rp_name: "Test".into(),
            rp_id: rp_id.into(),
            origins: origins.iter().map(|o| parse_origin(o).unwrap()).collect(),
            session_ttl: DEFAULT_SESSION_TTL,
            challenge_ttl: DEFAULT_CHALLENGE_TTL,
            qr: QrConfig::default(),
            email_linking: EmailLinking::default(),
            email_available_route: true,
            security_event_retention: DEFAULT_SECURITY_EVENT_RETENTION,
        }
    }

    #[test]
    fn accepts_exact_origins_within_the_rp_id() {
        assert!(
            config("example.com", &["https://example.com"])
                .validate()
                .is_ok()
        );
        assert!(
            config(
                "example.com",
                &["https://app.example.com", "https://example.com:8443"]
            )
            .validate()
            .is_ok()
        );
        assert!(
            config("localhost", &["http://localhost:8787"])
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn rejects_bad_settings() {
        assert!(matches!(
            config("example.com", &["https://evil.com"]).validate(),
            Err(ConfigError::OriginOutsideRpId { .. })
        ));
        assert!(matches!(
            config("example.com", &["https://notexample.com"]).validate(),
            Err(ConfigError::OriginOutsideRpId { .. })
        ));
        assert!(matches!(
            config("https://example.com", &["https://example.com"]).validate(),
            Err(ConfigError::InvalidRpId(_))
        ));
        assert!(matches!(
            config("example.com", &["https://example.com/app"]).validate(),
            Err(ConfigError::InvalidOrigin(_))
        ));
        assert!(matches!(
            config("example.com", &["ftp://example.com"]).validate(),
            Err(ConfigError::InvalidOrigin(_))
        ));
        let mut zero = config("example.com", &["https://example.com"]);
        zero.challenge_ttl = Duration::ZERO;
        assert_eq!(
            zero.validate(),
            Err(ConfigError::InvalidTtl("challenge ttl"))
        );
    }
}
