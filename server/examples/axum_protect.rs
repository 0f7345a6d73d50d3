//! The smallest app that protects a route with passkey-magic: `GET /me` needs a session
//! (`Authorization: Bearer <token>`), `GET /` does not.
//!
//! Run: `cargo run -p passkey-magic-server --example axum_protect`, then
//! `curl localhost:3000/me` (401 until you sign in through the API under `/auth`).

use axum::Router;
use axum::routing::get;
use passkey_magic_server::axum::{CurrentSession, CurrentUser, PasskeyMagic};
use passkey_magic_server::{Auth, serve};

async fn me(CurrentUser(user): CurrentUser) -> String {
    format!("you are {}", user.id)
}

async fn home(session: Option<CurrentSession>) -> String {
    match session {
        Some(current) => format!("welcome back, {}", current.user().id),
        None => "hello, stranger".to_owned(),
    }
}

/// Your routes, with the auth routes under `/auth`.
fn app(auth: Auth) -> Router {
    let routes = Router::new().route("/", get(home)).route("/me", get(me));
    PasskeyMagic::new(auth).mount(routes, "/auth")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let auth: Auth = Auth::builder("localhost", "http://localhost:3000")?.build()?;
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
    use super::client::Client;
    use super::support::{self, Browser};
    use axum::http::Method;

    #[tokio::test]
    async fn protects_me_and_greets_signed_in_users() {
        let client = Client::new(super::app(support::builder().build().unwrap()), "/auth");
        let anonymous = client.request(Method::GET, "/me", &[], None).await;
        assert_eq!(anonymous.status, 401);
        assert_eq!(anonymous.body["error"], "Unauthorized");
        assert_eq!(
            client.request(Method::GET, "/", &[], None).await.body,
            "hello, stranger"
        );

        let account = client.sign_up(&mut Browser::new()).await.body;
        let user_id = account["user"]["id"].as_str().unwrap();
        let bearer = format!("Bearer {}", account["session"]["token"].as_str().unwrap());
        let me = client
            .request(Method::GET, "/me", &[("authorization", &bearer)], None)
            .await;
        assert_eq!(
            (me.status, me.body.as_str()),
            (200, Some(format!("you are {user_id}").as_str()))
        );
        let home = client
            .request(Method::GET, "/", &[("authorization", &bearer)], None)
            .await;
        assert_eq!(home.body, format!("welcome back, {user_id}"));
    }
}
