//! The records the engine keeps. Bearer secrets appear only as hashes.

use crate::secrets::TokenHash;
use passkey_magic_shared::security_events::SecurityEvent;
use passkey_magic_shared::{AuthContext, AuthMethod, Metadata, Timestamp};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, Passkey, PasskeyAuthentication, PasskeyRegistration,
};

/// An account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRecord {
    /// Stable id.
    pub id: String,
    /// Linked email as the user typed it; unique case-insensitively.
    pub email: Option<String>,
    /// The WebAuthn user handle: random, stable, never shown as the id.
    pub user_handle: Uuid,
    /// Creation time.
    pub created_at: Timestamp,
    /// App metadata (a JSON object).
    pub metadata: Option<Metadata>,
}

/// A registered passkey.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CredentialRecord {
    /// Credential id, base64url.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// webauthn-rs's verified credential (key, counter, flags), used for sign-in.
    pub passkey: Passkey,
    /// The COSE public key as registered.
    pub public_key: Vec<u8>,
    /// Last signature counter seen.
    pub counter: u32,
    /// May be synced to other devices.
    pub backup_eligible: bool,
    /// Currently backed up.
    pub backed_up: bool,
    /// Transports the authenticator reported.
    pub transports: Vec<String>,
    /// Authenticator model id (all zeros for many synced passkeys).
    pub aaguid: Option<Uuid>,
    /// User label.
    pub label: Option<String>,
    /// Registration time.
    pub created_at: Timestamp,
    /// Last successful sign-in.
    pub last_used_at: Option<Timestamp>,
    /// App metadata (a JSON object).
    pub metadata: Option<Metadata>,
}

/// What a successful sign-in changes on a credential.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CredentialUsage {
    /// The credential.
    pub id: String,
    /// The passkey with its updated counter and backup state.
    pub passkey: Passkey,
    /// New counter.
    pub counter: u32,
    /// New backup state.
    pub backed_up: bool,
    /// When it was used.
    pub used_at: Timestamp,
}

impl CredentialUsage {
    /// Whether this use may replace a stored counter: it must be greater, unless both
    /// are 0 (an authenticator that keeps no counter).
    pub fn advances(&self, stored_counter: u32) -> bool {
        self.counter > stored_counter || (self.counter == 0 && stored_counter == 0)
    }

    /// Records this use on a credential in hand if its counter [advances](Self::advances);
    /// `false` (and nothing changed) otherwise.
    pub fn apply(&self, credential: &mut CredentialRecord) -> bool {
        if !self.advances(credential.counter) {
            return false;
        }
        credential.passkey = self.passkey.clone();
        credential.counter = self.counter;
        credential.backed_up = self.backed_up;
        credential.last_used_at = Some(self.used_at);
        true
    }
}

/// A signed-in session. Only the token's hash is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// Public id (for listing and revoking).
    pub id: String,
    /// SHA-256 of the bearer token.
    pub token_hash: TokenHash,
    /// Owner.
    pub user_id: String,
    /// How the user signed in.
    pub auth_method: AuthMethod,
    /// Creation time.
    pub created_at: Timestamp,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Client's User-Agent.
    pub user_agent: Option<String>,
    /// Client address.
    pub ip_address: Option<String>,
    /// Extra context (QR login).
    pub auth_context: Option<AuthContext>,
}

/// A WebAuthn ceremony waiting for the browser's answer, stored under its challenge.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChallengeRecord {
    /// The challenge, base64url (as it appears in `clientDataJSON`).
    pub challenge: String,
    /// What the answer may finish.
    pub ceremony: Ceremony,
    /// When the challenge stops being accepted.
    pub expires_at: Timestamp,
}

/// The kinds of pending ceremony. Tagged so that an answer can only finish the ceremony
/// it was started for (a registration cannot finish a sign-in).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ceremony {
    /// Sign-up: a new user gets its first passkey.
    Registration {
        /// The id the new user will get.
        user_id: String,
        /// Its WebAuthn user handle.
        user_handle: Uuid,
        /// Email hint to store on the new user.
        email: Option<String>,
        /// webauthn-rs state.
        state: PasskeyRegistration,
    },
    /// A signed-in user adds a passkey.
    AddPasskey {
        /// The user.
        user_id: String,
        /// webauthn-rs state.
        state: PasskeyRegistration,
    },
    /// Sign-in restricted to one user's passkeys.
    ScopedSignIn {
        /// The user.
        user_id: String,
        /// webauthn-rs state.
        state: PasskeyAuthentication,
    },
    /// Usernameless sign-in with a discoverable passkey.
    DiscoverableSignIn {
        /// webauthn-rs state.
        state: DiscoverableAuthentication,
    },
    /// A sign-in (scoped or discoverable) whose answer may only complete one QR login.
    QrSignIn {
        /// The QR login it is bound to.
        qr_session_id: String,
        /// The sign-in itself: [`Ceremony::ScopedSignIn`] or
        /// [`Ceremony::DiscoverableSignIn`].
        sign_in: Box<Ceremony>,
    },
}

/// A magic link waiting to be used, stored under the SHA-256 hash of its token (the token
/// itself is only in the email).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MagicLinkRecord {
    /// SHA-256 of the link's token.
    pub token_hash: TokenHash,
    /// Where the link was sent, as typed; the user it signs in is looked up by it
    /// (case-insensitively) when the link is used.
    pub email: String,
    /// When the link was sent.
    pub created_at: Timestamp,
    /// When the link stops working.
    pub expires_at: Timestamp,
}

/// An email waiting to be linked to a user: `link-email` sent a confirmation link to it,
/// and only using that link attaches the address (verified email linking).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailLinkRecord {
    /// SHA-256 of the confirmation link's token.
    pub token_hash: TokenHash,
    /// The user who asked to link the address.
    pub user_id: String,
    /// The address, as typed.
    pub email: String,
    /// When the confirmation was sent.
    pub created_at: Timestamp,
    /// When the confirmation link stops working.
    pub expires_at: Timestamp,
}

/// One entry of a user's security log ([`Store::append_security_event`]): the event as
/// the user sees it, and whose it is. Never holds a token or a secret.
///
/// [`Store::append_security_event`]: super::Store::append_security_event
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityEventRecord {
    /// The user the event is about.
    pub user_id: String,
    /// The event (its id, type, time and details).
    pub event: SecurityEvent,
}
