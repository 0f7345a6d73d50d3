//! The one place where errors become HTTP responses.
//!
//! One `match` picks the status; the body is the protocol's [`ErrorBody`]. Internal and
//! unavailable errors are logged here with their detail and sent with a generic message,
//! so nothing internal reaches the client.

use crate::Error;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use passkey_magic_shared::error::{ErrorBody, ErrorCode, messages};

impl Error {
    /// The protocol's error category of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Error::InvalidRequest(_) | Error::Request(_) => ErrorCode::InvalidRequest,
            Error::Unauthorized => ErrorCode::Unauthorized,
            Error::NotFound => ErrorCode::NotFound,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::Unavailable(_) => ErrorCode::Unavailable,
            Error::Internal(_) => ErrorCode::Internal,
            Error::Mail(_) => ErrorCode::Unavailable,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let code = self.code();
        let message = match &self {
            Error::Unavailable(detail) => {
                tracing::warn!(error = %detail, "dependency unavailable");
                messages::UNAVAILABLE.to_owned()
            }
            Error::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                messages::INTERNAL.to_owned()
            }
            Error::Mail(detail) => {
                tracing::warn!(error = %detail, "email not sent");
                crate::magic_links::SEND_FAILED.to_owned()
            }
            other => other.to_string(),
        };
        let status =
            StatusCode::from_u16(code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
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
    use http_body_util::BodyExt;
    use passkey_magic_shared::RequestError;

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
        let (status, _, body) = render(Error::Internal("db password=hunter2".into())).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body.error, messages::INTERNAL);
        let (status, _, body) = render(Error::Unavailable("connection refused".into())).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body.error, messages::UNAVAILABLE);
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
