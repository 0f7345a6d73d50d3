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
//! - **Email confirmations** (verified email linking, the default): `link-email` sends a
//!   link of the same form to the address; verifying *its* token attaches the address to
//!   the user who asked and signs that user in (`isNewUser: false`). Until then the
//!   address belongs to nobody, so an ordinary magic link for it never reaches that
//!   user.
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
//! *and* email and `magicLink.send.address` per address alone, route 8 counts
//! `magicLink.verify` per address.

use crate::audit::EventDetails;
use crate::auth::{Auth, MetadataType};
pub use crate::config::magic_links::{DEFAULT_MAGIC_LINK_TTL, MagicLinkConfig};
use crate::entities;
use crate::error::{Error, Reason, Result};
use crate::events::Event;
use crate::hooks::{MagicLinkAttempt, RegisterAttempt, SignInAttempt};
use crate::mail::MagicLinkSetup;
use crate::mail::{MagicLinkEmail, MailError, MailPurpose, recipient_fingerprint};
use crate::secrets::{TokenHash, generate_token, random_user_handle};
use crate::sessions::ClientInfo;
use crate::store::{EmailLinkRecord, MagicLinkRecord, StoreError, UserRecord};
use passkey_magic_shared::limits::MAX_TOKEN_LEN;
use passkey_magic_shared::magic_link::build_url;
use passkey_magic_shared::magic_links::{SendMagicLinkResponse, VerifyMagicLinkResponse};
use passkey_magic_shared::security_events::SignInFailure;
use passkey_magic_shared::{AuthMethod, BearerToken, RequestError, Timestamp, email};

/// A token that is unknown, used, or expired.
pub const INVALID_MAGIC_LINK: &str = Reason::InvalidMagicLink.message();
/// The email sender failed; the link was discarded.
pub const SEND_FAILED: &str = "Could not send the magic link email";

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
            .ok_or(Error::InvalidRequest(Reason::MagicLinkNotConfigured))
    }

    /// Sends a sign-in link to `address`. The answer is the same whether or not the
    /// address has an account.
    ///
    /// # Errors
    /// `400` when magic links are not configured, the email is invalid, or
    /// `before_magic_link` vetoes; [`Error::Mail`] (`503`) when the email could not be
    /// sent (the link is discarded first); storage failures.
    #[tracing::instrument(skip_all)]
    pub async fn request(&self, address: &str) -> Result<SendMagicLinkResponse> {
        let setup = self.setup()?;
        if !email::is_valid(address) {
            return Err(Error::InvalidRequest(Reason::InvalidEmail));
        }
        let hooks = &self.auth.inner.hooks;
        let attempt = MagicLinkAttempt { email: address };
        hooks.before_magic_link(&attempt).await?;

        let token = generate_token()?;
        let now = self.auth.now();
        let ttl = setup.config.ttl;
        let record = MagicLinkRecord {
            token_hash: TokenHash::of_token(&token),
            email: address.to_owned(),
            created_at: now,
            expires_at: now.saturating_add(ttl),
        };
        self.auth.inner.store.put_magic_link(&record).await?;
        let sent = self
            .mail_link(
                setup,
                address,
                token,
                record.expires_at,
                MailPurpose::SignIn,
            )
            .await;
        if let Err(error) = sent {
            self.discard(&record.token_hash).await;
            tracing::warn!(
                recipient = %recipient_fingerprint(address),
                %error,
                "magic link email not sent; link discarded"
            );
            return Err(error.into());
        }
        self.auth.emit(Event::MagicLinkSent {
            email: address.to_owned(),
        });
        hooks.after_magic_link(&attempt).await;
        Ok(SendMagicLinkResponse { sent: true })
    }

    /// Mails `address` the link carrying `token` (a sign-in link or an email
    /// confirmation), counted as sent or failed. The caller has stored the link and
    /// discards it when this fails.
    async fn mail_link(
        &self,
        setup: &MagicLinkSetup,
        address: &str,
        token: BearerToken,
        expires_at: Timestamp,
        purpose: MailPurpose,
    ) -> std::result::Result<(), MailError> {
        let message = MagicLinkEmail::new(
            address,
            build_url(&setup.config.url, token.expose()),
            token,
            self.auth.inner.config.rp_name.clone(),
            expires_at,
            setup.config.ttl,
        )
        .with_purpose(purpose);
        let sent = setup.sender.send_magic_link(&message).await;
        crate::telemetry::email(sent.is_ok());
        sent
    }

    /// Verified email linking: sends `address` a confirmation link that, when used,
    /// attaches it to `user_id` and signs that user in. The link lives as long as a magic
    /// link and is stored only as its token's hash.
    ///
    /// # Errors
    /// `400` when magic links are not configured; [`Error::Mail`] (`503`) when the email
    /// could not be sent (the pending link is discarded first); storage failures.
    pub(crate) async fn send_email_confirmation(&self, user_id: &str, address: &str) -> Result<()> {
        let setup = self.setup()?;
        let token = generate_token()?;
        let now = self.auth.now();
        let ttl = setup.config.ttl;
        let record = EmailLinkRecord {
            token_hash: TokenHash::of_token(&token),
            user_id: user_id.to_owned(),
            email: address.to_owned(),
            created_at: now,
            expires_at: now.saturating_add(ttl),
        };
        self.auth.inner.store.put_email_link(&record).await?;
        let sent = self
            .mail_link(
                setup,
                address,
                token,
                record.expires_at,
                MailPurpose::ConfirmEmail,
            )
            .await;
        if let Err(error) = sent {
            if let Err(error) = self
                .auth
                .inner
                .store
                .take_email_link(&record.token_hash, now)
                .await
            {
                tracing::error!(%error, "could not delete an undelivered email confirmation");
            }
            tracing::warn!(
                recipient = %recipient_fingerprint(address),
                %error,
                "email confirmation not sent; link discarded"
            );
            return Err(error.into());
        }
        Ok(())
    }

    /// Uses a confirmation link of verified email linking: attaches the address to the
    /// user who asked and signs that user in.
    async fn confirm_email(
        &self,
        link: EmailLinkRecord,
        client: &ClientInfo,
    ) -> Result<VerifyMagicLinkResponse<U>> {
        let user = self
            .auth
            .inner
            .store
            .user_by_id(&link.user_id)
            .await?
            .ok_or(Error::InvalidRequest(Reason::InvalidMagicLink))?;
        self.allow_known_sign_in(&user, client).await?;
        self.auth
            .accounts()
            .attach_email(&user.id, &link.email, client)
            .await?;
        let user = self.auth.accounts().record(&user.id).await?;
        let plain = entities::plain_user(&user);
        let session = self
            .auth
            .sessions()
            .create(&user.id, AuthMethod::MagicLink, client, None, None)
            .await?;
        self.auth
            .inner
            .hooks
            .after_authenticate(&plain, &entities::without_token(&session))
            .await;
        Ok(VerifyMagicLinkResponse {
            method: AuthMethod::MagicLink,
            user: entities::user(&user)?,
            session,
            is_new_user: false,
        })
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
    #[tracing::instrument(skip_all)]
    pub async fn verify(
        &self,
        token: &str,
        client: &ClientInfo,
    ) -> Result<VerifyMagicLinkResponse<U>> {
        let result = self.verify_counted(token, client).await;
        crate::telemetry::sign_in(AuthMethod::MagicLink, &result);
        result
    }

    /// [`Self::verify`] without the metric.
    async fn verify_counted(
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
        let hash = TokenHash::of(token);
        let store = &self.auth.inner.store;
        let Some(link) = store.take_magic_link(&hash, self.auth.now()).await? else {
            // Not a sign-in link: perhaps a confirmation of verified email linking.
            return match store.take_email_link(&hash, self.auth.now()).await? {
                Some(link) => self.confirm_email(link, client).await,
                None => Err(Error::InvalidRequest(Reason::InvalidMagicLink)),
            };
        };
        let (user, is_new_user) = self.user_for(&link.email, client).await?;
        let plain = entities::plain_user(&user);
        let session = self
            .auth
            .sessions()
            .create(&user.id, AuthMethod::MagicLink, client, None, None)
            .await?;
        self.auth
            .inner
            .hooks
            .after_authenticate(&plain, &entities::without_token(&session))
            .await;
        Ok(VerifyMagicLinkResponse {
            method: AuthMethod::MagicLink,
            user: entities::user(&user)?,
            session,
            is_new_user,
        })
    }

    /// The user a link for `address` signs in, created if needed, with the sign-in hooks
    /// passed: `(user, is_new_user)`.
    async fn user_for(&self, address: &str, client: &ClientInfo) -> Result<(UserRecord, bool)> {
        let store = &self.auth.inner.store;
        if let Some(owner) = store.user_by_email(address).await? {
            self.allow_known_sign_in(&owner, client).await?;
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
                let owner = store
                    .user_by_email(address)
                    .await?
                    .ok_or_else(|| Error::invariant("the owner of a conflicting email vanished"))?;
                self.allow_known_sign_in(&owner, client).await?;
                Ok((owner, false))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// [`Self::allow_sign_in`] for a user who exists: a veto goes into their security
    /// log.
    async fn allow_known_sign_in(&self, user: &UserRecord, client: &ClientInfo) -> Result<()> {
        let allowed = self.allow_sign_in(user).await;
        if allowed.is_err() {
            let details =
                EventDetails::sign_in_failed(AuthMethod::MagicLink, SignInFailure::Blocked);
            self.auth.audit(&user.id, client, details).await;
        }
        allowed
    }

    async fn allow_sign_in(&self, user: &UserRecord) -> Result<()> {
        self.auth
            .inner
            .hooks
            .before_authenticate(&SignInAttempt {
                user: &entities::plain_user(user),
                method: AuthMethod::MagicLink,
            })
            .await?;
        Ok(())
    }
}
