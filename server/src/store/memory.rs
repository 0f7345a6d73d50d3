//! The in-memory store: for tests, development and single-process demos. Everything is
//! lost on restart.
//!
//! One `std::sync::Mutex` guards all maps: every operation is a short critical section
//! with no `.await` inside, which makes each one atomic (take, guarded deletes) for free.

use super::{
    ChallengeRecord, CredentialRecord, CredentialUsage, Guarded, SessionRecord, Store, StoreError,
    UserRecord,
};
use super::{EmailLinkRecord, MagicLinkRecord};
use super::{Purged, QrChange, QrSessionRecord, SecurityEventRecord};
use crate::qr::state::QrSessionState;
use crate::secrets::TokenHash;
use async_trait::async_trait;
use passkey_magic_shared::security_events::{EventCursor, SecurityEvent};
use passkey_magic_shared::{Metadata, Timestamp, email};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// A [`Store`] in process memory. Clones share the same data.
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    data: Arc<Mutex<Data>>,
}

#[derive(Debug, Default)]
struct Data {
    users: HashMap<String, UserRecord>,
    user_by_email: HashMap<String, String>,
    credentials: HashMap<String, CredentialRecord>,
    sessions: HashMap<TokenHash, SessionRecord>,
    session_by_id: HashMap<String, TokenHash>,
    challenges: HashMap<String, ChallengeRecord>,
    qr_sessions: HashMap<String, QrSessionRecord>,
    magic_links: HashMap<TokenHash, MagicLinkRecord>,
    email_links: HashMap<TokenHash, EmailLinkRecord>,
    /// Each user's security events by `(created_at, id)`: a page is a range read.
    security_events: HashMap<String, BTreeMap<EventKey, SecurityEvent>>,
    /// Every stored event id (ids are unique across users).
    security_event_ids: HashSet<String>,
}

/// Orders a user's events as the keyset cursor does.
type EventKey = (Timestamp, String);

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn data(&self) -> Result<MutexGuard<'_, Data>, StoreError> {
        self.data
            .lock()
            .map_err(|_| StoreError::Internal("memory store lock poisoned".into()))
    }
}

impl Data {
    fn has_credentials(&self, user_id: &str) -> bool {
        self.credentials.values().any(|c| c.user_id == user_id)
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let mut data = self.data()?;
        if data.users.contains_key(&user.id) {
            return Err(StoreError::Conflict("id"));
        }
        if let Some(address) = &user.email {
            let key = email::canonical(address);
            if data.user_by_email.contains_key(&key) {
                return Err(StoreError::Conflict("email"));
            }
            data.user_by_email.insert(key, user.id.clone());
        }
        data.users.insert(user.id.clone(), user.clone());
        Ok(())
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.data()?.users.get(id).cloned())
    }

    async fn user_by_email(&self, address: &str) -> Result<Option<UserRecord>, StoreError> {
        let data = self.data()?;
        Ok(data
            .user_by_email
            .get(&email::canonical(address))
            .and_then(|id| data.users.get(id))
            .cloned())
    }

    async fn set_user_email(
        &self,
        id: &str,
        new_email: Option<&str>,
    ) -> Result<Guarded, StoreError> {
        let mut data = self.data()?;
        let Some(old_email) = data.users.get(id).map(|user| user.email.clone()) else {
            return Ok(Guarded::NotFound);
        };
        match new_email {
            None if !data.has_credentials(id) => return Ok(Guarded::WouldLockOut),
            Some(address) => {
                let key = email::canonical(address);
                if data
                    .user_by_email
                    .get(&key)
                    .is_some_and(|owner| owner != id)
                {
                    return Err(StoreError::Conflict("email"));
                }
            }
            None => {}
        }
        if let Some(old) = old_email {
            data.user_by_email.remove(&email::canonical(&old));
        }
        if let Some(address) = new_email {
            data.user_by_email
                .insert(email::canonical(address), id.to_owned());
        }
        if let Some(user) = data.users.get_mut(id) {
            user.email = new_email.map(str::to_owned);
        }
        Ok(Guarded::Done)
    }

    async fn set_user_metadata(
        &self,
        id: &str,
        metadata: Option<&Metadata>,
    ) -> Result<bool, StoreError> {
        let mut data = self.data()?;
        Ok(match data.users.get_mut(id) {
            Some(user) => {
                user.metadata = metadata.cloned();
                true
            }
            None => false,
        })
    }

    async fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
        let mut data = self.data()?;
        let Some(user) = data.users.remove(id) else {
            return Ok(false);
        };
        if let Some(address) = user.email {
            data.user_by_email.remove(&email::canonical(&address));
        }
        data.credentials.retain(|_, c| c.user_id != id);
        let doomed: Vec<TokenHash> = data
            .sessions
            .iter()
            .filter(|(_, s)| s.user_id == id)
            .map(|(hash, _)| *hash)
            .collect();
        for hash in doomed {
            if let Some(session) = data.sessions.remove(&hash) {
                data.session_by_id.remove(&session.id);
            }
        }
        Ok(true)
    }

    async fn create_credential(&self, credential: &CredentialRecord) -> Result<(), StoreError> {
        let mut data = self.data()?;
        if data.credentials.contains_key(&credential.id) {
            return Err(StoreError::Conflict("id"));
        }
        if !data.users.contains_key(&credential.user_id) {
            return Err(StoreError::Internal("credential for unknown user".into()));
        }
        data.credentials
            .insert(credential.id.clone(), credential.clone());
        Ok(())
    }

    async fn credential_by_id(&self, id: &str) -> Result<Option<CredentialRecord>, StoreError> {
        Ok(self.data()?.credentials.get(id).cloned())
    }

    async fn credentials_for_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        let data = self.data()?;
        let mut found: Vec<CredentialRecord> = data
            .credentials
            .values()
            .filter(|c| c.user_id == user_id)
            .cloned()
            .collect();
        found.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(found)
    }

    async fn record_credential_use(&self, usage: &CredentialUsage) -> Result<bool, StoreError> {
        let mut data = self.data()?;
        Ok(data
            .credentials
            .get_mut(&usage.id)
            .is_some_and(|credential| usage.apply(credential)))
    }

    async fn update_credential(
        &self,
        user_id: &str,
        id: &str,
        label: Option<&str>,
        metadata: Option<&Metadata>,
    ) -> Result<bool, StoreError> {
        let mut data = self.data()?;
        match data.credentials.get_mut(id) {
            Some(credential) if credential.user_id == user_id => {
                if let Some(label) = label {
                    credential.label = Some(label.to_owned());
                }
                if let Some(metadata) = metadata {
                    credential.metadata = Some(metadata.clone());
                }
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete_credential(&self, user_id: &str, id: &str) -> Result<Guarded, StoreError> {
        let mut data = self.data()?;
        if data
            .credentials
            .get(id)
            .is_none_or(|c| c.user_id != user_id)
        {
            return Ok(Guarded::NotFound);
        }
        let others = data
            .credentials
            .values()
            .filter(|c| c.user_id == user_id && c.id != id)
            .count();
        let has_email = data
            .users
            .get(user_id)
            .is_some_and(|user| user.email.is_some());
        if others == 0 && !has_email {
            return Ok(Guarded::WouldLockOut);
        }
        data.credentials.remove(id);
        Ok(Guarded::Done)
    }

    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let mut data = self.data()?;
        if data.session_by_id.contains_key(&session.id) {
            return Err(StoreError::Conflict("id"));
        }
        // Sessions are keyed by token hash: a duplicate would silently replace the other
        // session and leave its id pointing at the wrong record.
        if data.sessions.contains_key(&session.token_hash) {
            return Err(StoreError::Conflict("token_hash"));
        }
        if !data.users.contains_key(&session.user_id) {
            return Err(StoreError::Internal("session for unknown user".into()));
        }
        data.session_by_id
            .insert(session.id.clone(), session.token_hash);
        data.sessions.insert(session.token_hash, session.clone());
        Ok(())
    }

    async fn session_by_token_hash(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self
            .data()?
            .sessions
            .get(token_hash)
            .filter(|session| session.expires_at > now)
            .cloned())
    }

    async fn session_with_user(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<(SessionRecord, UserRecord)>, StoreError> {
        // Both under one lock: one consistent view, one lock round.
        let data = self.data()?;
        let Some(session) = data
            .sessions
            .get(token_hash)
            .filter(|session| session.expires_at > now)
        else {
            return Ok(None);
        };
        Ok(data
            .users
            .get(&session.user_id)
            .map(|user| (session.clone(), user.clone())))
    }

    async fn sessions_for_user(
        &self,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let data = self.data()?;
        let mut found: Vec<SessionRecord> = data
            .sessions
            .values()
            .filter(|s| s.user_id == user_id && s.expires_at > now)
            .cloned()
            .collect();
        found.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        Ok(found)
    }

    async fn delete_session(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut data = self.data()?;
        let Some(hash) = data.session_by_id.get(id).copied() else {
            return Ok(false);
        };
        if data
            .sessions
            .get(&hash)
            .is_none_or(|s| s.user_id != user_id)
        {
            return Ok(false);
        }
        data.sessions.remove(&hash);
        data.session_by_id.remove(id);
        Ok(true)
    }

    async fn delete_sessions_for_user(&self, user_id: &str) -> Result<u64, StoreError> {
        let mut data = self.data()?;
        let doomed: Vec<(TokenHash, String)> = data
            .sessions
            .iter()
            .filter(|(_, s)| s.user_id == user_id)
            .map(|(hash, s)| (*hash, s.id.clone()))
            .collect();
        for (hash, id) in &doomed {
            data.sessions.remove(hash);
            data.session_by_id.remove(id);
        }
        Ok(doomed.len() as u64)
    }

    // ---- QR logins ----

    async fn create_qr_session(&self, qr: &QrSessionRecord) -> Result<(), StoreError> {
        let mut data = self.data()?;
        if data.qr_sessions.contains_key(&qr.id) {
            return Err(StoreError::Conflict("id"));
        }
        data.qr_sessions.insert(qr.id.clone(), qr.clone());
        Ok(())
    }

    async fn qr_session_by_id(&self, id: &str) -> Result<Option<QrSessionRecord>, StoreError> {
        Ok(self.data()?.qr_sessions.get(id).cloned())
    }

    async fn qr_sessions_by_ids(&self, ids: &[String]) -> Result<Vec<QrSessionRecord>, StoreError> {
        let data = self.data()?;
        Ok(ids
            .iter()
            .filter_map(|id| data.qr_sessions.get(id))
            .cloned()
            .collect())
    }

    async fn transition_qr_session(
        &self,
        id: &str,
        change: &QrChange,
        now: Timestamp,
    ) -> Result<Option<QrSessionRecord>, StoreError> {
        let mut data = self.data()?;
        let Some(qr) = data.qr_sessions.get_mut(id) else {
            return Ok(None);
        };
        Ok(change.apply(qr, now).then(|| qr.clone()))
    }

    async fn count_qr_confirmation_attempt(
        &self,
        id: &str,
        states: &[QrSessionState],
        max_attempts: u32,
        now: Timestamp,
    ) -> Result<Option<u32>, StoreError> {
        let mut data = self.data()?;
        Ok(data
            .qr_sessions
            .get_mut(id)
            .and_then(|qr| qr.count_confirmation_attempt(states, max_attempts, now)))
    }

    async fn put_challenge(&self, challenge: &ChallengeRecord) -> Result<(), StoreError> {
        self.data()?
            .challenges
            .insert(challenge.challenge.clone(), challenge.clone());
        Ok(())
    }

    async fn take_challenge(
        &self,
        challenge: &str,
        now: Timestamp,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        Ok(self
            .data()?
            .challenges
            .remove(challenge)
            .filter(|record| record.expires_at > now))
    }

    // ---- magic links ----

    async fn put_magic_link(&self, link: &MagicLinkRecord) -> Result<(), StoreError> {
        let mut data = self.data()?;
        if data.magic_links.contains_key(&link.token_hash) {
            return Err(StoreError::Conflict("token_hash"));
        }
        data.magic_links.insert(link.token_hash, link.clone());
        Ok(())
    }

    async fn take_magic_link(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<MagicLinkRecord>, StoreError> {
        Ok(self
            .data()?
            .magic_links
            .remove(token_hash)
            .filter(|link| link.expires_at > now))
    }

    async fn delete_magic_link(&self, token_hash: &TokenHash) -> Result<bool, StoreError> {
        Ok(self.data()?.magic_links.remove(token_hash).is_some())
    }

    async fn put_email_link(&self, link: &EmailLinkRecord) -> Result<(), StoreError> {
        let mut data = self.data()?;
        if data.email_links.contains_key(&link.token_hash) {
            return Err(StoreError::Conflict("token_hash"));
        }
        data.email_links.insert(link.token_hash, link.clone());
        Ok(())
    }

    async fn take_email_link(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<EmailLinkRecord>, StoreError> {
        Ok(self
            .data()?
            .email_links
            .remove(token_hash)
            .filter(|link| link.expires_at > now))
    }

    async fn append_security_event(&self, record: &SecurityEventRecord) -> Result<(), StoreError> {
        let mut data = self.data()?;
        let event = &record.event;
        if !data.security_event_ids.insert(event.id.clone()) {
            return Err(StoreError::Conflict("id"));
        }
        data.security_events
            .entry(record.user_id.clone())
            .or_default()
            .insert((event.created_at, event.id.clone()), event.clone());
        Ok(())
    }

    async fn security_events_for_user(
        &self,
        user_id: &str,
        after: Option<&EventCursor>,
        limit: usize,
    ) -> Result<Vec<SecurityEventRecord>, StoreError> {
        let data = self.data()?;
        let Some(events) = data.security_events.get(user_id) else {
            return Ok(Vec::new());
        };
        // A range read from the cursor down: a page never walks the pages before it.
        let older = match after {
            Some(cursor) => events.range(..(cursor.created_at, cursor.id.clone())),
            None => events.range(..),
        };
        Ok(older
            .rev()
            .take(limit)
            .map(|(_, event)| SecurityEventRecord {
                user_id: user_id.to_owned(),
                event: event.clone(),
            })
            .collect())
    }

    async fn purge_security_events(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        let mut data = self.data()?;
        let data = &mut *data;
        let mut purged = Vec::new();
        for events in data.security_events.values_mut() {
            let kept = events.split_off(&(cutoff, String::new()));
            purged.extend(
                std::mem::replace(events, kept)
                    .into_keys()
                    .map(|(_, id)| id),
            );
        }
        data.security_events.retain(|_, events| !events.is_empty());
        for id in &purged {
            data.security_event_ids.remove(id);
        }
        Ok(purged.len() as u64)
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<Purged, StoreError> {
        let mut data = self.data()?;
        let expired_qr_logins = data
            .qr_sessions
            .values()
            .filter(|qr| qr.expires_at <= now && !qr.state.is_final())
            .count() as u64;
        let links_before = data.magic_links.len() + data.email_links.len();
        data.magic_links.retain(|_, link| link.expires_at > now);
        data.email_links.retain(|_, link| link.expires_at > now);
        let purged_links = (links_before - data.magic_links.len() - data.email_links.len()) as u64;
        let before = data.sessions.len() + data.challenges.len() + data.qr_sessions.len();
        data.challenges.retain(|_, c| c.expires_at > now);
        data.qr_sessions.retain(|_, qr| qr.expires_at > now);
        let expired: Vec<(TokenHash, String)> = data
            .sessions
            .iter()
            .filter(|(_, s)| s.expires_at <= now)
            .map(|(hash, s)| (*hash, s.id.clone()))
            .collect();
        for (hash, id) in expired {
            data.sessions.remove(&hash);
            data.session_by_id.remove(&id);
        }
        let after = data.sessions.len() + data.challenges.len() + data.qr_sessions.len();
        Ok(Purged {
            rows: (before - after) as u64 + purged_links,
            expired_qr_logins,
        })
    }
}
