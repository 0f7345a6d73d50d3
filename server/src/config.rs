//! Configuration of an [`Auth`](crate::Auth) handle, validated once by its builder.

use std::time::Duration;
use url::Url;

/// Default lifetime of a session (7 days, as v0.4).
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);
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
    pub qr: crate::qr::QrConfig,
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

/// Milliseconds of a duration, saturating, for timestamp arithmetic.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
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
            qr: crate::qr::QrConfig::default(),
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
