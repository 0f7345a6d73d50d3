//! Magic-link settings: where links point and how long they work.

use super::ConfigError;
use passkey_magic_shared::magic_link::TOKEN_PARAM;
use std::time::Duration;
use url::Url;

/// Default lifetime of a magic link (15 minutes, as v0.4).
pub const DEFAULT_MAGIC_LINK_TTL: Duration = Duration::from_secs(15 * 60);

/// Where magic links point and how long they work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MagicLinkConfig {
    /// The page that takes the token out of the link and verifies it, e.g.
    /// `https://example.com/auth/verify`. Absolute `http`/`https`; may have a query.
    pub url: String,
    /// Link lifetime. Default: [`DEFAULT_MAGIC_LINK_TTL`].
    pub ttl: Duration,
}

impl MagicLinkConfig {
    /// Links to `url`, valid for [`DEFAULT_MAGIC_LINK_TTL`].
    pub fn new(url: impl Into<String>) -> Self {
        MagicLinkConfig {
            url: url.into(),
            ttl: DEFAULT_MAGIC_LINK_TTL,
        }
    }

    /// Sets the link lifetime.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Checks the URL and lifetime.
    ///
    /// # Errors
    /// [`ConfigError::InvalidMagicLinkUrl`] when the URL is not an absolute `http`/`https`
    /// URL with a host, has control characters or surrounding spaces (a URL parser drops
    /// them, so the links built from the text would differ from the URL checked here), or
    /// already has a `token` parameter (the link's own would be shadowed);
    /// [`ConfigError::InvalidTtl`] for a lifetime under a second or over a day.
    ///
    /// ```
    /// use passkey_magic_server::config::MagicLinkConfig;
    /// assert!(MagicLinkConfig::new("https://example.com/verify?lang=fr").validate().is_ok());
    /// assert!(MagicLinkConfig::new("/verify").validate().is_err());
    /// ```
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = || ConfigError::InvalidMagicLinkUrl(self.url.clone());
        // Links are built from this text, not from the parsed URL: refuse what the parser
        // would silently remove (found by the `magic_link_url` fuzz target).
        if self.url.trim() != self.url || self.url.chars().any(|c| c.is_ascii_control()) {
            return Err(invalid());
        }
        let url = Url::parse(&self.url).map_err(|_| invalid())?;
        if !matches!(url.scheme(), "http" | "https")
            || url.host_str().is_none_or(str::is_empty)
            || url.query_pairs().any(|(name, _)| name == TOKEN_PARAM)
        {
            return Err(invalid());
        }
        const DAY: Duration = Duration::from_secs(24 * 60 * 60);
        if self.ttl < Duration::from_secs(1) || self.ttl > DAY {
            return Err(ConfigError::InvalidTtl("magic link ttl"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_urls_must_be_absolute_http_without_a_token() {
        for good in [
            "https://example.com/auth/verify",
            "http://localhost:8787/",
            "https://example.com/verify?lang=fr#top",
        ] {
            assert_eq!(MagicLinkConfig::new(good).validate(), Ok(()), "{good}");
        }
        for bad in [
            "/verify",
            "example.com/verify",
            "ftp://example.com/verify",
            "mailto:ada@example.com",
            "https://example.com/verify?token=fixed",
            "",
            // A URL parser drops these, the link built from the text would keep them.
            "http:m\u{1}",
            " https://example.com/verify",
            "https://example.com/ver\tify",
            "https://example.com/verify\n",
        ] {
            assert_eq!(
                MagicLinkConfig::new(bad).validate(),
                Err(ConfigError::InvalidMagicLinkUrl(bad.to_owned())),
                "{bad}"
            );
        }
    }

    #[test]
    fn lifetimes_are_bounded() {
        let config = MagicLinkConfig::new("https://example.com/verify");
        assert_eq!(config.ttl, DEFAULT_MAGIC_LINK_TTL);
        assert!(
            config
                .clone()
                .ttl(Duration::from_secs(60))
                .validate()
                .is_ok()
        );
        for bad in [Duration::ZERO, Duration::from_secs(2 * 24 * 60 * 60)] {
            assert_eq!(
                config.clone().ttl(bad).validate(),
                Err(ConfigError::InvalidTtl("magic link ttl"))
            );
        }
    }
}
