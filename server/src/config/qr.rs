//! QR login settings: lifetime, confirmation codes, and the long-poll re-check.

use super::ConfigError;
use std::time::Duration;

/// Default lifetime of a QR login (5 minutes, as v0.4).
pub const DEFAULT_QR_TTL: Duration = Duration::from_secs(5 * 60);
/// Default number of digits of a confirmation code.
pub const DEFAULT_CODE_LENGTH: u8 = 6;
/// Default interval of the long-poll re-check for changes made by other instances.
pub const DEFAULT_POLL_FALLBACK: Duration = Duration::from_secs(3);

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
}

impl Default for QrConfig {
    fn default() -> Self {
        QrConfig {
            ttl: DEFAULT_QR_TTL,
            confirmation: QrConfirmation::default(),
            poll_fallback: DEFAULT_POLL_FALLBACK,
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
