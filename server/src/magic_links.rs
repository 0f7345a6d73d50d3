//! Magic links: the passwordless fallback. A user asks for a link by email
//! ([`MagicLinks::request`]), opens it, and the page posts its token back
//! ([`MagicLinks::verify`]), which signs them in.
//!
//! ## Enabling
//!
//! Magic links are on when the builder has both a link URL
//! ([`AuthBuilder::magic_links`](crate::AuthBuilder::magic_links)) and an email sender
//! ([`AuthBuilder::email_sender`](crate::AuthBuilder::email_sender)); otherwise both routes
//! answer `400 Magic link not configured`. The URL must be an absolute `http`/`https` URL
//! (checked when the engine is built); the link is that URL with `token=<token>` added to
//! its query, keeping any query and fragment it already has
//! ([`passkey_magic_shared::magic_link::build_url`]).
//!
//! ## Invariants
//!
//! - **Tokens are bearer secrets**: 256 bits from the OS CSPRNG, stored only as their
//!   SHA-256 hash, never logged. The email is the only place the token exists.
//! - **Single use**: verifying *takes* the link from the store atomically
//!   ([`Store::take_magic_link`](crate::store::Store::take_magic_link)), so of any number
//!   of racing verifications exactly one signs in; the others, and any later reuse, get
//!   `400 Invalid or expired magic link`.
//! - **Expiry**: links work for [`DEFAULT_MAGIC_LINK_TTL`] (15 minutes) unless configured
//!   otherwise; an expired link is refused like an unknown one.
//! - **Undelivered links are dead**: when the sender fails, the stored link is deleted
//!   before the caller gets `503 Could not send the magic link email`.
//! - **Identity**: verification signs in the user who has the link's email (compared
//!   case-insensitively), or creates a user with that email when nobody has it
//!   (`isNewUser: true`). Users are never merged: a link for an email another user owns
//!   signs in *that* user. If two first-time verifications for one email race, the store's
//!   unique email decides, and the loser signs in the winner's user (`isNewUser: false`).
//! - **No account probing**: sending answers `{sent: true}` whether or not the email has
//!   an account.
//!
//! ## Hooks and events
//!
//! Sending runs [`Hooks::before_magic_link`](crate::hooks::Hooks::before_magic_link) (a veto
//! sends nothing and stores nothing), then emits [`Event::MagicLinkSent`] and calls
//! [`Hooks::after_magic_link`](crate::hooks::Hooks::after_magic_link). Verifying runs
//! [`Hooks::before_register`](crate::hooks::Hooks::before_register) when it would create a
//! user (so an app that closes sign-ups closes them for magic links too), then
//! [`Hooks::before_authenticate`](crate::hooks::Hooks::before_authenticate) with method
//! `magic-link`; either may veto (the link is used up, nothing else changes). Then it
//! emits `user:created` (new users) and `session:created`, and calls
//! [`Hooks::after_authenticate`](crate::hooks::Hooks::after_authenticate).
//!
//! Rate limits are an HTTP concern: route 7 counts `magicLink.send` per client address
//! *and* email, route 8 counts `magicLink.verify` per address.

use crate::accounts::INVALID_EMAIL;
use crate::auth::{Auth, MetadataType};
use crate::config::{ConfigError, millis};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::hooks::{MagicLinkAttempt, RegisterAttempt, SignInAttempt};
use crate::mail::{EmailSender, MagicLinkEmail, MailError, recipient_fingerprint};
use crate::secrets::{SecretToken, TokenHash, random_user_handle};
use crate::sessions::ClientInfo;
use crate::store::{MagicLinkRecord, StoreError, UserRecord};
use crate::views;
use passkey_magic_shared::error::messages::MAGIC_LINK_NOT_CONFIGURED;
use passkey_magic_shared::limits::MAX_TOKEN_LEN;
use passkey_magic_shared::magic_link::{TOKEN_PARAM, build_url};
use passkey_magic_shared::magic_links::{SendMagicLinkResponse, VerifyMagicLinkResponse};
use passkey_magic_shared::{AuthMethod, RequestError, email};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Default lifetime of a magic link (15 minutes, as v0.4).
pub const DEFAULT_MAGIC_LINK_TTL: Duration = Duration::from_secs(15 * 60);
/// A token that is unknown, used, or expired.
pub const INVALID_MAGIC_LINK: &str = "Invalid or expired magic link";
/// The email sender failed; the link was discarded.
pub const SEND_FAILED: &str = "Could not send the magic link email";

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
    /// URL with a host, or already has a `token` parameter (the link's own would be
    /// shadowed); [`ConfigError::InvalidTtl`] for a lifetime under a second or over a day.
    ///
    /// ```
    /// use passkey_magic_server::magic_links::MagicLinkConfig;
    /// assert!(MagicLinkConfig::new("https://example.com/verify?lang=fr").validate().is_ok());
    /// assert!(MagicLinkConfig::new("/verify").validate().is_err());
    /// ```
    pub fn validate(&self) -> std::result::Result<(), ConfigError> {
        let invalid = || ConfigError::InvalidMagicLinkUrl(self.url.clone());
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

/// Magic-link settings and sender of an engine where magic links are on.
pub(crate) struct MagicLinkSetup {
    config: MagicLinkConfig,
    sender: Arc<dyn EmailSender>,
}

impl fmt::Debug for MagicLinkSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MagicLinkSetup")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl MagicLinkSetup {
    /// Validates the builder's settings; magic links are on only with both a config and
    /// a sender.
    pub(crate) fn from_builder(
        config: Option<MagicLinkConfig>,
        sender: Option<Arc<dyn EmailSender>>,
    ) -> std::result::Result<Option<Self>, ConfigError> {
        if let Some(config) = &config {
            config.validate()?;
        }
        Ok(match (config, sender) {
            (Some(config), Some(sender)) => Some(MagicLinkSetup { config, sender }),
            _ => None,
        })
    }
}

/// Magic-link operations: `auth.magic_links()`.
#[derive(Debug)]
pub struct MagicLinks<'a, U, C> {
    auth: &'a Auth<U, C>,
}

impl<U: MetadataType, C: MetadataType> Auth<U, C> {
    /// Magic-link operations.
    pub fn magic_links(&self) -> MagicLinks<'_, U, C> {
        MagicLinks { auth: self }
    }
}

impl<U: MetadataType, C: MetadataType> MagicLinks<'_, U, C> {
    /// Whether magic links are configured (a URL and a sender).
    pub fn is_enabled(&self) -> bool {
        self.auth.inner.magic_links.is_some()
    }

    /// The link settings, when magic links are on.
    pub fn config(&self) -> Option<&MagicLinkConfig> {
        self.auth
            .inner
            .magic_links
            .as_ref()
            .map(|setup| &setup.config)
    }

    fn setup(&self) -> Result<&MagicLinkSetup> {
        self.auth
            .inner
            .magic_links
            .as_ref()
            .ok_or_else(|| Error::InvalidRequest(MAGIC_LINK_NOT_CONFIGURED.to_owned()))
    }

    /// Sends a sign-in link to `address`. The answer is the same whether or not the
    /// address has an account.
    ///
    /// # Errors
    /// `400` when magic links are not configured, the email is invalid, or
    /// `before_magic_link` vetoes; [`Error::Mail`] (`503`) when the email could not be
    /// sent (the link is discarded first); storage failures.
    pub async fn request(&self, address: &str) -> Result<SendMagicLinkResponse> {
        let setup = self.setup()?;
        if !email::is_valid(address) {
            return Err(Error::InvalidRequest(INVALID_EMAIL.into()));
        }
        let hooks = &self.auth.inner.hooks;
        let attempt = MagicLinkAttempt { email: address };
        hooks.before_magic_link(&attempt).await?;

        let token = SecretToken::generate()?;
        let now = self.auth.now();
        let ttl = setup.config.ttl;
        let record = MagicLinkRecord {
            token_hash: token.hash(),
            email: address.to_owned(),
            created_at: now,
            expires_at: now.plus_millis(millis(ttl)),
        };
        self.auth.inner.store.put_magic_link(&record).await?;
        let message = MagicLinkEmail::new(
            address,
            build_url(&setup.config.url, token.expose()),
            token,
            self.auth.inner.config.rp_name.clone(),
            record.expires_at,
            ttl,
        );
        if let Err(error) = setup.sender.send_magic_link(&message).await {
            self.discard(&record.token_hash).await;
            tracing::warn!(
                recipient = %recipient_fingerprint(address),
                %error,
                "magic link email not sent; link discarded"
            );
            return Err(match error {
                MailError::InvalidRecipient(_) => Error::InvalidRequest(INVALID_EMAIL.into()),
                other => Error::Mail(other),
            });
        }
        self.auth.emit(Event::MagicLinkSent {
            email: address.to_owned(),
        });
        hooks.after_magic_link(&attempt).await;
        Ok(SendMagicLinkResponse { sent: true })
    }

    /// Makes an undelivered link unusable. If even that fails, nobody holds its token (it
    /// was never delivered) and it expires with its TTL.
    async fn discard(&self, token_hash: &TokenHash) {
        if let Err(error) = self.auth.inner.store.delete_magic_link(token_hash).await {
            tracing::error!(%error, "could not delete an undelivered magic link");
        }
    }

    /// Uses a link's token: signs in the user with the link's email, creating one when
    /// nobody has it. The token is used up by the first call, successful or not.
    ///
    /// # Errors
    /// `400` when magic links are not configured, the token is empty or longer than any
    /// token (`Invalid field: token`), unknown, used or expired
    /// ([`INVALID_MAGIC_LINK`]), or a hook vetoes; storage failures.
    pub async fn verify(
        &self,
        token: &str,
        client: &ClientInfo,
    ) -> Result<VerifyMagicLinkResponse<U>> {
        self.setup()?;
        if token.is_empty() {
            return Err(RequestError::MissingField("token").into());
        }
        if token.chars().count() > MAX_TOKEN_LEN {
            return Err(RequestError::InvalidField("token").into());
        }
        let hash = SecretToken::from_client(token).hash();
        let link = self
            .auth
            .inner
            .store
            .take_magic_link(&hash, self.auth.now())
            .await?
            .ok_or_else(|| Error::InvalidRequest(INVALID_MAGIC_LINK.into()))?;
        let (user, is_new_user) = self.user_for(&link.email).await?;
        let plain = views::plain_user(&user);
        let session = self
            .auth
            .sessions()
            .create(&user.id, AuthMethod::MagicLink, client, None)
            .await?;
        self.auth
            .inner
            .hooks
            .after_authenticate(&plain, &session)
            .await;
        Ok(VerifyMagicLinkResponse {
            method: AuthMethod::MagicLink,
            user: views::user(&user)?,
            session,
            is_new_user,
        })
    }

    /// The user a link for `address` signs in, created if needed, with the sign-in hooks
    /// passed: `(user, is_new_user)`.
    async fn user_for(&self, address: &str) -> Result<(UserRecord, bool)> {
        let store = &self.auth.inner.store;
        if let Some(owner) = store.user_by_email(address).await? {
            self.allow_sign_in(&owner).await?;
            return Ok((owner, false));
        }
        let user = UserRecord {
            id: self.auth.new_id()?,
            email: Some(address.to_owned()),
            user_handle: random_user_handle()?,
            created_at: self.auth.now(),
            metadata: None,
        };
        let hooks = &self.auth.inner.hooks;
        hooks
            .before_register(&RegisterAttempt {
                user_id: &user.id,
                email: Some(address),
            })
            .await?;
        // Asked before the user exists, so that a veto leaves nothing behind.
        self.allow_sign_in(&user).await?;
        match store.create_user(&user).await {
            Ok(()) => {
                self.auth.emit(Event::UserCreated {
                    user_id: user.id.clone(),
                });
                Ok((user, true))
            }
            // A concurrent first sign-in (or sign-up) took the email: sign in its user.
            Err(StoreError::Conflict("email")) => {
                let owner = store.user_by_email(address).await?.ok_or_else(|| {
                    Error::Internal("the owner of a conflicting email vanished".into())
                })?;
                self.allow_sign_in(&owner).await?;
                Ok((owner, false))
            }
            Err(error) => Err(error.into()),
        }
    }

    async fn allow_sign_in(&self, user: &UserRecord) -> Result<()> {
        self.auth
            .inner
            .hooks
            .before_authenticate(&SignInAttempt {
                user: &views::plain_user(user),
                method: AuthMethod::MagicLink,
            })
            .await?;
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

    #[test]
    fn magic_links_need_a_url_and_a_sender() {
        let config = || Some(MagicLinkConfig::new("https://example.com/verify"));
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
        assert!(MagicLinkSetup::from_builder(Some(MagicLinkConfig::new("/v")), sender()).is_err());
    }
}
