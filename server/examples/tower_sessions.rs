//! An app that already has sessions (tower-sessions): passkey, QR and magic-link sign-ins
//! put the passkey-magic user into *its* session; signing out removes it.
//!
//! Run: `cargo run -p passkey-magic-server --example tower_sessions --features tower-sessions`,
//! then `curl localhost:3000/whoami`. Magic links go to the dev outbox (printed here).

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use passkey_magic_server::axum::PasskeyMagic;
use passkey_magic_server::axum::host::{SessionUser, TowerSessions};
use passkey_magic_server::magic_links::MagicLinkConfig;
use passkey_magic_server::mail::DevOutbox;
use passkey_magic_server::{Auth, serve};
use tower_sessions::{MemoryStore, Session, SessionManagerLayer};

/// Reads the user from the app's own session, like any route of the app would.
async fn whoami(session: Session) -> Result<Json<SessionUser>, StatusCode> {
    match TowerSessions::new().user(&session).await {
        Ok(Some(user)) => Ok(Json(user)),
        Ok(None) => Err(StatusCode::UNAUTHORIZED),
        Err(_) => Err(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// The engine, with magic links going to `outbox`.
fn auth(origin: &str, outbox: DevOutbox) -> Result<Auth, Box<dyn std::error::Error>> {
    let rp_id = url::Url::parse(origin)?
        .host_str()
        .unwrap_or("localhost")
        .to_owned();
    Ok(Auth::builder(&rp_id, origin)?
        .magic_links(MagicLinkConfig::new(format!("{origin}/")))
        .email_sender(outbox)
        .build()?)
}

/// The app: its routes, the auth routes, and its session layer around both.
fn app(auth: Auth) -> Router {
    let routes = Router::new().route("/whoami", get(whoami));
    PasskeyMagic::new(auth)
        .host_sessions(TowerSessions::new())
        .mount(routes, "/auth")
        .layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let outbox = DevOutbox::new();
    let auth = auth("http://localhost:3000", outbox)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://localhost:3000");
    serve::run(listener, app(auth), serve::shutdown_signal()).await?;
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
    use super::client::{Client, Reply};
    use super::support::{Browser, ORIGIN};
    use axum::http::Method;
    use passkey_magic_server::mail::DevOutbox;
    use serde_json::json;

    async fn whoami(client: &Client) -> Reply {
        client.request(Method::GET, "/whoami", &[], None).await
    }

    /// The app's session holds the user of `signed_in`, with its method.
    async fn assert_holds(client: &Client, signed_in: &Reply, method: &str) {
        let user_id = signed_in.body["user"]["id"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_default();
        let held = whoami(client).await;
        assert_eq!(held.status, 200, "{held:?}");
        if !user_id.is_empty() {
            assert_eq!(held.body["userId"], user_id.as_str());
        }
        assert_eq!(held.body["method"], method);
    }

    #[tokio::test]
    async fn passkey_qr_and_magic_link_sign_ins_land_in_the_apps_session() {
        let outbox = DevOutbox::new();
        let app = super::app(super::auth(ORIGIN, outbox.clone()).unwrap());
        let mut authenticator = Browser::new();

        // Passkey.
        let desktop = Client::new(app.clone(), "/auth");
        assert_eq!(whoami(&desktop).await.status, 401);
        let signed_up = desktop.sign_up(&mut authenticator).await;
        assert_holds(&desktop, &signed_up, "passkey").await;
        let user_id = signed_up.body["user"]["id"].as_str().unwrap().to_owned();
        let token = signed_up.body["session"]["token"]
            .as_str()
            .unwrap()
            .to_owned();

        // Sign-out (the passkey-magic session ends) clears the app's session.
        let out = desktop
            .request(
                Method::POST,
                "/auth/session/revoke",
                &[
                    ("authorization", &format!("Bearer {token}")),
                    ("origin", ORIGIN),
                ],
                Some(json!({})),
            )
            .await;
        assert_eq!(out.status, 200);
        assert_eq!(whoami(&desktop).await.status, 401);

        // QR: a fresh desktop, the phone holds the passkey.
        let desktop = Client::new(app.clone(), "/auth");
        let phone = Client::new(app.clone(), "/auth");
        desktop.qr_sign_in(&phone, &mut authenticator).await;
        let held = whoami(&desktop).await;
        assert_eq!(
            (held.body["userId"].as_str(), held.body["method"].as_str()),
            (Some(user_id.as_str()), Some("qr"))
        );
        assert_eq!(whoami(&phone).await.status, 401);

        // Magic link.
        let other = Client::new(app, "/auth");
        let signed_in = other.magic_link(&outbox, "ada@example.com").await;
        assert_holds(&other, &signed_in, "magic-link").await;
        assert_eq!(whoami(&other).await.body["email"], "ada@example.com");
    }
}
