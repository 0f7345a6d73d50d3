//! SMTP delivery with [lettre](https://docs.rs/lettre) (feature `smtp`).
//!
//! One connection per message (no pool: magic links are rare and a pooled connection
//! would sit idle), over
//!
//! - [`SmtpSecurity::StartTls`] (default, port 587): plain TCP upgraded with `STARTTLS`,
//!   which the server must offer — nothing, credentials included, is sent in the clear;
//! - [`SmtpSecurity::Tls`] (port 465): TLS from the first byte;
//! - [`SmtpSecurity::None`] (port 25): plain TCP, for a relay on the same host or a test
//!   server. Credentials are refused with it.
//!
//! TLS is rustls with the Mozilla root certificates (webpki-roots), so no system OpenSSL
//! is needed. Connecting is bounded by the timeout, and so is the whole exchange: a server
//! that accepts the connection and then stalls cannot hold a request forever.
//!
//! The message is `multipart/alternative` with a plain-text and an HTML part
//! ([`MagicLinkEmail::text_body`], [`MagicLinkEmail::html_body`]): the app name, the
//! link and its expiry; no images, remote content or tracking.

use super::{EmailSender, MagicLinkEmail, MailError, recipient_fingerprint};
use async_trait::async_trait;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Default timeout for connecting and for the whole exchange with the server.
pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain TCP upgraded with `STARTTLS`, which is required (default; port 587).
    #[default]
    StartTls,
    /// Implicit TLS, "SMTPS" (port 465).
    Tls,
    /// No encryption (port 25): only for a relay on the same host or in tests.
    None,
}

impl SmtpSecurity {
    /// The usual port: 587, 465 or 25.
    pub const fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
            SmtpSecurity::None => 25,
        }
    }

    /// The setting's name: `starttls`, `tls` or `none`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SmtpSecurity::StartTls => "starttls",
            SmtpSecurity::Tls => "tls",
            SmtpSecurity::None => "none",
        }
    }
}

impl FromStr for SmtpSecurity {
    type Err = MailError;

    /// `starttls`, `tls` or `none` (any case).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "starttls" => Ok(SmtpSecurity::StartTls),
            "tls" => Ok(SmtpSecurity::Tls),
            "none" => Ok(SmtpSecurity::None),
            _ => Err(MailError::Config(format!(
                "unknown SMTP security {text:?} (expected starttls, tls or none)"
            ))),
        }
    }
}

/// Settings of an [`SmtpSender`]. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    /// Server host name (also the name its TLS certificate must have).
    pub host: String,
    /// Server port. Default (`None`): [`SmtpSecurity::default_port`].
    pub port: Option<u16>,
    /// Connection protection. Default: [`SmtpSecurity::StartTls`].
    pub security: SmtpSecurity,
    /// User name for `AUTH`, if the server wants one.
    pub username: Option<String>,
    /// Password for `AUTH`.
    pub password: Option<String>,
    /// Sender address: `no-reply@example.com` or `Example <no-reply@example.com>`.
    pub from: String,
    /// Bound on connecting and on the whole exchange. Default: [`DEFAULT_SMTP_TIMEOUT`].
    pub timeout: Duration,
}

impl SmtpConfig {
    /// STARTTLS to `host` on its default port, no credentials, sending as `from`.
    pub fn new(host: impl Into<String>, from: impl Into<String>) -> Self {
        SmtpConfig {
            host: host.into(),
            port: None,
            security: SmtpSecurity::default(),
            username: None,
            password: None,
            from: from.into(),
            timeout: DEFAULT_SMTP_TIMEOUT,
        }
    }

    /// The port connected to.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(self.security.default_port())
    }
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.effective_port())
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Sends magic-link emails through an SMTP server.
///
/// ```no_run
/// use passkey_magic_server::mail::{SmtpConfig, SmtpSender};
///
/// # fn main() -> Result<(), passkey_magic_server::mail::MailError> {
/// let mut config = SmtpConfig::new("smtp.example.com", "Example <no-reply@example.com>");
/// config.username = Some("no-reply@example.com".into());
/// config.password = Some(std::env::var("SMTP_PASSWORD").unwrap_or_default());
/// let sender = SmtpSender::new(&config)?;
/// // Auth::builder(...)?.email_sender(sender)
/// # Ok(()) }
/// ```
pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
    server: String,
}

impl fmt::Debug for SmtpSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSender")
            .field("server", &self.server)
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SmtpSender {
    /// A sender for these settings. Nothing is connected until the first message.
    ///
    /// # Errors
    /// [`MailError::Config`] for an empty host, an unparsable from address, a zero
    /// timeout, a password without user name (or the reverse), credentials without
    /// encryption, or TLS settings rustls refuses.
    pub fn new(config: &SmtpConfig) -> Result<Self, MailError> {
        let host = config.host.trim();
        if host.is_empty() {
            return Err(MailError::Config("SMTP host is empty".into()));
        }
        if config.timeout.is_zero() {
            return Err(MailError::Config("SMTP timeout must be above zero".into()));
        }
        let from: Mailbox = config.from.parse().map_err(|error| {
            MailError::Config(format!("invalid from address {:?}: {error}", config.from))
        })?;
        let tls = match config.security {
            SmtpSecurity::None => Tls::None,
            SmtpSecurity::StartTls => Tls::Required(tls_parameters(host)?),
            SmtpSecurity::Tls => Tls::Wrapper(tls_parameters(host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(config.effective_port())
            .tls(tls)
            .timeout(Some(config.timeout));
        match (&config.username, &config.password) {
            (None, None) => {}
            (Some(username), Some(password)) => {
                if config.security == SmtpSecurity::None {
                    return Err(MailError::Config(
                        "SMTP credentials need security starttls or tls".into(),
                    ));
                }
                builder = builder.credentials(Credentials::new(username.clone(), password.clone()));
            }
            _ => {
                return Err(MailError::Config(
                    "SMTP username and password go together".into(),
                ));
            }
        }
        Ok(SmtpSender {
            transport: builder.build(),
            from,
            timeout: config.timeout,
            server: format!(
                "{host}:{} ({})",
                config.effective_port(),
                config.security.as_str()
            ),
        })
    }

    /// The email as it goes on the wire (headers and both parts).
    ///
    /// # Errors
    /// [`MailError::InvalidRecipient`] when the address cannot be put in a `To` header.
    fn compose(&self, message: &MagicLinkEmail) -> Result<Message, MailError> {
        let to: Mailbox = message.to().parse().map_err(|error| {
            MailError::InvalidRecipient(format!("{}: {error}", recipient_fingerprint(message.to())))
        })?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(message.subject())
            .multipart(MultiPart::alternative_plain_html(
                message.text_body(),
                message.html_body(),
            ))
            .map_err(|error| MailError::Failed(format!("cannot build the email: {error}")))
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, MailError> {
    TlsParameters::new(host.to_owned())
        .map_err(|error| MailError::Config(format!("TLS settings refused: {error}")))
}

/// Removes the recipient's address from a server reply before it reaches a log.
fn scrub(text: &str, address: &str) -> String {
    let mut scrubbed = text.replace(address, "<recipient>");
    let lower = address.to_lowercase();
    if lower != address {
        scrubbed = scrubbed.replace(&lower, "<recipient>");
    }
    scrubbed
}

#[async_trait]
impl EmailSender for SmtpSender {
    async fn send_magic_link(&self, message: &MagicLinkEmail) -> Result<(), MailError> {
        let email = self.compose(message)?;
        let recipient = recipient_fingerprint(message.to());
        match tokio::time::timeout(self.timeout, self.transport.send(email)).await {
            Ok(Ok(_response)) => {
                tracing::info!(%recipient, server = %self.server, "magic link sent");
                Ok(())
            }
            Ok(Err(error)) => {
                let detail = format!(
                    "{}: {}",
                    self.server,
                    scrub(&error.to_string(), message.to())
                );
                Err(if error.is_timeout() {
                    MailError::Timeout(self.timeout)
                } else if error.is_permanent() || error.is_transient() {
                    MailError::Rejected(detail)
                } else {
                    MailError::Unreachable(detail)
                })
            }
            Err(_elapsed) => Err(MailError::Timeout(self.timeout)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::BearerToken;
    use passkey_magic_shared::Timestamp;

    fn config(security: SmtpSecurity) -> SmtpConfig {
        SmtpConfig {
            security,
            ..SmtpConfig::new("smtp.example.com", "Example <no-reply@example.com>")
        }
    }

    #[test]
    fn security_names_and_ports() {
        for (name, security, port) in [
            ("starttls", SmtpSecurity::StartTls, 587),
            ("TLS", SmtpSecurity::Tls, 465),
            ("none", SmtpSecurity::None, 25),
        ] {
            assert_eq!(name.parse::<SmtpSecurity>().unwrap(), security);
            assert_eq!(config(security).effective_port(), port);
        }
        assert!("ssl".parse::<SmtpSecurity>().is_err());
        let mut custom = config(SmtpSecurity::Tls);
        custom.port = Some(2465);
        assert_eq!(custom.effective_port(), 2465);
    }

    #[test]
    fn bad_settings_are_refused() {
        for security in [
            SmtpSecurity::StartTls,
            SmtpSecurity::Tls,
            SmtpSecurity::None,
        ] {
            assert!(SmtpSender::new(&config(security)).is_ok(), "{security:?}");
        }
        let mut bad_from = config(SmtpSecurity::StartTls);
        bad_from.from = "not an address".into();
        let mut no_host = config(SmtpSecurity::StartTls);
        no_host.host = " ".into();
        let mut clear_text_password = config(SmtpSecurity::None);
        clear_text_password.username = Some("user".into());
        clear_text_password.password = Some("secret".into());
        let mut half_credentials = config(SmtpSecurity::Tls);
        half_credentials.username = Some("user".into());
        let mut zero_timeout = config(SmtpSecurity::Tls);
        zero_timeout.timeout = Duration::ZERO;
        for bad in [
            bad_from,
            no_host,
            clear_text_password,
            half_credentials,
            zero_timeout,
        ] {
            assert!(
                matches!(SmtpSender::new(&bad), Err(MailError::Config(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let mut with_password = config(SmtpSecurity::Tls);
        with_password.username = Some("user".into());
        with_password.password = Some("hunter2".into());
        assert!(!format!("{with_password:?}").contains("hunter2"));
    }

    #[test]
    fn the_message_has_a_text_and_an_html_part() {
        let sender = SmtpSender::new(&config(SmtpSecurity::StartTls)).unwrap();
        let message = MagicLinkEmail::new(
            "ada@example.com",
            "https://example.com/verify?token=abc",
            BearerToken::new("abc"),
            "Example",
            Timestamp::from_unix_millis(900_000),
            Duration::from_secs(900),
        );
        let wire = String::from_utf8(sender.compose(&message).unwrap().formatted()).unwrap();
        assert!(wire.contains("Subject: Sign in to Example"), "{wire}");
        assert!(wire.contains("To: ada@example.com"), "{wire}");
        assert!(wire.contains("multipart/alternative"), "{wire}");
        assert!(wire.contains("text/plain"), "{wire}");
        assert!(wire.contains("text/html"), "{wire}");
    }

    #[test]
    fn unusable_recipients_are_refused_before_connecting() {
        let sender = SmtpSender::new(&config(SmtpSecurity::StartTls)).unwrap();
        let message = MagicLinkEmail::new(
            "not an address",
            "https://example.com/verify?token=abc",
            BearerToken::new("abc"),
            "Example",
            Timestamp::from_unix_millis(900_000),
            Duration::from_secs(900),
        );
        assert!(matches!(
            sender.compose(&message),
            Err(MailError::InvalidRecipient(_))
        ));
    }

    #[test]
    fn replies_lose_the_recipient_address() {
        assert_eq!(
            scrub(
                "550 5.1.1 <Ada@Example.com>: no such user ada@example.com",
                "Ada@Example.com"
            ),
            "550 5.1.1 <<recipient>>: no such user <recipient>"
        );
    }
}
