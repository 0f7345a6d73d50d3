//! Accounts: the user record is the identity; email is optional and unique
//! (case-insensitively). Nothing here ever merges two users, and no change may leave a
//! user without a way to sign in.

use crate::audit::EventDetails;
use crate::auth::{Auth, MetadataType};
use crate::config::EmailLinking;
use crate::entities;
use crate::error::{Error, Reason, Result};
use crate::events::Event;
use crate::hooks::LinkEmailAttempt;
use crate::sessions::ClientInfo;
use crate::store::{Guarded, StoreError, UserRecord};
use passkey_magic_shared::accounts::{CanLinkEmailResponse, CannotLinkReason};
use passkey_magic_shared::security_events::{
    EventCursor, EventsPage, SecurityEventType, SecurityEventsResponse,
};
use passkey_magic_shared::{RequestError, User, email};

/// Message when an email is not valid syntax.
pub const INVALID_EMAIL: &str = Reason::InvalidEmail.message();
/// Message when an email belongs to another user.
pub const EMAIL_IN_USE: &str = Reason::EmailInUse.message();
/// Message when unlinking would leave the user without a way in.
pub const UNLINK_LOCKOUT: &str = Reason::UnlinkLockout.message();
/// Message when unlinking the email of a user who has none.
pub const NO_EMAIL_TO_UNLINK: &str = Reason::NoEmailToUnlink.message();

/// Account operations: `auth.accounts()`.
#[derive(Debug)]
pub struct Accounts<'a, U, C> {
    auth: &'a Auth<U, C>,
    client: ClientInfo,
}

impl<U: MetadataType, C: MetadataType> Auth<U, C> {
    /// Account operations.
    pub fn accounts(&self) -> Accounts<'_, U, C> {
        Accounts {
            auth: self,
            client: ClientInfo::default(),
        }
    }
}

impl<U: MetadataType, C: MetadataType> Accounts<'_, U, C> {
    /// Records `client` (address, user agent) on the security events of the changes
    /// made through this value (email linked or unlinked, account deleted); without it
    /// they carry neither.
    pub fn with_client(mut self, client: &ClientInfo) -> Self {
        self.client = client.clone();
        self
    }

    /// A page of a user's security log, newest first: sign-ins, refused sign-ins, and
    /// changes to its passkeys, sessions, email and account (see [`crate::audit`]).
    /// `nextCursor` of the result, given back through [`EventsPage::after`], reads the
    /// next (older) page; it is `None` on the last one. Works for deleted accounts too,
    /// until their events age out.
    ///
    /// ```
    /// use passkey_magic_server::Auth;
    /// use passkey_magic_shared::security_events::EventsPage;
    /// # async fn show(auth: Auth, user_id: &str) -> passkey_magic_server::Result<()> {
    /// let mut page = EventsPage::first(50)?;
    /// loop {
    ///     let events = auth.accounts().events(user_id, &page).await?;
    ///     for event in &events.events {
    ///         println!("{} {:?} from {:?}", event.created_at, event.kind, event.ip_address);
    ///     }
    ///     match events.next_cursor {
    ///         Some(cursor) => page = page.after(cursor),
    ///         None => break,
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Storage failures.
    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub async fn events(&self, user_id: &str, page: &EventsPage) -> Result<SecurityEventsResponse> {
        // One more than asked tells whether an older page exists.
        let mut records = self
            .auth
            .inner
            .store
            .security_events_for_user(user_id, page.cursor.as_ref(), page.limit.saturating_add(1))
            .await?;
        let more = records.len() > page.limit;
        records.truncate(page.limit);
        let events: Vec<_> = records.into_iter().map(|record| record.event).collect();
        let next_cursor = events.last().filter(|_| more).map(EventCursor::after);
        Ok(SecurityEventsResponse {
            events,
            next_cursor,
        })
    }

    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub(crate) async fn record(&self, user_id: &str) -> Result<UserRecord> {
        self.auth
            .inner
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(Error::NotFound)
    }

    /// The user with this id.
    ///
    /// # Errors
    /// Storage failures.
    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub async fn get(&self, user_id: &str) -> Result<Option<User<U>>> {
        match self.auth.inner.store.user_by_id(user_id).await? {
            Some(record) => Ok(Some(entities::user(&record)?)),
            None => Ok(None),
        }
    }

    /// The user with this email (case-insensitive).
    ///
    /// # Errors
    /// Storage failures.
    #[tracing::instrument(skip_all)]
    pub async fn get_by_email(&self, address: &str) -> Result<Option<User<U>>> {
        if !email::is_valid(address) {
            return Ok(None);
        }
        match self.auth.inner.store.user_by_email(address).await? {
            Some(record) => Ok(Some(entities::user(&record)?)),
            None => Ok(None),
        }
    }

    /// Whether nobody has this email yet; `false` for invalid syntax.
    ///
    /// # Errors
    /// Storage failures.
    #[tracing::instrument(skip_all)]
    pub async fn is_email_available(&self, address: &str) -> Result<bool> {
        Ok(email::is_valid(address)
            && self
                .auth
                .inner
                .store
                .user_by_email(address)
                .await?
                .is_none())
    }

    /// Whether `user_id` may link `address` (it is valid and not another user's).
    ///
    /// # Errors
    /// Storage failures.
    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub async fn can_link_email(
        &self,
        user_id: &str,
        address: &str,
    ) -> Result<CanLinkEmailResponse> {
        if !email::is_valid(address) {
            return Ok(CanLinkEmailResponse::no(CannotLinkReason::InvalidEmail));
        }
        Ok(match self.auth.inner.store.user_by_email(address).await? {
            Some(owner) if owner.id != user_id => {
                CanLinkEmailResponse::no(CannotLinkReason::EmailInUse)
            }
            _ => CanLinkEmailResponse::YES,
        })
    }

    /// Links an email to a user (replacing any previous one). Re-linking the user's own
    /// email is fine; another user's email is refused, never taken over.
    ///
    /// With [`EmailLinking::Verified`] (the default) this only *asks* to link: a
    /// confirmation link goes to the address and the user is returned unchanged; the
    /// address is attached when the link is used
    /// ([`MagicLinks::verify`](crate::magic_links::MagicLinks::verify)). With
    /// [`EmailLinking::Immediate`] (v0.4) it is attached at once.
    ///
    /// # Errors
    /// `400` for invalid syntax, an email in use, a hook veto, or (verified linking)
    /// magic links not configured; `404` for an unknown user; `503` when the
    /// confirmation could not be sent.
    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub async fn link_email(&self, user_id: &str, address: &str) -> Result<User<U>> {
        if !email::is_valid(address) {
            return Err(Error::InvalidRequest(Reason::InvalidEmail));
        }
        let user = self.record(user_id).await?;
        self.auth
            .inner
            .hooks
            .before_link_email(&LinkEmailAttempt {
                user: &entities::plain_user(&user),
                email: address,
            })
            .await?;
        if self.auth.inner.config.email_linking == EmailLinking::Verified {
            return self.request_email_link(user, address).await;
        }
        self.attach_email(user_id, address, &self.client).await?;
        entities::user(&self.record(user_id).await?)
    }

    /// Verified linking: checks the address is free, stores a pending link and sends
    /// the confirmation. The user comes back unchanged.
    async fn request_email_link(&self, user: UserRecord, address: &str) -> Result<User<U>> {
        match self.auth.inner.store.user_by_email(address).await? {
            Some(owner) if owner.id != user.id => return Err(Reason::EmailInUse.into()),
            // Already this user's: nothing to confirm.
            Some(_) => return entities::user(&user),
            None => {}
        }
        self.auth
            .magic_links()
            .send_email_confirmation(&user.id, address)
            .await?;
        entities::user(&user)
    }

    /// Attaches `address` to the user, refusing another user's address.
    pub(crate) async fn attach_email(
        &self,
        user_id: &str,
        address: &str,
        client: &ClientInfo,
    ) -> Result<()> {
        match self
            .auth
            .inner
            .store
            .set_user_email(user_id, Some(address))
            .await
        {
            Ok(Guarded::Done) => {}
            Ok(Guarded::NotFound) => return Err(Error::NotFound),
            Ok(Guarded::WouldLockOut) => {
                return Err(Error::invariant("setting an email cannot lock out"));
            }
            Err(StoreError::Conflict("email")) => return Err(Reason::EmailInUse.into()),
            Err(error) => return Err(error.into()),
        }
        let details = EventDetails::new(SecurityEventType::EmailLinked);
        self.auth.audit(user_id, client, details).await;
        self.auth.emit(Event::EmailLinked {
            user_id: user_id.to_owned(),
        });
        Ok(())
    }

    /// Removes a user's email; refused when the user has none (as v0.4) or has no passkey
    /// (it would be locked out).
    ///
    /// # Errors
    /// `400` when the user has no email or it would lock the user out; `404` for an
    /// unknown user.
    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub async fn unlink_email(&self, user_id: &str) -> Result<User<U>> {
        if self.record(user_id).await?.email.is_none() {
            return Err(Error::InvalidRequest(Reason::NoEmailToUnlink));
        }
        match self.auth.inner.store.set_user_email(user_id, None).await? {
            Guarded::Done => {}
            Guarded::NotFound => return Err(Error::NotFound),
            Guarded::WouldLockOut => return Err(Error::InvalidRequest(Reason::UnlinkLockout)),
        }
        let details = EventDetails::new(SecurityEventType::EmailUnlinked);
        self.auth.audit(user_id, &self.client, details).await;
        self.auth.emit(Event::EmailUnlinked {
            user_id: user_id.to_owned(),
        });
        entities::user(&self.record(user_id).await?)
    }

    /// Replaces a user's metadata; `None` changes nothing. Returns the user.
    ///
    /// # Errors
    /// `400` when the metadata is not a JSON object or too large; `404` for an unknown user.
    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub async fn update_metadata(&self, user_id: &str, metadata: Option<&U>) -> Result<User<U>> {
        if let Some(metadata) = metadata {
            let stored = entities::metadata_to_store(metadata)?;
            check_metadata_size(&stored)?;
            if !self
                .auth
                .inner
                .store
                .set_user_metadata(user_id, Some(&stored))
                .await?
            {
                return Err(Error::NotFound);
            }
        }
        entities::user(&self.record(user_id).await?)
    }

    /// Deletes a user with all its passkeys and sessions. Its security log is kept (with
    /// an `accountDeleted` event) until the retention purge.
    ///
    /// # Errors
    /// `404` for an unknown user.
    #[tracing::instrument(skip_all, fields(user_id = %user_id))]
    pub async fn delete(&self, user_id: &str) -> Result<()> {
        if !self.auth.inner.store.delete_user(user_id).await? {
            return Err(Error::NotFound);
        }
        let details = EventDetails::new(SecurityEventType::AccountDeleted);
        self.auth.audit(user_id, &self.client, details).await;
        self.auth.emit(Event::UserDeleted {
            user_id: user_id.to_owned(),
        });
        Ok(())
    }
}

/// Metadata set from Rust is held to the same limits as metadata sent over HTTP: its
/// size, and keys without invisible characters ([`crate::input::has_safe_keys`]).
pub(crate) fn check_metadata_size(metadata: &passkey_magic_shared::Metadata) -> Result<()> {
    let size = serde_json::to_vec(metadata)
        .map(|b| b.len())
        .unwrap_or(usize::MAX);
    if size > passkey_magic_shared::limits::MAX_METADATA_BYTES
        || !crate::input::has_safe_keys(metadata)
    {
        return Err(RequestError::InvalidField("metadata").into());
    }
    Ok(())
}
