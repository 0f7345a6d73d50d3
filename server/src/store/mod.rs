//! Storage: the [`Store`] trait every adapter implements, and the records it keeps.
//!
//! Semantics every adapter must meet (proven by the storage conformance suite, run
//! against each adapter):
//!
//! - **Single-use things are taken atomically**: [`Store::take_challenge`] returns a
//!   pending ceremony to exactly one caller, however many race for it.
//! - **Email is unique across users**, compared case-insensitively, and enforced by the
//!   store itself ([`StoreError::Conflict`]), not only by a check before insert.
//! - **Hot lookups are indexed**: session by token hash, credential by id, user by email.
//! - **Expired rows are invisible on read** (`now` is an argument, so tests control time)
//!   and removed by [`Store::purge_expired`], which the engine runs in the background.
//! - **Deleting a user removes its credentials and sessions** in the same step.
//! - **Magic links are single-use**: [`Store::take_magic_link`] hands a link's record to
//!   exactly one caller, and only while it is unexpired; so does
//!   [`Store::take_email_link`] for a pending email link.
//! - **Lock-out rules hold under races**: [`Store::delete_credential`] and
//!   [`Store::set_user_email`] check the "last way in" condition in the same atomic step
//!   as the change.
//! - **QR logins move by compare-and-set**: [`Store::transition_qr_session`] applies a
//!   state change only from the expected states, so of racing requests exactly one wins;
//!   confirmation attempts are counted atomically ([`Store::count_qr_confirmation_attempt`]).
//! - **Security events are append-only**: [`Store::append_security_event`] adds one
//!   (its id unique), [`Store::security_events_for_user`] lists a user's newest first by
//!   keyset `(created_at, id)` (indexed by user, time and id: no offset scans), and only
//!   [`Store::purge_security_events`] removes them, by age. Deleting a user keeps its
//!   events until they age out: the trail of an account's last actions is what an
//!   operator looks for after a takeover, and the user can no longer list them.
//! - **Signature counters only move forward**: [`Store::record_credential_use`] is a
//!   compare-and-set on the counter, so two copies of one authenticator racing with the
//!   same counter cannot both sign in.

#[cfg(feature = "postgres")]
mod batch;
#[cfg(any(test, feature = "testing"))]
pub mod conformance;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod qr;
mod records;
#[cfg(feature = "redis")]
mod redis;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "redis")]
pub use self::redis::RedisStore;
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresStore, PostgresStoreBuilder};
pub use records::{
    Ceremony, ChallengeRecord, CredentialRecord, CredentialUsage, SessionRecord, UserRecord,
};
pub use records::{EmailLinkRecord, MagicLinkRecord, SecurityEventRecord};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;

pub use qr::{QrChange, QrSessionRecord};

use crate::qr::state::QrSessionState;
use crate::secrets::TokenHash;
use async_trait::async_trait;
use passkey_magic_shared::security_events::EventCursor;
use passkey_magic_shared::{Metadata, Timestamp};

/// What [`Store::take_challenge_and_credential`] found: the taken challenge, and the
/// passkey with its user.
pub type ChallengeAndCredential = (
    Option<ChallengeRecord>,
    Option<(CredentialRecord, UserRecord)>,
);

/// Why a storage operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated (the field named: `id`, `email`, ...).
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// The backend cannot be reached right now (retryable; maps to 503).
    #[error("storage unavailable")]
    Unavailable(#[source] StoreCause),
    /// Anything else: corrupt data, a bug, an unexpected backend error.
    #[error("storage error")]
    Internal(#[source] StoreCause),
}

/// What lies behind a [`StoreError`]: the backend's own error (a sqlx or Redis error,
/// kept as the [`source`](std::error::Error::source) of the chain) or a message of the
/// store's. Cheap to clone; compares by its text.
#[derive(Clone)]
pub struct StoreCause(std::sync::Arc<dyn std::error::Error + Send + Sync>);

impl StoreCause {
    /// Wraps a backend error.
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreCause(std::sync::Arc::new(error))
    }
}

/// A cause that is only a message.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Message(String);

impl From<String> for StoreCause {
    fn from(message: String) -> Self {
        StoreCause::new(Message(message))
    }
}

impl From<&str> for StoreCause {
    fn from(message: &str) -> Self {
        StoreCause::new(Message(message.to_owned()))
    }
}

impl std::fmt::Debug for StoreCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&*self.0, f)
    }
}

impl std::fmt::Display for StoreCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for StoreCause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for StoreCause {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for StoreCause {}

/// Messages of [`Store::announce_qr_change`], as heard by
/// [`Store::listen_qr_changes`]: a channel fed by a task of the store, which stops
/// listening when this feed is dropped.
pub type QrChangeFeed = tokio::sync::mpsc::Receiver<String>;

/// The outcome of a guarded change (one that must not lock a user out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    /// The change was made.
    Done,
    /// The target does not exist (or is not the user's).
    NotFound,
    /// The change would remove the user's last way to sign in; nothing changed.
    WouldLockOut,
}

/// Persistent state of the engine. Implementations must be cheap to share
/// (`Arc<dyn Store>`) and safe to call concurrently from many tasks and processes.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ---- users ----

    /// Inserts a user. [`StoreError::Conflict`] with `"id"` or `"email"` when taken.
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError>;

    /// The user with this id.
    async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError>;

    /// The user with this email, compared case-insensitively.
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError>;

    /// Sets (`Some`) or clears (`None`) a user's email. Clearing is refused with
    /// [`Guarded::WouldLockOut`] when the user has no passkey. Setting an email another
    /// user has → [`StoreError::Conflict`]`("email")`.
    async fn set_user_email(&self, id: &str, email: Option<&str>) -> Result<Guarded, StoreError>;

    /// Replaces a user's metadata. `false` when the user does not exist.
    async fn set_user_metadata(
        &self,
        id: &str,
        metadata: Option<&Metadata>,
    ) -> Result<bool, StoreError>;

    /// Deletes a user with its credentials and sessions. `false` when absent.
    async fn delete_user(&self, id: &str) -> Result<bool, StoreError>;

    // ---- credentials ----

    /// Inserts a credential. [`StoreError::Conflict`]`("id")` when the id exists.
    async fn create_credential(&self, credential: &CredentialRecord) -> Result<(), StoreError>;

    /// The credential with this id.
    async fn credential_by_id(&self, id: &str) -> Result<Option<CredentialRecord>, StoreError>;

    /// A passkey together with its user: what every sign-in needs. The SQL stores answer
    /// it with one indexed JOIN, Redis with one script; the default asks
    /// [`Store::credential_by_id`] and then [`Store::user_by_id`]. `None` when the passkey
    /// is unknown or its user is gone.
    async fn credential_with_user(
        &self,
        id: &str,
    ) -> Result<Option<(CredentialRecord, UserRecord)>, StoreError> {
        let Some(credential) = self.credential_by_id(id).await? else {
            return Ok(None);
        };
        let Some(user) = self.user_by_id(&credential.user_id).await? else {
            return Ok(None);
        };
        Ok(Some((credential, user)))
    }

    /// A user's credentials, oldest first.
    async fn credentials_for_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<CredentialRecord>, StoreError>;

    /// Records a sign-in with a credential (counter, backup state, last use), as a
    /// compare-and-set on the signature counter: only if `usage.counter` is greater than
    /// the stored counter, or both are 0 (an authenticator without a counter). Of racing
    /// sign-ins that report the same counter (a cloned authenticator), exactly one is
    /// recorded. `false` when refused or when the credential does not exist.
    async fn record_credential_use(&self, usage: &CredentialUsage) -> Result<bool, StoreError>;

    /// Sets a credential's label and/or metadata (`None` leaves a field unchanged).
    /// `false` when the credential is not the user's.
    async fn update_credential(
        &self,
        user_id: &str,
        id: &str,
        label: Option<&str>,
        metadata: Option<&Metadata>,
    ) -> Result<bool, StoreError>;

    /// Deletes one of a user's credentials, refused with [`Guarded::WouldLockOut`] when it
    /// is the last one and the user has no email.
    async fn delete_credential(&self, user_id: &str, id: &str) -> Result<Guarded, StoreError>;

    // ---- sessions ----

    /// Inserts a session.
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError>;

    /// The unexpired session with this token hash.
    async fn session_by_token_hash(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError>;

    /// The unexpired session with this token hash together with its user: what every
    /// authenticated request needs. The SQL stores answer it with one indexed JOIN, Redis
    /// with one script (one round trip instead of two); the default asks
    /// [`Store::session_by_token_hash`] and then [`Store::user_by_id`]. `None` when the
    /// session is unknown, expired, or its user is gone.
    async fn session_with_user(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<(SessionRecord, UserRecord)>, StoreError> {
        let Some(session) = self.session_by_token_hash(token_hash, now).await? else {
            return Ok(None);
        };
        let Some(user) = self.user_by_id(&session.user_id).await? else {
            return Ok(None);
        };
        Ok(Some((session, user)))
    }

    /// A user's unexpired sessions, newest first.
    async fn sessions_for_user(
        &self,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError>;

    /// Deletes one of a user's sessions. `false` when it is not the user's.
    async fn delete_session(&self, user_id: &str, id: &str) -> Result<bool, StoreError>;

    /// Deletes all of a user's sessions; returns how many.
    async fn delete_sessions_for_user(&self, user_id: &str) -> Result<u64, StoreError>;

    // ---- QR logins ----

    /// Inserts a QR login. [`StoreError::Conflict`]`("id")` when the id exists.
    async fn create_qr_session(&self, qr: &QrSessionRecord) -> Result<(), StoreError>;

    /// The QR login with this id, **expired or not** (the engine reports expired rows as
    /// `expired`; [`Store::purge_expired`] removes them).
    async fn qr_session_by_id(&self, id: &str) -> Result<Option<QrSessionRecord>, StoreError>;

    /// The QR logins with these ids (unknown ids are skipped, order is unspecified): one
    /// call for many long-polling desktops.
    async fn qr_sessions_by_ids(&self, ids: &[String]) -> Result<Vec<QrSessionRecord>, StoreError>;

    /// Compare-and-set: applies `change` only if the login exists, is unexpired at `now`
    /// and is in one of `change.transition.from`, all in one atomic step. Returns the
    /// updated record to the one caller that won; `None` to everyone else.
    async fn transition_qr_session(
        &self,
        id: &str,
        change: &QrChange,
        now: Timestamp,
    ) -> Result<Option<QrSessionRecord>, StoreError>;

    /// Counts one confirmation attempt, atomically and only while the login is unexpired
    /// at `now`, unconfirmed, in one of `states`, and has had fewer than `max_attempts`.
    /// Returns the attempt's number (1-based), or `None` when no attempt is allowed.
    async fn count_qr_confirmation_attempt(
        &self,
        id: &str,
        states: &[QrSessionState],
        max_attempts: u32,
        now: Timestamp,
    ) -> Result<Option<u32>, StoreError>;

    // ---- cross-instance wake-ups ----

    /// Whether [`Store::announce_qr_change`] reaches other instances (PostgreSQL
    /// `NOTIFY`, Redis `PUBLISH`). `false` by default: the engine then relies on its
    /// periodic re-check alone for changes made elsewhere.
    fn announces_qr_changes(&self) -> bool {
        false
    }

    /// Tells every instance listening ([`Store::listen_qr_changes`]) that QR logins
    /// changed. `message` is opaque to the store (the engine puts its own instance tag
    /// and the QR ids in it, up to 7 000 bytes; one task per engine calls this, one
    /// message at a time). Best effort: a lost message only delays desktops until the
    /// engine's next re-check. The default does nothing.
    async fn announce_qr_change(&self, message: &str) -> Result<(), StoreError> {
        let _ = message;
        Ok(())
    }

    /// Starts listening for [`Store::announce_qr_change`] messages of every instance
    /// sharing this store. The feed ends when the connection behind it is lost (call
    /// again to resume); dropping it stops listening. `None` (the default) when the
    /// store has no such channel.
    async fn listen_qr_changes(&self) -> Result<Option<QrChangeFeed>, StoreError> {
        Ok(None)
    }

    // ---- pending ceremonies ----

    /// Stores a pending ceremony under its challenge.
    async fn put_challenge(&self, challenge: &ChallengeRecord) -> Result<(), StoreError>;

    /// Removes and returns the unexpired ceremony for `challenge`: exactly one caller gets
    /// it. Expired or unknown → `None`.
    async fn take_challenge(
        &self,
        challenge: &str,
        now: Timestamp,
    ) -> Result<Option<ChallengeRecord>, StoreError>;

    /// A passkey sign-in's first two steps in one call: takes the challenge (as
    /// [`Store::take_challenge`]) and reads the passkey `credential_id` with its user (as
    /// [`Store::credential_with_user`]). When no live challenge was taken the passkey may
    /// be left unread (`None`). The default makes the two calls in turn, the second only
    /// after a challenge was taken; PostgreSQL answers both with one statement.
    async fn take_challenge_and_credential(
        &self,
        challenge: &str,
        now: Timestamp,
        credential_id: &str,
    ) -> Result<ChallengeAndCredential, StoreError> {
        let Some(taken) = self.take_challenge(challenge, now).await? else {
            return Ok((None, None));
        };
        let credential = self.credential_with_user(credential_id).await?;
        Ok((Some(taken), credential))
    }

    // ---- magic links ----

    /// Stores a magic link under its token hash. [`StoreError::Conflict`]`("token_hash")`
    /// when that hash is stored already.
    async fn put_magic_link(&self, link: &MagicLinkRecord) -> Result<(), StoreError>;

    /// Removes and returns the unexpired magic link with this token hash: exactly one
    /// caller gets it, however many race. Expired or unknown → `None` (an expired link
    /// may be removed by the call too).
    async fn take_magic_link(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<MagicLinkRecord>, StoreError>;

    /// Deletes a magic link (one whose email could not be sent). `false` when absent.
    async fn delete_magic_link(&self, token_hash: &TokenHash) -> Result<bool, StoreError>;

    // ---- pending email links ----

    /// Stores an email waiting for its owner's confirmation under the confirmation
    /// token's hash. [`StoreError::Conflict`]`("token_hash")` when that hash is stored
    /// already. Every store of this crate keeps them; the default (for stores written
    /// before verified email linking) refuses, so `link-email` answers `500` until the
    /// store implements this pair, or the engine uses immediate linking.
    async fn put_email_link(&self, link: &EmailLinkRecord) -> Result<(), StoreError> {
        let _ = link;
        Err(StoreError::Internal(
            "this store does not keep pending email links".into(),
        ))
    }

    /// Removes and returns the unexpired pending email link with this token hash: exactly
    /// one caller gets it, however many race. Expired or unknown → `None`. Also used to
    /// discard a link whose email could not be sent.
    async fn take_email_link(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<EmailLinkRecord>, StoreError> {
        let _ = (token_hash, now);
        Ok(None)
    }

    // ---- security events ----

    /// Appends an event to a user's security log. [`StoreError::Conflict`]`("id")` when
    /// the event id exists. Every store of this crate keeps them; the default (for
    /// stores written before the log existed) refuses, which the engine logs and counts
    /// without failing the action.
    async fn append_security_event(&self, record: &SecurityEventRecord) -> Result<(), StoreError> {
        let _ = record;
        Err(StoreError::Internal(
            "this store does not keep security events".into(),
        ))
    }

    /// Inserts a sign-in's session and appends its security event: the results of the
    /// two writes, in that order. The event's failure must not undo the session, and
    /// once this returns with the session written, both writes must be as durable as
    /// [`Store::create_session`] and [`Store::append_security_event`] make them. The
    /// default runs those two concurrently; PostgreSQL writes both with one statement
    /// (one round trip, one commit).
    async fn create_session_with_event(
        &self,
        session: &SessionRecord,
        event: &SecurityEventRecord,
    ) -> (Result<(), StoreError>, Result<(), StoreError>) {
        futures_util::future::join(
            self.create_session(session),
            self.append_security_event(event),
        )
        .await
    }

    /// Up to `limit` of a user's events, newest first by `(created_at, id)`, starting
    /// strictly after `after` (`None`: from the newest). The default lists none.
    async fn security_events_for_user(
        &self,
        user_id: &str,
        after: Option<&EventCursor>,
        limit: usize,
    ) -> Result<Vec<SecurityEventRecord>, StoreError> {
        let _ = (user_id, after, limit);
        Ok(Vec::new())
    }

    /// Deletes every event created before `cutoff` (the retention limit); returns how
    /// many. The engine's purge task calls it next to [`Store::purge_expired`].
    async fn purge_security_events(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        let _ = cutoff;
        Ok(0)
    }

    // ---- maintenance ----

    /// Deletes every expired row (sessions, challenges, magic links, QR logins, ...);
    /// says how many, and how many of the QR logins had not reached a final state
    /// (`claimed` or `cancelled`): those expired, and the engine counts each exactly once
    /// from this answer (every row is deleted by one purge only).
    async fn purge_expired(&self, now: Timestamp) -> Result<Purged, StoreError>;
}

/// What [`Store::purge_expired`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Every expired row deleted.
    pub rows: u64,
    /// Of those, the QR logins whose stored state was not final: they expired (nobody
    /// signed in through them and nobody cancelled them).
    pub expired_qr_logins: u64,
}
