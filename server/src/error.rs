//! The error type of the engine. Variants say what the caller can do about a failure;
//! [`crate::http::error`] turns them into status codes and JSON bodies in one place.
//!
//! - A refused request carries a typed [`Reason`]; its wire message is written once, in
//!   [`Reason::message`], and code branches on the reason, never on text.
//! - Failures of dependencies keep their cause as the [`std::error::Error::source`] of
//!   [`UnavailableError`] or [`InternalError`]; the HTTP layer logs the whole chain and
//!   sends only a generic message.
//! - A storage uniqueness conflict is a client error only where the engine expects one
//!   (an email in use, a user id or passkey that exists); anywhere else it concerns an id
//!   the server generated, and it is an internal error (`500`, logged), not a `400`.

use crate::mail::MailError;
use crate::qr::render::RenderError;
use crate::rate_limit::{LimiterError, Refusal};
use crate::secrets::RandomError;
use crate::store::StoreError;
use passkey_magic_shared::RequestError;
use passkey_magic_shared::error::messages::MAGIC_LINK_NOT_CONFIGURED;

/// What went wrong in an operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input or a broken rule; nothing was changed. The reason's message is shown to
    /// the client.
    #[error("{0}")]
    InvalidRequest(Reason),
    /// A request body or field failed validation.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// An app hook refused the operation; its message is shown to the client.
    #[error("{0}")]
    Vetoed(#[from] crate::hooks::Veto),
    /// Missing, invalid or expired credentials.
    #[error("Unauthorized")]
    Unauthorized,
    /// Unknown route, or a resource the caller does not own.
    #[error("Not found")]
    NotFound,
    /// Too many requests; retry after this many seconds.
    #[error("Too many requests")]
    RateLimited {
        /// Seconds until the budget refills.
        retry_after_seconds: u64,
    },
    /// A dependency (storage, rate limiter) is unavailable; the cause is logged, not sent.
    #[error("service unavailable")]
    Unavailable(#[source] UnavailableError),
    /// A bug or an unexpected failure; the cause is logged, not sent.
    #[error("internal error")]
    Internal(#[source] InternalError),
    /// A magic-link email could not be sent (the link was discarded). The client gets
    /// `503` with [`crate::magic_links::SEND_FAILED`]; the cause is logged.
    #[error("could not send email")]
    Mail(#[source] MailError),
    /// A request body that is not `application/json` (`415`).
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    /// A request body over the size limit (`413`).
    #[error("Request body too large")]
    PayloadTooLarge,
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a request was refused (`400`). [`Reason::message`] is the text the client gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    // ---- passkeys ----
    /// The answer does not match a pending, unexpired ceremony of the right kind.
    ChallengeExpired,
    /// webauthn-rs rejected the answer (origin, rp id, signature, user verification,
    /// counter).
    VerificationFailed,
    /// No stored credential has the answer's id.
    UnknownPasskey,
    /// `register/options` for a user id that exists.
    UserExists,
    /// The credential is registered already.
    PasskeyExists,
    /// Scoped sign-in for a user without passkeys.
    NoPasskeys,
    /// Removing the last way in.
    RemoveLockout,
    // ---- accounts ----
    /// An email that is not valid syntax.
    InvalidEmail,
    /// An email that belongs to another user.
    EmailInUse,
    /// Unlinking the email of a user without a passkey.
    UnlinkLockout,
    /// Unlinking the email of a user who has none.
    NoEmailToUnlink,
    // ---- magic links ----
    /// Magic links are not configured on this server.
    MagicLinkNotConfigured,
    /// A magic-link token that is unknown, used or expired.
    InvalidMagicLink,
    // ---- QR login ----
    /// The QR login's time ran out.
    QrExpired,
    /// The desktop cancelled it, or too many wrong codes were entered.
    QrCancelled,
    /// A phone completed it already.
    QrAlreadyCompleted,
    /// Confirming or completing before scanning.
    QrNotScanned,
    /// Completing (or asking for a challenge) before the right confirmation code.
    QrConfirmationRequired,
    /// A wrong confirmation code.
    InvalidConfirmationCode,
    /// The attempt that used up the last try.
    ConfirmationLocked,
    /// A challenge bound to this login was issued, but the answer used an unbound one.
    QrChallengeMismatch,
    /// The phone's user was deleted before the desktop collected its session.
    QrUserGone,
    /// The data does not fit in a QR code.
    QrDataTooLong,
}

impl Reason {
    /// The message the client gets (the protocol's `error` field).
    pub const fn message(self) -> &'static str {
        match self {
            Reason::ChallengeExpired => "Challenge expired or not found",
            Reason::VerificationFailed => "Passkey verification failed",
            Reason::UnknownPasskey => "Passkey not recognised",
            Reason::UserExists => "User already exists",
            Reason::PasskeyExists => "Passkey already registered",
            Reason::NoPasskeys => "No passkeys registered for this user",
            Reason::RemoveLockout => "Cannot remove the last passkey of an account without email",
            Reason::InvalidEmail => "Invalid email",
            Reason::EmailInUse => "Email already in use",
            Reason::UnlinkLockout => "Cannot unlink the email of an account without a passkey",
            Reason::NoEmailToUnlink => "No email linked to this account",
            Reason::MagicLinkNotConfigured => MAGIC_LINK_NOT_CONFIGURED,
            Reason::InvalidMagicLink => "Invalid or expired magic link",
            Reason::QrExpired => "QR session expired",
            Reason::QrCancelled => "QR session cancelled",
            Reason::QrAlreadyCompleted => "QR session already completed",
            Reason::QrNotScanned => "QR session not scanned",
            Reason::QrConfirmationRequired => "QR confirmation code required",
            Reason::InvalidConfirmationCode => "Invalid confirmation code",
            Reason::ConfirmationLocked => {
                "Too many invalid confirmation codes: QR session cancelled"
            }
            Reason::QrChallengeMismatch => "Challenge was not issued for this QR session",
            Reason::QrUserGone => "QR session user no longer exists",
            Reason::QrDataTooLong => "Data too long for a QR code",
        }
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl From<Reason> for Error {
    fn from(reason: Reason) -> Self {
        Error::InvalidRequest(reason)
    }
}

/// A dependency that cannot be reached right now (retryable; `503`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnavailableError {
    /// The storage backend.
    #[error("storage unavailable")]
    Store(#[source] StoreError),
    /// The shared rate limiter (with [`crate::rate_limit::FailureMode::Closed`]).
    #[error("rate limiter unavailable")]
    Limiter(#[source] LimiterError),
}

/// An unexpected failure (`500`): a bug, corrupt data, or a broken dependency.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InternalError {
    /// The storage backend failed (not an outage).
    #[error("storage failed")]
    Store(#[source] StoreError),
    /// The store refused a value the server generated as not unique (the field named).
    #[error("storage conflict on a server-generated {0}")]
    UnexpectedConflict(&'static str),
    /// The OS random number generator failed.
    #[error("no randomness")]
    Random(#[source] RandomError),
    /// webauthn-rs could not start a ceremony.
    #[error("cannot start a WebAuthn ceremony")]
    WebAuthn(#[source] webauthn_rs::prelude::WebauthnError),
    /// Stored metadata does not fit the app's metadata type, or the app's type cannot be
    /// encoded.
    #[error("metadata does not fit the app's type")]
    Metadata(#[source] serde_json::Error),
    /// A rule the engine relies on does not hold.
    #[error("broken invariant: {0}")]
    Invariant(&'static str),
    /// The app's [`crate::axum::HostSessions`] hook failed.
    #[error("the app's session hook failed")]
    HostSession(#[source] crate::axum::HostError),
}

impl Error {
    /// An internal error for a rule the engine relies on that does not hold.
    pub(crate) fn invariant(what: &'static str) -> Self {
        Error::Internal(InternalError::Invariant(what))
    }
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            // Conflicts the engine expects are handled where they can happen; one that
            // reaches this point is about an id the server generated.
            StoreError::Conflict(field) => {
                Error::Internal(InternalError::UnexpectedConflict(field))
            }
            StoreError::Unavailable(_) => Error::Unavailable(UnavailableError::Store(error)),
            StoreError::Internal(_) => Error::Internal(InternalError::Store(error)),
        }
    }
}

impl From<LimiterError> for Error {
    fn from(error: LimiterError) -> Self {
        Error::Unavailable(UnavailableError::Limiter(error))
    }
}

impl From<RenderError> for Error {
    fn from(_: RenderError) -> Self {
        Error::InvalidRequest(Reason::QrDataTooLong)
    }
}

impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Limited { retry_after } => Error::RateLimited {
                retry_after_seconds: u64::try_from(retry_after.as_millis().div_ceil(1000))
                    .unwrap_or(u64::MAX)
                    .max(1),
            },
            Refusal::Unavailable(error) => error.into(),
        }
    }
}

impl From<RandomError> for Error {
    fn from(error: RandomError) -> Self {
        Error::Internal(InternalError::Random(error))
    }
}

impl From<webauthn_rs::prelude::WebauthnError> for Error {
    fn from(error: webauthn_rs::prelude::WebauthnError) -> Self {
        Error::Internal(InternalError::WebAuthn(error))
    }
}

impl From<MailError> for Error {
    fn from(error: MailError) -> Self {
        match error {
            MailError::InvalidRecipient(_) => Error::InvalidRequest(Reason::InvalidEmail),
            other => Error::Mail(other),
        }
    }
}

/// `error: cause: cause…`, for logs.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_and_stray_conflicts_differ() {
        let stray = Error::from(StoreError::Conflict("id"));
        assert!(matches!(
            stray,
            Error::Internal(InternalError::UnexpectedConflict("id"))
        ));
        assert!(!stray.to_string().contains("id"), "{stray}");
    }

    #[test]
    fn causes_are_kept_as_sources() {
        let error = Error::from(StoreError::Unavailable("connection refused".into()));
        let text = chain(&error);
        assert_eq!(
            text,
            "service unavailable: storage unavailable: storage unavailable: connection refused"
        );
        assert_eq!(
            Error::from(Reason::EmailInUse).to_string(),
            "Email already in use"
        );
    }
}
