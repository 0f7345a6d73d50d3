//! Lifecycle hooks: `before_*` may veto an operation (the caller gets `400` with the
//! hook's message and nothing is changed); `after_*` observe a completed one.
//!
//! Hooks never receive a bearer secret: every [`Session`] handed to a hook has
//! `token: None`, on every path (sign-up, passkey, magic link, QR).
//!
//! ```
//! use passkey_magic_server::hooks::{Hooks, RegisterAttempt, Veto};
//!
//! struct NoExampleDotOrg;
//!
//! #[async_trait::async_trait]
//! impl Hooks for NoExampleDotOrg {
//!     async fn before_register(&self, attempt: &RegisterAttempt<'_>) -> Result<(), Veto> {
//!         match attempt.email {
//!             Some(email) if email.ends_with("@example.org") => {
//!                 Err(Veto::new("Sign-ups from example.org are closed"))
//!             }
//!             _ => Ok(()),
//!         }
//!     }
//! }
//! ```

use async_trait::async_trait;
use passkey_magic_shared::{AuthMethod, Session, User};

/// A hook's refusal; its message is shown to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Veto(pub String);

impl Veto {
    /// A refusal with a message for the user.
    pub fn new(message: impl Into<String>) -> Self {
        Veto(message.into())
    }
}

/// A passkey sign-up about to start.
#[derive(Debug, Clone, Copy)]
pub struct RegisterAttempt<'a> {
    /// The id the new user will get.
    pub user_id: &'a str,
    /// The email hint, if any.
    pub email: Option<&'a str>,
}

/// A sign-in about to create a session.
#[derive(Debug, Clone, Copy)]
pub struct SignInAttempt<'a> {
    /// The user signing in.
    pub user: &'a User,
    /// How.
    pub method: AuthMethod,
}

/// A signed-in user about to add a passkey.
#[derive(Debug, Clone, Copy)]
pub struct AddPasskeyAttempt<'a> {
    /// The user.
    pub user: &'a User,
}

/// A user about to link an email.
#[derive(Debug, Clone, Copy)]
pub struct LinkEmailAttempt<'a> {
    /// The user.
    pub user: &'a User,
    /// The email to link.
    pub email: &'a str,
}

/// Someone asked for a magic link.
#[derive(Debug, Clone, Copy)]
pub struct MagicLinkAttempt<'a> {
    /// Where the link goes, as typed (valid syntax).
    pub email: &'a str,
}

/// A phone about to complete a QR login (sign a desktop in).
#[derive(Debug, Clone, Copy)]
pub struct QrCompleteAttempt<'a> {
    /// The phone's user, who will be signed in on the desktop.
    pub user: &'a User,
    /// The QR login.
    pub qr_session_id: &'a str,
}

/// App callbacks around the engine's operations. Every method has a default that allows
/// (or ignores), so implement only what you need.
#[async_trait]
pub trait Hooks: Send + Sync + 'static {
    /// Before a new user is created: passkey sign-up options are issued, or a magic link
    /// is verified for an email nobody has yet.
    async fn before_register(&self, _attempt: &RegisterAttempt<'_>) -> Result<(), Veto> {
        Ok(())
    }

    /// After a new user registered a passkey and got a session (without its token).
    async fn after_register(&self, _user: &User, _session: &Session) {}

    /// Before a sign-in (passkey, and later magic link or QR) creates a session.
    async fn before_authenticate(&self, _attempt: &SignInAttempt<'_>) -> Result<(), Veto> {
        Ok(())
    }

    /// After a sign-in created a session (without its token).
    async fn after_authenticate(&self, _user: &User, _session: &Session) {}

    /// Before a signed-in user is offered options to add a passkey.
    async fn before_add_passkey(&self, _attempt: &AddPasskeyAttempt<'_>) -> Result<(), Veto> {
        Ok(())
    }

    /// Before an email is linked to a user.
    async fn before_link_email(&self, _attempt: &LinkEmailAttempt<'_>) -> Result<(), Veto> {
        Ok(())
    }

    // ---- QR login ----

    /// Before a phone completes a QR login (after its passkey was verified, before the
    /// login is marked authenticated). `before_authenticate` runs too, with method `qr`.
    async fn before_qr_complete(&self, _attempt: &QrCompleteAttempt<'_>) -> Result<(), Veto> {
        Ok(())
    }

    /// After a phone completed a QR login: the user and the desktop's session to be
    /// (without token). `after_authenticate` runs when the desktop collects it.
    async fn after_qr_complete(&self, _user: &User, _session: &Session) {}

    // ---- magic links ----

    /// Before a magic link is created and sent; a veto sends and stores nothing.
    async fn before_magic_link(&self, _attempt: &MagicLinkAttempt<'_>) -> Result<(), Veto> {
        Ok(())
    }

    /// After a magic link was handed to the email sender.
    async fn after_magic_link(&self, _attempt: &MagicLinkAttempt<'_>) {}
}

/// The hooks used when an app installs none: allow everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl Hooks for NoHooks {}
