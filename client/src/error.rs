//! The client's error type: what the server said (status, code, message) or why no answer
//! arrived.

use passkey_magic_shared::{ErrorBody, ErrorCode};

/// A failed call. In JavaScript it becomes an `Error` with `status`, `code` and `message`
/// (re-thrown by the npm package as `AuthClientError`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ClientError {
    /// HTTP status; `0` when no response arrived (network failure, abort, bad input).
    pub status: u16,
    /// Machine-readable category.
    pub code: ErrorCode,
    /// Human-readable message (the server's `error` field when it sent one).
    pub message: String,
}

impl ClientError {
    /// An error built from a non-success response and its body, if it was an [`ErrorBody`].
    pub fn from_response(status: u16, body: Option<ErrorBody>) -> Self {
        match body {
            Some(body) => ClientError {
                status,
                code: body.code.unwrap_or(ErrorCode::from_status(status)),
                message: body.error,
            },
            None => ClientError {
                status,
                code: ErrorCode::from_status(status),
                message: format!("HTTP {status}"),
            },
        }
    }

    /// A failure before or instead of a response (network, abort, unreadable body).
    pub fn transport(message: impl Into<String>) -> Self {
        ClientError {
            status: 0,
            code: ErrorCode::Unavailable,
            message: message.into(),
        }
    }

    /// The caller aborted the call (its `AbortSignal` fired).
    pub fn aborted() -> Self {
        ClientError {
            status: 0,
            code: ErrorCode::Unavailable,
            message: "The operation was aborted".into(),
        }
    }

    /// A wait ran out of time.
    pub fn timed_out(message: impl Into<String>) -> Self {
        ClientError {
            status: 0,
            code: ErrorCode::Unavailable,
            message: message.into(),
        }
    }

    /// A bad argument caught on the client, before any request.
    pub fn invalid(message: impl Into<String>) -> Self {
        ClientError {
            status: 0,
            code: ErrorCode::InvalidRequest,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_the_server_message_and_code() {
        let error = ClientError::from_response(
            429,
            Some(ErrorBody::new(ErrorCode::RateLimited, "Too many requests")),
        );
        assert_eq!(error.status, 429);
        assert_eq!(error.code, ErrorCode::RateLimited);
        assert_eq!(error.to_string(), "Too many requests");
    }

    #[test]
    fn v04_bodies_and_non_json_bodies_still_classify() {
        let v04 = ClientError::from_response(
            401,
            Some(ErrorBody {
                error: "Unauthorized".into(),
                code: None,
            }),
        );
        assert_eq!(v04.code, ErrorCode::Unauthorized);
        let html = ClientError::from_response(502, None);
        assert_eq!(
            (html.code, html.message.as_str()),
            (ErrorCode::Internal, "HTTP 502")
        );
    }
}
