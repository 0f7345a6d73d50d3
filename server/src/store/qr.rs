//! The records of QR logins. Bearer secrets (status token, confirmation code) appear only
//! as hashes; the desktop's session token is never stored: the session is created when
//! the desktop claims it.

use crate::qr::state::{QrSessionState, Transition};
use crate::secrets::TokenHash;
use passkey_magic_shared::Timestamp;
use serde::{Deserialize, Serialize};

/// A QR login, from the desktop showing the code to the desktop collecting its session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrSessionRecord {
    /// The id in the QR code (not a secret from whoever sees the code).
    pub id: String,
    /// SHA-256 of the desktop's status token.
    pub status_token_hash: TokenHash,
    /// SHA-256 of the confirmation code (salted with the id), when confirmation is on.
    pub confirmation_hash: Option<TokenHash>,
    /// Where the state machine is.
    pub state: QrSessionState,
    /// Whether the right confirmation code was entered.
    pub confirmed: bool,
    /// Confirmation codes tried so far (right or wrong).
    pub confirmation_attempts: u32,
    /// The phone's user, once authenticated.
    pub user_id: Option<String>,
    /// The id the desktop's session gets, chosen when the phone authenticates.
    pub session_id: Option<String>,
    /// When the phone authenticated: the desktop session's creation time.
    pub authenticated_at: Option<Timestamp>,
    /// Creation time.
    pub created_at: Timestamp,
    /// After this the login reads as `expired` (unless final).
    pub expires_at: Timestamp,
}

/// A compare-and-set on a QR login: applied only if the row exists, is unexpired at
/// `now` and is in one of `transition.from`; then its state becomes `transition.to` and
/// the given fields are set (`None`/`false` leave a field unchanged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrChange {
    /// The allowed move.
    pub transition: Transition,
    /// Set `confirmed`.
    pub confirm: bool,
    /// Set the phone's user.
    pub user_id: Option<String>,
    /// Set the desktop session's id.
    pub session_id: Option<String>,
    /// Set the authentication time.
    pub authenticated_at: Option<Timestamp>,
    /// Move the expiry.
    pub expires_at: Option<Timestamp>,
}

impl QrSessionRecord {
    /// Counts one confirmation attempt on a record in hand, if one is allowed: the login
    /// is unexpired at `now`, unconfirmed, in one of `states`, and has had fewer than
    /// `max_attempts`. Returns the attempt's number. (The SQL stores do the same in
    /// one `UPDATE`.)
    pub fn count_confirmation_attempt(
        &mut self,
        states: &[QrSessionState],
        max_attempts: u32,
        now: Timestamp,
    ) -> Option<u32> {
        if self.expires_at <= now
            || self.confirmed
            || !states.contains(&self.state)
            || self.confirmation_attempts >= max_attempts
        {
            return None;
        }
        self.confirmation_attempts += 1;
        Some(self.confirmation_attempts)
    }
}

impl QrChange {
    /// The compare-and-set on a record in hand, for stores that read, change and write
    /// back under their own atomicity (the memory store's lock, Redis's `WATCH`-free
    /// compare-and-swap): applies the change and returns `true` only if the login is
    /// unexpired at `now` and in one of `transition.from`; otherwise leaves it as it was.
    pub fn apply(&self, qr: &mut QrSessionRecord, now: Timestamp) -> bool {
        if qr.expires_at <= now || !self.transition.from.contains(&qr.state) {
            return false;
        }
        qr.state = self.transition.to;
        qr.confirmed |= self.confirm;
        if let Some(user_id) = &self.user_id {
            qr.user_id = Some(user_id.clone());
        }
        if let Some(session_id) = &self.session_id {
            qr.session_id = Some(session_id.clone());
        }
        if let Some(at) = self.authenticated_at {
            qr.authenticated_at = Some(at);
        }
        if let Some(expires_at) = self.expires_at {
            qr.expires_at = expires_at;
        }
        true
    }

    /// A transition that changes nothing but the state.
    pub const fn state(transition: Transition) -> Self {
        QrChange {
            transition,
            confirm: false,
            user_id: None,
            session_id: None,
            authenticated_at: None,
            expires_at: None,
        }
    }
}
