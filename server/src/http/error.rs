//! The one place where errors become HTTP responses.
//!
//! One `match` picks the status; the body is the protocol's [`ErrorBody`]. Internal and
//! unavailable errors are logged here with their detail and sent with a generic message,
//! so nothing internal reaches the client.

use crate::Error;
use crate::error::chain;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use passkey_magic_shared::RequestError;
use passkey_magic_shared::error::{ErrorBody, ErrorCode, messages};

impl Error {
    /// The protocol's error category of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidRequest(_) | Error::Request(_) | Error::Vetoed(_) => {
                ErrorCode::InvalidRequest
            }
            Error::Unauthorized => ErrorCode::Unauthorized,
            Error::NotFound => ErrorCode::NotFound,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::Unavailable(_) => ErrorCode::Unavailable,
            Error::Internal(_) => ErrorCode::Internal,
            Error::Mail(_) => ErrorCode::Unavailable,
            Error::UnsupportedMediaType | Error::PayloadTooLarge => ErrorCode::InvalidRequest,
        }
    }

    /// The HTTP status of this error: its code's, except for the refusals that have a
    /// status of their own (`413`, `415`).
    pub fn status(&self) -> StatusCode {
        match self {
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::PayloadTooLarge | Error::Request(RequestError::TooLarge) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            other => StatusCode::from_u16(other.code().status())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

/// The JSON error body for a refusal axum or a layer made by itself (it had a plain-text
/// or empty body): same status, the protocol's body, `Allow`/`Retry-After` kept.
pub(crate) fn framework_refusal(status: StatusCode, headers: &axum::http::HeaderMap) -> Response {
    let code = ErrorCode::from_status(status.as_u16());
    let message = match status {
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => messages::NOT_FOUND,
        StatusCode::PAYLOAD_TOO_LARGE => "Request body too large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "Content-Type must be application/json",
        StatusCode::URI_TOO_LONG => "URI too long",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "Request headers too large",
        StatusCode::REQUEST_TIMEOUT => "Request not received in time",
        StatusCode::UNAUTHORIZED => messages::UNAUTHORIZED,
        StatusCode::TOO_MANY_REQUESTS => messages::RATE_LIMITED,
        StatusCode::SERVICE_UNAVAILABLE => messages::UNAVAILABLE,
        status if status.is_server_error() => messages::INTERNAL,
        _ => "Bad request",
    };
    let mut response = (status, axum::Json(ErrorBody::new(code, message))).into_response();
    for name in [header::ALLOW, header::RETRY_AFTER, header::CONNECTION] {
        if let Some(value) = headers.get(&name) {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let code = self.code();
        let message = match &self {
            Error::Unavailable(_) => {
                tracing::warn!(error = %chain(&self), "dependency unavailable");
                messages::UNAVAILABLE.to_owned()
            }
            Error::Internal(_) => {
                tracing::error!(error = %chain(&self), "internal error");
                messages::INTERNAL.to_owned()
            }
            Error::Mail(_) => {
                tracing::warn!(error = %chain(&self), "email not sent");
                crate::magic_links::SEND_FAILED.to_owned()
            }
            other => other.to_string(),
        };
        let status = self.status();
        let mut response = (status, axum::Json(ErrorBody::new(code, message))).into_response();
        if let Error::RateLimited {
            retry_after_seconds,
        } = self
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;
    use http_body_util::BodyExt;

    async fn render(error: Error) -> (StatusCode, Option<String>, ErrorBody) {
        let response = error.into_response();
        let status = response.status();
        let retry = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, retry, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn statuses_and_messages() {
        let (status, _, body) = render(Error::Request(RequestError::MissingField("email"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body.error, "Missing or invalid field: email");

        let (status, _, body) = render(Error::Unauthorized).await;
        assert_eq!(
            (status, body.error.as_str()),
            (StatusCode::UNAUTHORIZED, "Unauthorized")
        );

        let (status, retry, _) = render(Error::RateLimited {
            retry_after_seconds: 42,
        })
        .await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry.as_deref(), Some("42"));
    }

    #[tokio::test]
    async fn internals_never_reach_the_client() {
        let internal = StoreError::Internal("db password=hunter2".into());
        let (status, _, body) = render(internal.into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body.error, messages::INTERNAL);
        let unavailable = StoreError::Unavailable("connection refused".into());
        let (status, _, body) = render(unavailable.into()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body.error, messages::UNAVAILABLE);
    }

    /// A conflict on an id the server generated is the server's problem: a 500 that
    /// names no column, not a 400 "id already in use".
    #[tokio::test]
    async fn a_stray_store_conflict_is_a_500() {
        let (status, _, body) = render(StoreError::Conflict("id").into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body.error, messages::INTERNAL);
        assert_eq!(body.code, Some(ErrorCode::Internal));
    }

    #[tokio::test]
    async fn mail_failures_are_a_clear_503() {
        let error = Error::Mail(crate::mail::MailError::Unreachable(
            "smtp.internal:587: connection refused".into(),
        ));
        let (status, _, body) = render(error).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body.error, "Could not send the magic link email");
        assert_eq!(body.code, Some(ErrorCode::Unavailable));
    }
}
