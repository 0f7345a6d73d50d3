//! Cookie sessions: sign-ins set an `HttpOnly` session cookie, your routes read it, and
//! cookie-authenticated changes must come from your own origin (the CSRF defence).
//!
//! Run: `cargo run -p passkey-magic-server --example cookie_sessions` (plain HTTP on
//! localhost, so the cookie drops `Secure` — allowed for `http://localhost` only).

use axum::Router;
use axum::routing::{get, post};
use passkey_magic_server::axum::{CookieConfig, CurrentSession, CurrentUser, PasskeyMagic};
use passkey_magic_server::{Auth, serve};

async fn me(CurrentUser(user): CurrentUser) -> String {
    user.id
}

async fn save(CurrentSession(current): CurrentSession) -> String {
    format!("saved for {}", current.user.id)
}

/// Your routes and the auth routes, with cookie sessions.
fn app(auth: Auth) -> Result<Router, Box<dyn std::error::Error>> {
    let routes = Router::new()
        .route("/me", get(me))
        .route("/notes", post(save));
    Ok(PasskeyMagic::new(auth)
        .cookies(CookieConfig::new().danger_insecure_http())?
        .mount(routes, "/auth"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let auth: Auth = Auth::builder("localhost", "http://localhost:3000")?.build()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://localhost:3000");
    serve::run(listener, app(auth)?, serve::shutdown_signal()).await?;
    Ok(())
}

#[cfg(test)]
#[allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[path = "../tests/support/mod.rs"]
mod support;

#[cfg(test)]
#[allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#[path = "../tests/support/app.rs"]
mod client;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::client::Client;
    use super::support::{self, Browser, ORIGIN};
    use axum::http::Method;
    use serde_json::json;

    #[tokio::test]
    async fn the_cookie_signs_in_and_only_same_origin_changes_pass() {
        let client = Client::new(
            super::app(support::builder().build().unwrap()).unwrap(),
            "/auth",
        );
        let signed_up = client.sign_up(&mut Browser::new()).await;
        let user_id = signed_up.body["user"]["id"].as_str().unwrap().to_owned();
        assert!(signed_up.set_cookies()[0].starts_with("passkey-magic="));
        let me = client.request(Method::GET, "/me", &[], None).await;
        assert_eq!(me.body, user_id);

        let forged = client
            .request(
                Method::POST,
                "/notes",
                &[("origin", "https://evil.example")],
                Some(json!({})),
            )
            .await;
        assert_eq!(forged.status, 401);
        let own = client
            .request(
                Method::POST,
                "/notes",
                &[("origin", ORIGIN)],
                Some(json!({})),
            )
            .await;
        assert_eq!(own.body, format!("saved for {user_id}"));

        let out = client
            .request(
                Method::POST,
                "/auth/session/revoke",
                &[("origin", ORIGIN)],
                Some(json!({})),
            )
            .await;
        assert_eq!(out.status, 200);
        assert_eq!(
            client.request(Method::GET, "/me", &[], None).await.status,
            401
        );
    }
}
