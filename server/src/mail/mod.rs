//! Email delivery of magic links: the [`EmailSender`] trait, the message it sends
//! ([`MagicLinkEmail`]) and its error ([`MailError`]).
//!
//! Two senders come with the crate:
//!
//! - [`DevOutbox`] (always built, the binary's default when no SMTP server is configured):
//!   keeps recent messages in memory for the demo and tests, optionally appends each one
//!   as a JSON line to a file, and logs that a link was sent.
//! - `SmtpSender` (feature `smtp`): sends a plain-text + HTML email through an SMTP server
//!   with [lettre](https://docs.rs/lettre), over STARTTLS, implicit TLS or (for local
//!   relays) plain TCP, with connect and overall timeouts.
//!
//! Apps with another delivery service (an HTTP API, a queue) implement [`EmailSender`]
//! themselves; [`MagicLinkEmail::text_body`] and [`MagicLinkEmail::html_body`] give them
//! the same wording.
//!
//! ## Secrets
//!
//! A message carries a bearer secret: its link. `Debug` of [`MagicLinkEmail`] never shows
//! the link, the token or the recipient; senders must not log them either (log
//! [`recipient_fingerprint`] instead). A sender that fails returns a [`MailError`]; the
//! engine then deletes the link it stored, so an undelivered link is never usable, and
//! the caller gets `503 Could not send the magic link email`. Senders must bound their
//! own running time (the SMTP sender has a timeout): the engine waits for them.

mod outbox;
#[cfg(feature = "smtp")]
mod smtp;

pub use outbox::{DEFAULT_OUTBOX_CAPACITY, DevOutbox, OutboxMessage};
#[cfg(feature = "smtp")]
pub use smtp::{DEFAULT_SMTP_TIMEOUT, SmtpConfig, SmtpSecurity, SmtpSender};

use crate::secrets::BearerToken;
use async_trait::async_trait;
use passkey_magic_shared::{Timestamp, email};
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Why an email could not be sent. Details are for logs (they never name the token and
/// have the recipient's address removed); the client only learns that sending failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The sender's settings are unusable (bad from address, bad host name, ...).
    #[error("mail configuration invalid: {0}")]
    Config(String),
    /// The recipient address cannot be used in an email.
    #[error("recipient address refused: {0}")]
    InvalidRecipient(String),
    /// The mail server could not be reached (connection refused, TLS failure, ...).
    #[error("mail server unreachable: {0}")]
    Unreachable(String),
    /// The mail server did not answer in time.
    #[error("mail server timed out after {0:?}")]
    Timeout(Duration),
    /// The mail server answered with an error (recipient or message refused).
    #[error("mail server refused the message: {0}")]
    Rejected(String),
    /// Anything else (for example, the outbox file cannot be written).
    #[error("mail delivery failed: {0}")]
    Failed(String),
}

/// Delivers magic-link emails. Implementations must be safe to share between tasks and
/// must not log the link, the token or the raw recipient address.
///
/// ```
/// use passkey_magic_server::mail::{EmailSender, MagicLinkEmail, MailError};
///
/// /// Hands messages to the app's own delivery service.
/// struct MyMailer;
///
/// #[async_trait::async_trait]
/// impl EmailSender for MyMailer {
///     async fn send_magic_link(&self, message: &MagicLinkEmail) -> Result<(), MailError> {
///         let (_to, _subject, _text) = (message.to(), message.subject(), message.text_body());
///         // ... call the delivery API; map its failure to `MailError` ...
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait EmailSender: Send + Sync + 'static {
    /// Sends one magic-link email; returns once the message is accepted for delivery.
    ///
    /// # Errors
    /// [`MailError`] when it was not accepted. The engine then makes the link unusable.
    async fn send_magic_link(&self, message: &MagicLinkEmail) -> Result<(), MailError>;
}

#[async_trait]
impl<S: EmailSender + ?Sized> EmailSender for Arc<S> {
    async fn send_magic_link(&self, message: &MagicLinkEmail) -> Result<(), MailError> {
        (**self).send_magic_link(message).await
    }
}

/// What a [`MagicLinkEmail`] asks the recipient to do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum MailPurpose {
    /// Sign in (a magic link).
    #[default]
    SignIn,
    /// Confirm adding this address to an account (verified email linking); using the
    /// link also signs in to that account.
    ConfirmEmail,
}

/// One magic-link email: who gets it, the link, and what to say about it.
///
/// `Debug` shows neither the recipient, the link nor the token.
#[derive(Clone)]
pub struct MagicLinkEmail {
    purpose: MailPurpose,
    to: String,
    url: String,
    token: BearerToken,
    app_name: String,
    expires_at: Timestamp,
    valid_for: Duration,
}

impl MagicLinkEmail {
    /// A message for `to` carrying `url` (which contains `token`), from `app_name`, valid
    /// for `valid_for` until `expires_at`.
    pub fn new(
        to: impl Into<String>,
        url: impl Into<String>,
        token: BearerToken,
        app_name: impl Into<String>,
        expires_at: Timestamp,
        valid_for: Duration,
    ) -> Self {
        MagicLinkEmail {
            purpose: MailPurpose::SignIn,
            to: to.into(),
            url: url.into(),
            token,
            app_name: app_name.into(),
            expires_at,
            valid_for,
        }
    }

    /// The same message for another purpose (the wording changes, not the link).
    pub fn with_purpose(mut self, purpose: MailPurpose) -> Self {
        self.purpose = purpose;
        self
    }

    /// What the message asks the recipient to do.
    pub fn purpose(&self) -> MailPurpose {
        self.purpose
    }

    /// The recipient, as the user typed it.
    pub fn to(&self) -> &str {
        &self.to
    }

    /// The sign-in link (`<magic link URL>?token=…`). A bearer secret: never log it.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The link's token. A bearer secret: never log it.
    pub fn token(&self) -> &BearerToken {
        &self.token
    }

    /// The app's name (the relying party's name).
    pub fn app_name(&self) -> &str {
        &self.app_name
    }

    /// When the link stops working.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }

    /// How long the link works from the moment it is sent.
    pub fn valid_for(&self) -> Duration {
        self.valid_for
    }

    /// `Sign in to <app name>`, or `Confirm your email for <app name>`.
    pub fn subject(&self) -> String {
        match self.purpose {
            MailPurpose::SignIn => format!("Sign in to {}", self.app_name),
            MailPurpose::ConfirmEmail => format!("Confirm your email for {}", self.app_name),
        }
    }

    /// The plain-text body: the link on a line of its own, its lifetime, and what to do
    /// if the recipient did not ask for it.
    pub fn text_body(&self) -> String {
        if self.purpose == MailPurpose::ConfirmEmail {
            return format!(
                "Confirm your email for {app}\r\n\
                 \r\n\
                 Someone signed in to {app} asked to add this address to their account.\r\n\
                 If that was you, open this link to confirm it (it also signs you in):\r\n\
                 \r\n\
                 {url}\r\n\
                 \r\n\
                 The link works once and expires in {lifetime} (at {expires_at}).\r\n\
                 \r\n\
                 If you did not ask for this, ignore this email and do not open the\r\n\
                 link: the address is not added without it.\r\n",
                app = self.app_name,
                url = self.url,
                lifetime = human_duration(self.valid_for),
                expires_at = self.expires_at,
            );
        }
        format!(
            "Sign in to {app}\r\n\
             \r\n\
             Open this link to sign in:\r\n\
             \r\n\
             {url}\r\n\
             \r\n\
             The link works once and expires in {lifetime} (at {expires_at}).\r\n\
             \r\n\
             If you did not ask to sign in, ignore this email: nobody can sign in\r\n\
             without the link.\r\n",
            app = self.app_name,
            url = self.url,
            lifetime = human_duration(self.valid_for),
            expires_at = self.expires_at,
        )
    }

    /// The HTML body: the same text with the link as a link. No images, styles from
    /// elsewhere, or tracking of any kind; the only URL is the sign-in link.
    pub fn html_body(&self) -> String {
        let app = escape_html(&self.app_name);
        let url = escape_html(&self.url);
        if self.purpose == MailPurpose::ConfirmEmail {
            return format!(
                "<!DOCTYPE html>\r\n\
                 <html>\r\n\
                 <head><meta charset=\"utf-8\"><title>Confirm your email for {app}</title></head>\r\n\
                 <body style=\"font-family: sans-serif; line-height: 1.5\">\r\n\
                 <h1 style=\"font-size: 1.25em\">Confirm your email for {app}</h1>\r\n\
                 <p>Someone signed in to {app} asked to add this address to their account.\r\n\
                 If that was you, confirm it (this also signs you in):</p>\r\n\
                 <p><a href=\"{url}\">Confirm this address</a></p>\r\n\
                 <p>The link works once and expires in {lifetime} (at {expires_at}).</p>\r\n\
                 <p>If the link does not open, copy this address into your browser:<br>\r\n\
                 <code style=\"word-break: break-all\">{url}</code></p>\r\n\
                 <p>If you did not ask for this, ignore this email and do not open the link:\r\n\
                 the address is not added without it.</p>\r\n\
                 </body>\r\n\
                 </html>\r\n",
                lifetime = human_duration(self.valid_for),
                expires_at = self.expires_at,
            );
        }
        format!(
            "<!DOCTYPE html>\r\n\
             <html>\r\n\
             <head><meta charset=\"utf-8\"><title>Sign in to {app}</title></head>\r\n\
             <body style=\"font-family: sans-serif; line-height: 1.5\">\r\n\
             <h1 style=\"font-size: 1.25em\">Sign in to {app}</h1>\r\n\
             <p><a href=\"{url}\">Sign in to {app}</a></p>\r\n\
             <p>The link works once and expires in {lifetime} (at {expires_at}).</p>\r\n\
             <p>If the link does not open, copy this address into your browser:<br>\r\n\
             <code style=\"word-break: break-all\">{url}</code></p>\r\n\
             <p>If you did not ask to sign in, ignore this email: nobody can sign in\r\n\
             without the link.</p>\r\n\
             </body>\r\n\
             </html>\r\n",
            lifetime = human_duration(self.valid_for),
            expires_at = self.expires_at,
        )
    }
}

impl fmt::Debug for MagicLinkEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MagicLinkEmail")
            .field("to", &recipient_fingerprint(&self.to))
            .field("url", &"<redacted>")
            .field("app_name", &self.app_name)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// A stable, non-reversible name for a recipient, for logs: `rcpt:` and the first 48
/// bits of the SHA-256 of the canonical address. Lets one follow an address through the
/// logs without writing the address down.
///
/// ```
/// use passkey_magic_server::mail::recipient_fingerprint;
/// let fingerprint = recipient_fingerprint("Ada@Example.com");
/// assert_eq!(fingerprint, recipient_fingerprint("ada@example.com"));
/// assert!(fingerprint.starts_with("rcpt:") && !fingerprint.contains("ada"));
/// ```
pub fn recipient_fingerprint(address: &str) -> String {
    let digest = Sha256::digest(email::canonical(address).as_bytes());
    let hex: String = digest[..6]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("rcpt:{hex}")
}

/// `15 minutes`, `1 hour`, `90 seconds`: a lifetime as people say it.
pub(crate) fn human_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    let (count, unit) = if seconds >= 3600 && seconds.is_multiple_of(3600) {
        (seconds / 3600, "hour")
    } else if seconds >= 60 && seconds.is_multiple_of(60) {
        (seconds / 60, "minute")
    } else {
        (seconds, "second")
    };
    if count == 1 {
        format!("1 {unit}")
    } else {
        format!("{count} {unit}s")
    }
}

/// Escapes text for HTML element content and quoted attribute values.
fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// Magic-link settings and sender of an engine where magic links are on.
pub(crate) struct MagicLinkSetup {
    pub(crate) config: crate::config::MagicLinkConfig,
    pub(crate) sender: Arc<dyn EmailSender>,
}

impl std::fmt::Debug for MagicLinkSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MagicLinkSetup")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl MagicLinkSetup {
    /// Validates the builder's settings; magic links are on only with both a config and
    /// a sender.
    pub(crate) fn from_builder(
        config: Option<crate::config::MagicLinkConfig>,
        sender: Option<Arc<dyn EmailSender>>,
    ) -> Result<Option<Self>, crate::config::ConfigError> {
        if let Some(config) = &config {
            config.validate()?;
        }
        Ok(match (config, sender) {
            (Some(config), Some(sender)) => Some(MagicLinkSetup { config, sender }),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(app_name: &str, url: &str) -> MagicLinkEmail {
        MagicLinkEmail::new(
            "Ada@Example.com",
            url,
            BearerToken::new("tok3n"),
            app_name,
            Timestamp::from_unix_millis(1_795_988_498_000 + 15 * 60_000),
            Duration::from_secs(15 * 60),
        )
    }

    #[test]
    fn bodies_carry_the_app_name_the_link_and_its_expiry() {
        let message = message("Example", "https://example.com/verify?token=tok3n");
        assert_eq!(message.subject(), "Sign in to Example");
        for body in [message.text_body(), message.html_body()] {
            assert!(body.contains("Example"), "{body}");
            assert!(
                body.contains("https://example.com/verify?token=tok3n"),
                "{body}"
            );
            assert!(body.contains("expires in 15 minutes"), "{body}");
            assert!(body.contains("2026-11-29T21:56:38.000Z"), "{body}");
        }
        let html = message.html_body();
        assert!(html.contains("<a href=\"https://example.com/verify?token=tok3n\">"));
    }

    #[test]
    fn html_has_no_tracking_and_escapes_text() {
        let message = message(
            "<b>Ben & Jerry's</b>",
            "https://example.com/v?a=1&token=x\"y",
        );
        let html = message.html_body();
        assert!(
            html.contains("&lt;b&gt;Ben &amp; Jerry&#39;s&lt;/b&gt;"),
            "{html}"
        );
        assert!(html.contains("href=\"https://example.com/v?a=1&amp;token=x&quot;y\""));
        assert!(!html.contains("<b>"));
        for tracker in ["<img", "<script", "<link", "<iframe", "url(", "@import"] {
            assert!(
                !html.to_lowercase().contains(tracker),
                "{tracker} in {html}"
            );
        }
        // The sign-in link is the only URL.
        assert_eq!(html.matches("https://").count(), 2, "{html}");
    }

    #[test]
    fn debug_hides_the_link_token_and_recipient() {
        let message = message("Example", "https://example.com/verify?token=tok3n");
        let debug = format!("{message:?}");
        assert!(!debug.contains("tok3n"), "{debug}");
        assert!(!debug.to_lowercase().contains("ada"), "{debug}");
        assert!(debug.contains("rcpt:"), "{debug}");
    }

    #[test]
    fn confirmation_emails_say_what_the_link_does() {
        let message = message("Example", "https://example.com/verify?token=tok3n")
            .with_purpose(MailPurpose::ConfirmEmail);
        assert_eq!(message.subject(), "Confirm your email for Example");
        for body in [message.text_body(), message.html_body()] {
            assert!(body.contains("add this address to their account"), "{body}");
            assert!(
                body.contains("https://example.com/verify?token=tok3n"),
                "{body}"
            );
            assert!(body.contains("If you did not ask for this"), "{body}");
        }
    }

    #[test]
    fn lifetimes_read_naturally() {
        assert_eq!(human_duration(Duration::from_secs(900)), "15 minutes");
        assert_eq!(human_duration(Duration::from_secs(60)), "1 minute");
        assert_eq!(human_duration(Duration::from_secs(7200)), "2 hours");
        assert_eq!(human_duration(Duration::from_secs(90)), "90 seconds");
        assert_eq!(human_duration(Duration::from_secs(1)), "1 second");
    }

    #[test]
    fn magic_links_need_a_url_and_a_sender() {
        let config = || {
            Some(crate::config::MagicLinkConfig::new(
                "https://example.com/verify",
            ))
        };
        let sender = || Some(Arc::new(crate::mail::DevOutbox::new()) as Arc<dyn EmailSender>);
        assert!(matches!(
            MagicLinkSetup::from_builder(config(), sender()),
            Ok(Some(_))
        ));
        assert!(matches!(
            MagicLinkSetup::from_builder(config(), None),
            Ok(None)
        ));
        assert!(matches!(
            MagicLinkSetup::from_builder(None, sender()),
            Ok(None)
        ));
        assert!(
            MagicLinkSetup::from_builder(Some(crate::config::MagicLinkConfig::new("/v")), sender())
                .is_err()
        );
    }
}
