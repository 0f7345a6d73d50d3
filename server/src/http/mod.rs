//! The HTTP layer: an axum [`Router`] for the wire protocol, mountable under any prefix.
//!
//! Handlers only translate between HTTP and the engine; the status of every error is
//! chosen in [`error`]. Anything the protocol does not define answers
//! `404 {"error":"Not found"}`, including a known path with the wrong method.

pub mod error;

use crate::Error;
use axum::Router;

/// The protocol's router. Mount it with `Router::new().nest("/auth", router())`.
pub fn router() -> Router {
    Router::new()
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
}

async fn not_found() -> Error {
    Error::NotFound
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn call(app: Router, method: &str, uri: &str) -> (StatusCode, String, String) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            content_type,
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn unknown_route_is_a_json_404() {
        let app = Router::new().nest("/auth", router());
        for (method, uri) in [
            ("GET", "/auth/nope"),
            ("POST", "/auth/passkey"),
            ("DELETE", "/auth/x/y"),
        ] {
            let (status, content_type, body) = call(app.clone(), method, uri).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {uri}");
            assert_eq!(content_type, "application/json", "{method} {uri}");
            assert_eq!(body, r#"{"error":"Not found","code":"not_found"}"#);
        }
    }
}
