//! Typed events an app can subscribe to (`auth.subscribe()`), e.g. for audit logs or
//! welcome emails. Delivery is best-effort and in-process: a slow subscriber that falls
//! more than [`EVENT_BUFFER`] events behind misses the oldest (it is told how many).

use passkey_magic_shared::AuthMethod;
use tokio::sync::broadcast;

/// Events kept for a subscriber that has not read them yet.
pub const EVENT_BUFFER: usize = 1024;

/// Something that happened. Carries ids (and the recipient of a magic link), never
/// secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// `user:created`.
    UserCreated {
        /// The new user.
        user_id: String,
    },
    /// `user:deleted`.
    UserDeleted {
        /// The deleted user.
        user_id: String,
    },
    /// `session:created`.
    SessionCreated {
        /// The session.
        session_id: String,
        /// Its user.
        user_id: String,
        /// How the user signed in.
        method: AuthMethod,
    },
    /// `session:revoked` (one session).
    SessionRevoked {
        /// The session.
        session_id: String,
        /// Its user.
        user_id: String,
    },
    /// All of a user's sessions were revoked.
    SessionsRevoked {
        /// The user.
        user_id: String,
        /// How many sessions ended.
        count: u64,
    },
    /// `credential:created`.
    CredentialCreated {
        /// The passkey.
        credential_id: String,
        /// Its user.
        user_id: String,
    },
    /// `credential:updated` (label or metadata).
    CredentialUpdated {
        /// The passkey.
        credential_id: String,
        /// Its user.
        user_id: String,
    },
    /// `credential:removed`.
    CredentialRemoved {
        /// The passkey.
        credential_id: String,
        /// Its user.
        user_id: String,
    },
    /// `email:linked`.
    EmailLinked {
        /// The user.
        user_id: String,
    },
    /// `email:unlinked`.
    EmailUnlinked {
        /// The user.
        user_id: String,
    },
    /// `magic-link:sent`: a sign-in link was handed to the email sender.
    MagicLinkSent {
        /// The recipient, as typed (whether or not it has an account).
        email: String,
    },
    /// `qr:scanned`: a phone opened a QR login.
    QrScanned {
        /// The QR login.
        qr_session_id: String,
    },
    /// `qr:completed`: a phone signed a desktop in.
    QrCompleted {
        /// The QR login.
        qr_session_id: String,
        /// The user signed in on the desktop.
        user_id: String,
    },
}

impl Event {
    /// The v0.4-style name (`session:created`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Event::UserCreated { .. } => "user:created",
            Event::UserDeleted { .. } => "user:deleted",
            Event::SessionCreated { .. } => "session:created",
            Event::SessionRevoked { .. } | Event::SessionsRevoked { .. } => "session:revoked",
            Event::CredentialCreated { .. } => "credential:created",
            Event::CredentialUpdated { .. } => "credential:updated",
            Event::CredentialRemoved { .. } => "credential:removed",
            Event::EmailLinked { .. } => "email:linked",
            Event::EmailUnlinked { .. } => "email:unlinked",
            Event::QrScanned { .. } => "qr:scanned",
            Event::QrCompleted { .. } => "qr:completed",
            Event::MagicLinkSent { .. } => "magic-link:sent",
        }
    }
}

/// The sending side, owned by the `Auth` handle.
#[derive(Debug, Clone)]
pub(crate) struct Events(broadcast::Sender<Event>);

impl Events {
    pub(crate) fn new() -> Self {
        Events(broadcast::channel(EVENT_BUFFER).0)
    }

    /// Publishes an event; having no subscriber is fine.
    pub(crate) fn emit(&self, event: Event) {
        let _ = self.0.send(event);
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.0.subscribe()
    }
}
