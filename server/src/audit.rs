//! The security log: an append-only record, per account, of sign-ins (and refused
//! sign-ins of a known user) and of every change to its passkeys, sessions, email and
//! the account itself — what `GET /account/events` lists and
//! [`Accounts::events`](crate::accounts::Accounts::events) returns.
//!
//! # What an event holds
//!
//! Its type ([`SecurityEventType`]), time, the client's address and `User-Agent` (from
//! the request's [`ClientInfo`]), and the ids it concerns (passkey, session). Never a
//! token, a code, a link or an email address.
//!
//! # When recording fails
//!
//! The action has happened (the session exists, the passkey is gone), so it is **not**
//! failed or undone: the failure is logged (`warn`) and counted by the storage-failure
//! metric (`passkey_magic_store_errors_total{operation="append_security_event"}`), and
//! the action's result stands. Sign-in stays available when only the log's storage is
//! in trouble; an operator who needs a complete log alerts on that metric.
//!
//! # Cost on the sign-in path
//!
//! A sign-in's event is appended *concurrently* with its session insert
//! ([`tokio::join!`]), not after it: no extra sequential round trip, and on SQLite both
//! writes reach the writer thread together and share one group commit. The price: the
//! two writes are not one transaction, so in the rare case where the session insert fails
//! and the event's succeeds, the log shows a `signIn` whose session never existed (the
//! caller got the error).
//!
//! # Retention
//!
//! Events older than [`AuthBuilder::security_event_retention`] (default
//! [`DEFAULT_SECURITY_EVENT_RETENTION`], 90 days) are deleted by the purge task
//! ([`Auth::spawn_purge_task`]). A deleted account's events are kept until then (the
//! user can no longer list them; the operator can, by user id).
//!
//! [`AuthBuilder::security_event_retention`]: crate::config::AuthBuilder::security_event_retention
//! [`DEFAULT_SECURITY_EVENT_RETENTION`]: crate::config::DEFAULT_SECURITY_EVENT_RETENTION

use crate::auth::{Auth, MetadataType};
use crate::sessions::ClientInfo;
use crate::store::{SecurityEventRecord, StoreError};
use passkey_magic_shared::AuthMethod;
use passkey_magic_shared::security_events::{SecurityEvent, SecurityEventType, SignInFailure};

/// What an event is about, apart from who, when and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventDetails {
    kind: SecurityEventType,
    method: Option<AuthMethod>,
    reason: Option<SignInFailure>,
    credential_id: Option<String>,
    session_id: Option<String>,
}

impl EventDetails {
    /// An event of this type without details.
    pub(crate) fn new(kind: SecurityEventType) -> Self {
        EventDetails {
            kind,
            method: None,
            reason: None,
            credential_id: None,
            session_id: None,
        }
    }

    /// A refused sign-in of a known user.
    pub(crate) fn sign_in_failed(method: AuthMethod, reason: SignInFailure) -> Self {
        EventDetails {
            method: Some(method),
            reason: Some(reason),
            ..Self::new(SecurityEventType::SignInFailed)
        }
    }

    /// With the sign-in method.
    pub(crate) fn method(self, method: AuthMethod) -> Self {
        EventDetails {
            method: Some(method),
            ..self
        }
    }

    /// With the passkey concerned.
    pub(crate) fn credential(self, credential_id: Option<&str>) -> Self {
        EventDetails {
            credential_id: credential_id.map(str::to_owned),
            ..self
        }
    }

    /// With the session concerned.
    pub(crate) fn session(self, session_id: &str) -> Self {
        EventDetails {
            session_id: Some(session_id.to_owned()),
            ..self
        }
    }
}

impl<U: MetadataType, C: MetadataType> Auth<U, C> {
    /// Appends an event to `user_id`'s security log. Never fails the caller: a failure
    /// is logged here and counted by the store metric (see the module docs).
    pub(crate) async fn audit(&self, user_id: &str, client: &ClientInfo, details: EventDetails) {
        let kind = details.kind;
        let result = match self.security_event(user_id, client, details) {
            Ok(record) => self.inner.store.append_security_event(&record).await,
            Err(error) => Err(error),
        };
        if let Err(error) = result {
            log_failed_event(user_id, kind, &error);
        }
    }

    /// The record of an event about `user_id`, stamped now with a fresh id.
    pub(crate) fn security_event(
        &self,
        user_id: &str,
        client: &ClientInfo,
        details: EventDetails,
    ) -> Result<SecurityEventRecord, StoreError> {
        let id = self
            .new_id()
            .map_err(|error| StoreError::Internal(crate::store::StoreCause::new(error)))?;
        Ok(SecurityEventRecord {
            user_id: user_id.to_owned(),
            event: SecurityEvent {
                id,
                kind: details.kind,
                created_at: self.now(),
                method: details.method,
                reason: details.reason,
                ip_address: client.ip_address.clone(),
                user_agent: client.user_agent.clone(),
                credential_id: details.credential_id,
                session_id: details.session_id,
            },
        })
    }
}

/// Logs an event that could not be recorded; the action it describes stands.
pub(crate) fn log_failed_event(user_id: &str, kind: SecurityEventType, error: &StoreError) {
    tracing::warn!(
        %error,
        user_id = %user_id,
        event = kind.as_str(),
        "recording a security event failed; the action stands"
    );
}
