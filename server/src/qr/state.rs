//! The QR login state machine: the stored states, the allowed transitions (as data), and
//! how a stored row reads at a given time.
//!
//! ```text
//!  created ──scan──▶ scanned ──challenge──▶ challenged
//!     │                │ ▲ confirm             │
//!     │                └─┘                     │
//!     │                │ authenticate (unbound │ authenticate (challenge bound
//!     │                ▼   challenge)          ▼   to this QR login)
//!     │            authenticated ──claim──▶ claimed
//!     │                │
//!     └──cancel / lock-out (from any state before `claimed`)──▶ cancelled
//! ```
//!
//! Every transition is applied by the store as a compare-and-set (`from` states → `to`,
//! only while the row is unexpired), so of racing requests exactly one wins.
//!
//! **Expiry is derived, never stored**: a row whose `expires_at` has passed reads as
//! `expired` unless it already reached a final state (`claimed` or `cancelled`). An
//! `authenticated` row that the desktop did not claim in time expires too: nobody got a
//! session from it.
//!
//! `claimed` is internal: on the wire it is `authenticated` (the desktop collected its
//! session token; later polls report the state only).

use passkey_magic_shared::{QrState, Timestamp};
use serde::{Deserialize, Serialize};

/// The stored state of a QR login. `expired` is not stored: see [`QrSessionState::at`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QrSessionState {
    /// Shown on the desktop, not yet scanned.
    Created,
    /// A phone opened it.
    Scanned,
    /// The phone asked for a passkey challenge bound to this login.
    Challenged,
    /// The phone's passkey was verified; the desktop has not collected its session yet.
    Authenticated,
    /// The desktop collected its session (exactly once).
    Claimed,
    /// Cancelled by the desktop, or after too many wrong confirmation codes.
    Cancelled,
}

impl QrSessionState {
    /// Every stored state.
    pub const ALL: [QrSessionState; 6] = [
        QrSessionState::Created,
        QrSessionState::Scanned,
        QrSessionState::Challenged,
        QrSessionState::Authenticated,
        QrSessionState::Claimed,
        QrSessionState::Cancelled,
    ];

    /// The name stored in SQL columns (`created`, `scanned`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            QrSessionState::Created => "created",
            QrSessionState::Scanned => "scanned",
            QrSessionState::Challenged => "challenged",
            QrSessionState::Authenticated => "authenticated",
            QrSessionState::Claimed => "claimed",
            QrSessionState::Cancelled => "cancelled",
        }
    }

    /// Parses [`QrSessionState::as_str`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == name)
    }

    /// Whether the state can no longer change, whatever the time.
    pub const fn is_final(self) -> bool {
        matches!(self, QrSessionState::Claimed | QrSessionState::Cancelled)
    }

    /// How a row in this state with this expiry reads at `now`.
    pub fn at(self, expires_at: Timestamp, now: Timestamp) -> QrState {
        if !self.is_final() && expires_at <= now {
            return QrState::Expired;
        }
        match self {
            QrSessionState::Created => QrState::Created,
            QrSessionState::Scanned => QrState::Scanned,
            QrSessionState::Challenged => QrState::Challenged,
            QrSessionState::Authenticated | QrSessionState::Claimed => QrState::Authenticated,
            QrSessionState::Cancelled => QrState::Cancelled,
        }
    }
}

/// One allowed move of the state machine: from any of `from` to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// A name for logs and docs.
    pub name: &'static str,
    /// The states it may start from.
    pub from: &'static [QrSessionState],
    /// The state it leads to.
    pub to: QrSessionState,
}

use QrSessionState::{Authenticated, Cancelled, Challenged, Claimed, Created, Scanned};

/// A phone opened the QR code.
pub const SCAN: Transition = Transition {
    name: "scan",
    from: &[Created],
    to: Scanned,
};

/// The phone entered the right confirmation code (sets `confirmed`; the state stays).
pub const CONFIRM: Transition = Transition {
    name: "confirm",
    from: &[Scanned],
    to: Scanned,
};

/// The phone asked for a challenge bound to this login (again, if its first prompt failed).
pub const CHALLENGE: Transition = Transition {
    name: "challenge",
    from: &[Scanned, Challenged],
    to: Challenged,
};

/// A verified assertion whose challenge was bound to this login.
pub const AUTHENTICATE_BOUND: Transition = Transition {
    name: "authenticate",
    from: &[Challenged],
    to: Authenticated,
};

/// A verified assertion from a client that does not bind challenges (v0.4).
pub const AUTHENTICATE_UNBOUND: Transition = Transition {
    name: "authenticate",
    from: &[Scanned],
    to: Authenticated,
};

/// The desktop collects its session: happens once.
pub const CLAIM: Transition = Transition {
    name: "claim",
    from: &[Authenticated],
    to: Claimed,
};

/// The desktop gives up (even after the phone authenticated: no session exists until the
/// desktop claims it, so cancelling then still means nobody signs in).
pub const CANCEL: Transition = Transition {
    name: "cancel",
    from: &[Created, Scanned, Challenged, Authenticated],
    to: Cancelled,
};

/// Too many wrong confirmation codes.
pub const LOCK_OUT: Transition = Transition {
    name: "lock-out",
    from: &[Created, Scanned, Challenged],
    to: Cancelled,
};

/// States in which a confirmation code may be tried.
pub const CONFIRMABLE: &[QrSessionState] = &[Scanned];

/// Every transition.
pub const TRANSITIONS: [Transition; 8] = [
    SCAN,
    CONFIRM,
    CHALLENGE,
    AUTHENTICATE_BOUND,
    AUTHENTICATE_UNBOUND,
    CLAIM,
    CANCEL,
    LOCK_OUT,
];

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timestamp = Timestamp::from_unix_millis(1_000_000);

    #[test]
    fn names_round_trip() {
        for state in QrSessionState::ALL {
            assert_eq!(QrSessionState::from_name(state.as_str()), Some(state));
            assert_eq!(
                serde_json::to_value(state).unwrap(),
                serde_json::Value::String(state.as_str().into())
            );
        }
        assert_eq!(QrSessionState::from_name("expired"), None);
    }

    #[test]
    fn expiry_is_derived_from_the_time() {
        let later = T.plus_millis(1);
        assert_eq!(Created.at(later, T), QrState::Created);
        assert_eq!(Created.at(T, T), QrState::Expired);
        assert_eq!(Challenged.at(T, later), QrState::Expired);
        // Not collected in time: nobody got a session, so it expired.
        assert_eq!(Authenticated.at(T, later), QrState::Expired);
        // Final states stay what they are.
        assert_eq!(Claimed.at(T, later), QrState::Authenticated);
        assert_eq!(Cancelled.at(T, later), QrState::Cancelled);
    }

    #[test]
    fn nothing_leaves_a_final_state() {
        for transition in TRANSITIONS {
            assert!(
                transition.from.iter().all(|state| !state.is_final()),
                "{} starts from a final state",
                transition.name
            );
        }
    }

    #[test]
    fn the_desktop_session_is_claimed_only_after_authentication() {
        let into_claimed: Vec<_> = TRANSITIONS.iter().filter(|t| t.to == Claimed).collect();
        assert_eq!(into_claimed, [&CLAIM]);
        assert_eq!(CLAIM.from, [Authenticated]);
        let into_authenticated: Vec<_> = TRANSITIONS
            .iter()
            .filter(|t| t.to == Authenticated)
            .flat_map(|t| t.from)
            .collect();
        assert_eq!(into_authenticated, [&Challenged, &Scanned]);
    }
}
