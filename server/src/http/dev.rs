//! Development-only routes. **Never mount them in production**: they hand out live
//! sign-in links to anyone who can reach the server.
//!
//! The binary mounts them (under its API prefix) only in `--dev` mode, for the demo page
//! and local tooling.

use crate::mail::{DevOutbox, OutboxMessage};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

/// The dev outbox's answer: `{"messages": [{email, url, token, sentAt, subject}, …]}`, newest
/// first.
#[derive(Debug, Serialize)]
pub struct OutboxResponse {
    /// The messages kept by the outbox, newest first.
    pub messages: Vec<OutboxMessage>,
}

/// `GET /dev/outbox`: the recent messages of `outbox`. Merge it into the API router in
/// development only:
///
/// ```
/// use passkey_magic_server::magic_links::MagicLinkConfig;
/// use passkey_magic_server::mail::DevOutbox;
/// use passkey_magic_server::{Auth, http};
/// # fn main() -> Result<(), passkey_magic_server::config::ConfigError> {
/// let outbox = DevOutbox::new();
/// let auth: Auth = Auth::builder("localhost", "http://localhost:8787")?
///     .magic_links(MagicLinkConfig::new("http://localhost:8787/"))
///     .email_sender(outbox.clone())
///     .build()?;
/// let api = http::router(auth).merge(http::dev::outbox_router(outbox));
/// let app: axum::Router = axum::Router::new().nest("/auth", api);
/// # Ok(()) }
/// ```
pub fn outbox_router(outbox: DevOutbox) -> Router {
    Router::new()
        .route("/dev/outbox", get(list_outbox))
        .with_state(outbox)
}

async fn list_outbox(State(outbox): State<DevOutbox>) -> Json<OutboxResponse> {
    let mut messages = outbox.messages();
    messages.reverse();
    Json(OutboxResponse { messages })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mail::{EmailSender, MagicLinkEmail};
    use crate::secrets::BearerToken;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use passkey_magic_shared::Timestamp;
    use std::time::Duration;
    use tower::ServiceExt;

    #[tokio::test]
    async fn lists_the_outbox_newest_first() {
        let outbox = DevOutbox::new();
        for token in ["first", "second"] {
            let message = MagicLinkEmail::new(
                "ada@example.com",
                format!("http://localhost:8787/?token={token}"),
                BearerToken::new(token),
                "Demo",
                Timestamp::from_unix_millis(900_000),
                Duration::from_secs(900),
            );
            outbox.send_magic_link(&message).await.unwrap();
        }
        let response = outbox_router(outbox)
            .oneshot(Request::get("/dev/outbox").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let tokens: Vec<&str> = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["token"].as_str().unwrap())
            .collect();
        assert_eq!(tokens, ["second", "first"]);
        assert_eq!(body["messages"][0]["email"], "ada@example.com");
        assert_eq!(body["messages"][0]["sentAt"], "1970-01-01T00:00:00.000Z");
    }
}
