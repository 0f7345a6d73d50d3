//! [`MeteredStore`]: counts storage failures per operation around any [`Store`].

use crate::qr::state::QrSessionState;
use crate::secrets::TokenHash;
use crate::store::{
    ChallengeAndCredential, ChallengeRecord, CredentialRecord, CredentialUsage, EmailLinkRecord,
    Guarded, MagicLinkRecord, Purged, QrChange, QrChangeFeed, QrSessionRecord, SecurityEventRecord,
    SessionRecord, Store, StoreError, UserRecord,
};
use async_trait::async_trait;
use passkey_magic_shared::security_events::EventCursor;
use passkey_magic_shared::{Metadata, Timestamp};
use std::sync::Arc;

/// Counter: storage failures (unavailable or internal; not the uniqueness conflicts the
/// engine expects), labelled `operation` (the [`Store`] method) and `kind`.
pub const STORE_ERRORS: &str = "passkey_magic_store_errors_total";

/// Delegates every call to the wrapped store and counts its failures. The engine wraps
/// whatever store it is given, so every backend (and a custom one) is measured alike.
pub(crate) struct MeteredStore(pub(crate) Arc<dyn Store>);

impl std::fmt::Debug for MeteredStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MeteredStore")
    }
}

/// Counts `result` under `operation` when it is a failure.
fn counted<T>(operation: &'static str, result: Result<T, StoreError>) -> Result<T, StoreError> {
    let kind = match &result {
        Err(StoreError::Unavailable(_)) => "unavailable",
        Err(StoreError::Internal(_)) => "internal",
        Ok(_) | Err(StoreError::Conflict(_)) => return result,
    };
    metrics::counter!(STORE_ERRORS, "operation" => operation, "kind" => kind).increment(1);
    result
}

#[async_trait]
impl Store for MeteredStore {
    fn announces_qr_changes(&self) -> bool {
        self.0.announces_qr_changes()
    }

    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        counted("create_user", self.0.create_user(user).await)
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        counted("user_by_id", self.0.user_by_id(id).await)
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        counted("user_by_email", self.0.user_by_email(email).await)
    }

    async fn set_user_email(&self, id: &str, email: Option<&str>) -> Result<Guarded, StoreError> {
        counted("set_user_email", self.0.set_user_email(id, email).await)
    }

    async fn set_user_metadata(
        &self,
        id: &str,
        metadata: Option<&Metadata>,
    ) -> Result<bool, StoreError> {
        counted(
            "set_user_metadata",
            self.0.set_user_metadata(id, metadata).await,
        )
    }

    async fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
        counted("delete_user", self.0.delete_user(id).await)
    }

    async fn create_credential(&self, credential: &CredentialRecord) -> Result<(), StoreError> {
        counted(
            "create_credential",
            self.0.create_credential(credential).await,
        )
    }

    async fn credential_by_id(&self, id: &str) -> Result<Option<CredentialRecord>, StoreError> {
        counted("credential_by_id", self.0.credential_by_id(id).await)
    }

    async fn credential_with_user(
        &self,
        id: &str,
    ) -> Result<Option<(CredentialRecord, UserRecord)>, StoreError> {
        counted(
            "credential_with_user",
            self.0.credential_with_user(id).await,
        )
    }

    async fn credentials_for_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        counted(
            "credentials_for_user",
            self.0.credentials_for_user(user_id).await,
        )
    }

    async fn record_credential_use(&self, usage: &CredentialUsage) -> Result<bool, StoreError> {
        counted(
            "record_credential_use",
            self.0.record_credential_use(usage).await,
        )
    }

    async fn update_credential(
        &self,
        user_id: &str,
        id: &str,
        label: Option<&str>,
        metadata: Option<&Metadata>,
    ) -> Result<bool, StoreError> {
        counted(
            "update_credential",
            self.0.update_credential(user_id, id, label, metadata).await,
        )
    }

    async fn delete_credential(&self, user_id: &str, id: &str) -> Result<Guarded, StoreError> {
        counted(
            "delete_credential",
            self.0.delete_credential(user_id, id).await,
        )
    }

    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        counted("create_session", self.0.create_session(session).await)
    }

    async fn session_by_token_hash(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        counted(
            "session_by_token_hash",
            self.0.session_by_token_hash(token_hash, now).await,
        )
    }

    async fn session_with_user(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<(SessionRecord, UserRecord)>, StoreError> {
        counted(
            "session_with_user",
            self.0.session_with_user(token_hash, now).await,
        )
    }

    async fn sessions_for_user(
        &self,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        counted(
            "sessions_for_user",
            self.0.sessions_for_user(user_id, now).await,
        )
    }

    async fn delete_session(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        counted("delete_session", self.0.delete_session(user_id, id).await)
    }

    async fn delete_sessions_for_user(&self, user_id: &str) -> Result<u64, StoreError> {
        counted(
            "delete_sessions_for_user",
            self.0.delete_sessions_for_user(user_id).await,
        )
    }

    async fn create_qr_session(&self, qr: &QrSessionRecord) -> Result<(), StoreError> {
        counted("create_qr_session", self.0.create_qr_session(qr).await)
    }

    async fn qr_session_by_id(&self, id: &str) -> Result<Option<QrSessionRecord>, StoreError> {
        counted("qr_session_by_id", self.0.qr_session_by_id(id).await)
    }

    async fn qr_sessions_by_ids(&self, ids: &[String]) -> Result<Vec<QrSessionRecord>, StoreError> {
        counted("qr_sessions_by_ids", self.0.qr_sessions_by_ids(ids).await)
    }

    async fn transition_qr_session(
        &self,
        id: &str,
        change: &QrChange,
        now: Timestamp,
    ) -> Result<Option<QrSessionRecord>, StoreError> {
        counted(
            "transition_qr_session",
            self.0.transition_qr_session(id, change, now).await,
        )
    }

    async fn count_qr_confirmation_attempt(
        &self,
        id: &str,
        states: &[QrSessionState],
        max_attempts: u32,
        now: Timestamp,
    ) -> Result<Option<u32>, StoreError> {
        counted(
            "count_qr_confirmation_attempt",
            self.0
                .count_qr_confirmation_attempt(id, states, max_attempts, now)
                .await,
        )
    }

    async fn announce_qr_change(&self, message: &str) -> Result<(), StoreError> {
        counted(
            "announce_qr_change",
            self.0.announce_qr_change(message).await,
        )
    }

    async fn listen_qr_changes(&self) -> Result<Option<QrChangeFeed>, StoreError> {
        counted("listen_qr_changes", self.0.listen_qr_changes().await)
    }

    async fn put_challenge(&self, challenge: &ChallengeRecord) -> Result<(), StoreError> {
        counted("put_challenge", self.0.put_challenge(challenge).await)
    }

    async fn take_challenge(
        &self,
        challenge: &str,
        now: Timestamp,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        counted(
            "take_challenge",
            self.0.take_challenge(challenge, now).await,
        )
    }

    async fn take_challenge_and_credential(
        &self,
        challenge: &str,
        now: Timestamp,
        credential_id: &str,
    ) -> Result<ChallengeAndCredential, StoreError> {
        counted(
            "take_challenge_and_credential",
            self.0
                .take_challenge_and_credential(challenge, now, credential_id)
                .await,
        )
    }

    async fn put_magic_link(&self, link: &MagicLinkRecord) -> Result<(), StoreError> {
        counted("put_magic_link", self.0.put_magic_link(link).await)
    }

    async fn take_magic_link(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<MagicLinkRecord>, StoreError> {
        counted(
            "take_magic_link",
            self.0.take_magic_link(token_hash, now).await,
        )
    }

    async fn delete_magic_link(&self, token_hash: &TokenHash) -> Result<bool, StoreError> {
        counted(
            "delete_magic_link",
            self.0.delete_magic_link(token_hash).await,
        )
    }

    async fn put_email_link(&self, link: &EmailLinkRecord) -> Result<(), StoreError> {
        counted("put_email_link", self.0.put_email_link(link).await)
    }

    async fn take_email_link(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<EmailLinkRecord>, StoreError> {
        counted(
            "take_email_link",
            self.0.take_email_link(token_hash, now).await,
        )
    }

    async fn create_session_with_event(
        &self,
        session: &SessionRecord,
        event: &SecurityEventRecord,
    ) -> (Result<(), StoreError>, Result<(), StoreError>) {
        let (session, event) = self.0.create_session_with_event(session, event).await;
        (
            counted("create_session", session),
            counted("append_security_event", event),
        )
    }

    async fn append_security_event(&self, record: &SecurityEventRecord) -> Result<(), StoreError> {
        counted(
            "append_security_event",
            self.0.append_security_event(record).await,
        )
    }

    async fn security_events_for_user(
        &self,
        user_id: &str,
        after: Option<&EventCursor>,
        limit: usize,
    ) -> Result<Vec<SecurityEventRecord>, StoreError> {
        counted(
            "security_events_for_user",
            self.0.security_events_for_user(user_id, after, limit).await,
        )
    }

    async fn purge_security_events(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        counted(
            "purge_security_events",
            self.0.purge_security_events(cutoff).await,
        )
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<Purged, StoreError> {
        counted("purge_expired", self.0.purge_expired(now).await)
    }
}

#[cfg(test)]
mod tests {
    /// The `fn` names declared between the line `start` and the next line `}`.
    fn functions_in<'a>(source: &'a str, start: &str) -> Vec<&'a str> {
        let mut names: Vec<&str> = source
            .lines()
            .skip_while(|line| !line.starts_with(start))
            .take_while(|line| *line != "}")
            .filter_map(|line| line.split("fn ").nth(1))
            .filter_map(|rest| rest.split(['(', '<']).next())
            .collect();
        names.sort_unstable();
        names
    }

    /// Every [`Store`](crate::store::Store) method is passed on: one left out would
    /// quietly run the trait's default around the wrapped store, which is correct but
    /// can cost round trips. `credential_with_user` was left out, and every sign-in
    /// looked up its passkey and then its user instead of one JOIN or one script.
    #[test]
    fn every_store_method_is_passed_on() {
        let declared = functions_in(include_str!("../store/mod.rs"), "pub trait Store");
        let passed_on = functions_in(include_str!("store.rs"), "impl Store for MeteredStore");
        assert!(declared.len() > 30, "the trait's methods were found");
        assert_eq!(declared, passed_on);
    }
}
