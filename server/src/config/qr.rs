//! QR login settings: lifetime, confirmation codes, and the long-poll re-check.

use super::ConfigError;
use std::time::Duration;

/// Default lifetime of a QR login (5 minutes, as v0.4).
pub const DEFAULT_QR_TTL: Duration = Duration::from_secs(5 * 60);
/// Default number of digits of a confirmation code.
pub const DEFAULT_CODE_LENGTH: u8 = 6;
/// Default interval of the long-poll re-check for changes made by other instances.
pub const DEFAULT_POLL_FALLBACK: Duration = Duration::from_secs(3);

/// Default cap on long-polls held at once on one QR login.
pub const DEFAULT_MAX_WAITERS_PER_LOGIN: usize = 4;
/// Default cap on QR long-polls held at once in this process.
pub const DEFAULT_MAX_WAITERS: usize = 16_384;

/// Whether a QR login asks the phone for the digits shown on the desktop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrConfirmation {
    /// Ask for a code. Default: `false`.
    pub enabled: bool,
    /// Digits, 4 to 8. Default: 6.
    pub code_length: u8,
}

impl Default for QrConfirmation {
    fn default() -> Self {
        QrConfirmation {
            enabled: false,
            code_length: DEFAULT_CODE_LENGTH,
        }
    }
}

/// QR login settings (part of [`crate::config::AuthConfig`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QrConfig {
    /// Lifetime of a QR login. Default: 5 minutes.
    pub ttl: Duration,
    /// Confirmation codes. Default: off.
    pub confirmation: QrConfirmation,
    /// How often long-polls re-check the store for changes made by other instances
    /// (changes in this process wake them at once). Default: 3 seconds.
    pub poll_fallback: Duration,
    /// Most long-polls held at once on one QR login (a desktop needs one); more are
    /// answered at once. Default: 4.
    pub max_waiters_per_login: usize,
    /// Most QR long-polls held at once in this process; more are answered at once.
    /// Default: 16 384.
    pub max_waiters: usize,
}

impl Default for QrConfig {
    fn default() -> Self {
        QrConfig {
            ttl: DEFAULT_QR_TTL,
            confirmation: QrConfirmation::default(),
            poll_fallback: DEFAULT_POLL_FALLBACK,
            max_waiters_per_login: DEFAULT_MAX_WAITERS_PER_LOGIN,
            max_waiters: DEFAULT_MAX_WAITERS,
        }
    }
}

impl QrConfig {
    /// Checks the TTL, the code length and the re-check interval.
    ///
    /// # Errors
    /// [`ConfigError::InvalidTtl`] or [`ConfigError::InvalidQrSetting`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.ttl < Duration::from_secs(1) || self.ttl > Duration::from_secs(24 * 60 * 60) {
            return Err(ConfigError::InvalidTtl("qr ttl"));
        }
        if !(4..=8).contains(&self.confirmation.code_length) {
            return Err(ConfigError::InvalidQrSetting(
                "confirmation code length must be 4 to 8 digits",
            ));
        }
        if self.poll_fallback < Duration::from_millis(100)
            || self.poll_fallback > Duration::from_secs(60)
        {
            return Err(ConfigError::InvalidQrSetting(
                "poll fallback must be between 100 ms and 60 s",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked() {
        assert!(QrConfig::default().validate().is_ok());
        let short = QrConfig {
            confirmation: QrConfirmation {
                enabled: true,
                code_length: 3,
            },
            ..QrConfig::default()
        };
        assert!(matches!(
            short.validate(),
            Err(ConfigError::InvalidQrSetting(_))
        ));
        let forever = QrConfig {
            ttl: Duration::from_secs(2 * 24 * 60 * 60),
            ..QrConfig::default()
        };
        assert_eq!(forever.validate(), Err(ConfigError::InvalidTtl("qr ttl")));
    }
}
