//! The error type of the engine. Variants say what the caller can do about a failure;
//! [`crate::http::error`] turns them into status codes and JSON bodies in one place.

use passkey_magic_shared::RequestError;

/// What went wrong in an operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input or a broken rule; nothing was changed. The message is shown to the client.
    #[error("{0}")]
    InvalidRequest(String),
    /// A request body or field failed validation.
    #[error(transparent)]
    Request(#[from] RequestError),
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
    /// A dependency (storage, email) is unavailable; the detail is logged, not sent.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; the detail is logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
    /// A magic-link email could not be sent (the link was discarded). The client gets
    /// `503` with [`crate::magic_links::SEND_FAILED`]; the detail is logged.
    #[error("could not send email: {0}")]
    Mail(#[from] crate::mail::MailError),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<crate::store::StoreError> for Error {
    fn from(error: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match error {
            StoreError::Conflict(field) => Error::InvalidRequest(format!("{field} already in use")),
            StoreError::Unavailable(detail) => Error::Unavailable(detail),
            StoreError::Internal(detail) => Error::Internal(detail),
        }
    }
}

impl From<crate::secrets::RandomError> for Error {
    fn from(error: crate::secrets::RandomError) -> Self {
        Error::Internal(error.to_string())
    }
}

impl From<crate::hooks::Veto> for Error {
    fn from(veto: crate::hooks::Veto) -> Self {
        Error::InvalidRequest(veto.0)
    }
}

impl From<crate::qr::render::RenderError> for Error {
    fn from(error: crate::qr::render::RenderError) -> Self {
        Error::InvalidRequest(error.to_string())
    }
}
