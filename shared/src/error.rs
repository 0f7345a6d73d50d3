//! The error body every failure carries, and the request errors of the protocol.

use serde::{Deserialize, Serialize};

/// `{"error": "<human readable message>", "code": "<machine readable>"}`.
///
/// `error` is the v0.4 field; `code` is our addition (clients that do not know it ignore
/// it) so programs can branch without matching on prose.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong, safe to show to the user.
    pub error: String,
    /// A stable machine-readable category.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<ErrorCode>,
}

impl ErrorBody {
    /// A body with a message and a code.
    pub fn new(code: ErrorCode, error: impl Into<String>) -> Self {
        ErrorBody {
            error: error.into(),
            code: Some(code),
        }
    }
}

/// Machine-readable error categories, each tied to one HTTP status.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: the request is malformed or breaks a rule; nothing was changed.
    InvalidRequest,
    /// 401: missing, invalid or expired credentials (session or status token).
    Unauthorized,
    /// 404: unknown route, or a resource the caller does not own.
    NotFound,
    /// 429: too many requests; retry after the `Retry-After` header's seconds.
    RateLimited,
    /// 500: an internal failure (details are logged on the server, never sent).
    Internal,
    /// 503: storage or email delivery is unavailable; retry later.
    Unavailable,
}

impl ErrorCode {
    /// Every category.
    pub const ALL: [ErrorCode; 6] = [
        ErrorCode::InvalidRequest,
        ErrorCode::Unauthorized,
        ErrorCode::NotFound,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
    ];

    /// The wire name (`invalid_request`, ...), as serde writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::NotFound => "not_found",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
            ErrorCode::Unavailable => "unavailable",
        }
    }

    /// The category with this wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|code| code.as_str() == name)
    }

    /// The HTTP status code of this category.
    pub const fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::NotFound => 404,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
        }
    }

    /// The category of an HTTP status, for bodies that carry no `code` (v0.4 servers).
    pub const fn from_status(status: u16) -> Self {
        match status {
            401 | 403 => ErrorCode::Unauthorized,
            404 => ErrorCode::NotFound,
            429 => ErrorCode::RateLimited,
            503 => ErrorCode::Unavailable,
            400..=499 => ErrorCode::InvalidRequest,
            _ => ErrorCode::Internal,
        }
    }
}

/// Messages the protocol fixes, shared so server and tests cannot drift apart.
pub mod messages {
    /// Unknown route or method.
    pub const NOT_FOUND: &str = "Not found";
    /// Magic-link routes on a server without email delivery.
    pub const MAGIC_LINK_NOT_CONFIGURED: &str = "Magic link not configured";
    /// Missing or unusable `Authorization: Bearer` session.
    pub const UNAUTHORIZED: &str = "Unauthorized";
    /// Rate limited.
    pub const RATE_LIMITED: &str = "Too many requests";
    /// Any internal failure.
    pub const INTERNAL: &str = "Internal server error";
    /// Storage unavailable.
    pub const UNAVAILABLE: &str = "Service temporarily unavailable";
}

/// Why a request body or field was rejected. The `Display` text is the spec's message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The body is not JSON.
    #[error("Invalid JSON in request body")]
    InvalidJson,
    /// The body is JSON but not an object.
    #[error("Request body must be a JSON object")]
    NotObject,
    /// The body is larger than [`crate::limits::MAX_BODY_BYTES`].
    #[error("Request body too large")]
    TooLarge,
    /// A required field is missing, `null`, empty or of the wrong type.
    #[error("Missing or invalid field: {0}")]
    MissingField(&'static str),
    /// Neither of two fields, one of which is required, was given.
    #[error("Missing or invalid field: {0} or {1}")]
    MissingEither(&'static str, &'static str),
    /// A field is present but unacceptable (too long, bad syntax, unparsable).
    #[error("Invalid field: {0}")]
    InvalidField(&'static str),
    /// An optional field has the wrong JSON type.
    #[error("Invalid field: {name} (expected {expected})")]
    WrongType {
        /// The field's wire name.
        name: &'static str,
        /// `string`, `object`, ...
        expected: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_match_the_spec() {
        assert_eq!(
            RequestError::InvalidJson.to_string(),
            "Invalid JSON in request body"
        );
        assert_eq!(
            RequestError::NotObject.to_string(),
            "Request body must be a JSON object"
        );
        assert_eq!(
            RequestError::MissingField("email").to_string(),
            "Missing or invalid field: email"
        );
        assert_eq!(
            RequestError::InvalidField("label").to_string(),
            "Invalid field: label"
        );
        let wrong = RequestError::WrongType {
            name: "metadata",
            expected: "object",
        };
        assert_eq!(
            wrong.to_string(),
            "Invalid field: metadata (expected object)"
        );
    }

    #[test]
    fn body_serialises_without_absent_code() {
        let plain = ErrorBody {
            error: "Not found".into(),
            code: None,
        };
        assert_eq!(
            serde_json::to_string(&plain).unwrap(),
            r#"{"error":"Not found"}"#
        );
        let coded = ErrorBody::new(ErrorCode::RateLimited, "Too many requests");
        let json = serde_json::to_string(&coded).unwrap();
        assert_eq!(
            json,
            r#"{"error":"Too many requests","code":"rate_limited"}"#
        );
        assert_eq!(serde_json::from_str::<ErrorBody>(&json).unwrap(), coded);
        // A v0.4 body (no code) parses too.
        let v04: ErrorBody = serde_json::from_str(r#"{"error":"x"}"#).unwrap();
        assert_eq!(v04.code, None);
    }

    #[test]
    fn names_match_serde() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_value(code).unwrap();
            assert_eq!(json, code.as_str());
            assert_eq!(ErrorCode::from_name(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::from_name("nope"), None);
    }

    #[test]
    fn codes_map_to_statuses_and_back() {
        for code in [
            ErrorCode::InvalidRequest,
            ErrorCode::Unauthorized,
            ErrorCode::NotFound,
            ErrorCode::RateLimited,
            ErrorCode::Internal,
            ErrorCode::Unavailable,
        ] {
            assert_eq!(ErrorCode::from_status(code.status()), code);
        }
        assert_eq!(ErrorCode::from_status(413), ErrorCode::InvalidRequest);
    }
}
