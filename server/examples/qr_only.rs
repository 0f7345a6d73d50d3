//! QR-only mode: an app with its own passkeys and sessions mounts only the QR
//! cross-device routes; when the phone approves, a hook turns the phone's user into the
//! app's own desktop session (here: a random id in an `app_session` cookie).
//!
//! Run: `cargo run -p passkey-magic-server --example qr_only`.

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::routing::get;
use passkey_magic_server::axum::{HostError, HostRequest, HostSessions, PasskeyMagic};
use passkey_magic_server::sessions::Authenticated;
use passkey_magic_server::{Auth, serve};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The app's own sessions: session id → user id.
#[derive(Clone, Default)]
struct AppSessions(Arc<Mutex<HashMap<String, String>>>);

#[async_trait::async_trait]
impl HostSessions for AppSessions {
    async fn signed_in(
        &self,
        _request: HostRequest<'_>,
        signed_in: &Authenticated,
        response: &mut HeaderMap,
    ) -> Result<(), HostError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        self.0
            .lock()
            .map_err(|_| "poisoned")?
            .insert(id.clone(), signed_in.user.id.clone());
        let cookie = format!("app_session={id}; Path=/; HttpOnly; SameSite=Lax");
        response.append(header::SET_COOKIE, HeaderValue::from_str(&cookie)?);
        Ok(())
    }

    async fn signed_out(
        &self,
        _request: HostRequest<'_>,
        _response: &mut HeaderMap,
    ) -> Result<(), HostError> {
        Ok(())
    }
}

/// The app's signed-in user, from its own cookie.
struct AppUser(String);

impl FromRequestParts<AppSessions> for AppUser {
    type Rejection = StatusCode;

    async fn from_request_parts(
        parts: &mut Parts,
        sessions: &AppSessions,
    ) -> Result<Self, StatusCode> {
        let id = parts
            .headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.split(';')
                    .find_map(|c| c.trim().strip_prefix("app_session="))
            })
            .ok_or(StatusCode::UNAUTHORIZED)?;
        let users = sessions
            .0
            .lock()
            .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
        users
            .get(id)
            .cloned()
            .map(AppUser)
            .ok_or(StatusCode::UNAUTHORIZED)
    }
}

async fn me(AppUser(user_id): AppUser, State(_): State<AppSessions>) -> String {
    user_id
}

/// The app's routes and the QR routes under `/auth`.
fn app(auth: Auth, sessions: AppSessions) -> Router {
    let routes = Router::new()
        .route("/me", get(me))
        .with_state(sessions.clone());
    PasskeyMagic::new(auth)
        .qr_only(sessions)
        .mount(routes, "/auth")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let auth: Auth = Auth::builder("localhost", "http://localhost:3000")?.build()?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://localhost:3000");
    serve::run(
        listener,
        app(auth, AppSessions::default()),
        serve::shutdown_signal(),
    )
    .await?;
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
    use super::support::{self, Browser};
    use axum::http::Method;
    use passkey_magic_server::Auth;
    use passkey_magic_server::sessions::ClientInfo;
    use passkey_magic_shared::passkeys::{RegisterOptionsRequest, RegisterVerifyRequest};
    use serde_json::{Value, json};

    #[tokio::test]
    async fn the_phones_approval_becomes_the_apps_desktop_session() {
        let auth: Auth = support::builder().build().unwrap();
        // The app registered this passkey itself, through the engine (no HTTP route).
        let mut authenticator = Browser::new();
        let request: RegisterOptionsRequest = serde_json::from_value(json!({})).unwrap();
        let options = auth.passkeys().start_registration(&request).await.unwrap();
        let options = serde_json::to_value(&options).unwrap();
        let response = authenticator.register(&options["options"]).await;
        let verify: RegisterVerifyRequest =
            serde_json::from_value(json!({ "userId": options["userId"], "response": response }))
                .unwrap();
        let registered = auth
            .passkeys()
            .finish_registration(&verify, &ClientInfo::default())
            .await
            .unwrap();
        let user_id = registered.user.id.clone();

        let app = super::app(auth.clone(), super::AppSessions::default());
        let desktop = Client::new(app.clone(), "/auth");
        let phone = Client::new(app, "/auth");
        // Only the QR routes (and the phone's challenge) are mounted.
        let other = desktop.post("/passkey/register/options", json!({})).await;
        assert_eq!(other.status, 404);
        let status = desktop.qr_sign_in(&phone, &mut authenticator).await;
        // The desktop holds the app's session, and no passkey-magic token.
        assert_eq!(status.body["session"].get("token"), None::<&Value>);
        assert!(desktop.cookie("app_session").is_some());
        let me = desktop.request(Method::GET, "/me", &[], None).await;
        assert_eq!((me.status, me.body.as_str()), (200, Some(user_id.as_str())));
        assert_eq!(
            phone.request(Method::GET, "/me", &[], None).await.status,
            401
        );
        // The only passkey-magic session left is the registration's own.
        let left: Vec<String> = auth
            .sessions()
            .list(&user_id)
            .await
            .unwrap()
            .into_iter()
            .map(|session| session.id)
            .collect();
        assert_eq!(left, [registered.session.id]);
    }
}
