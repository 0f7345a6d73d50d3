//! The one place where errors become HTTP responses.
//!
//! One `match` picks the status; the body is the protocol's [`ErrorBody`]. Internal and
//! unavailable errors are logged here with their detail and sent with a generic message,
//! so nothing internal reaches the client.

use crate::Error;
use crate::error::chain;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
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
        }
    }
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
    use crate::store::StoreError;
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
