//! The axum integration (`passkey_magic_server::axum`): extractors over bearer and cookie
//! sessions, cookie attributes, the CSRF origin check, one session lookup per request,
//! and CORS. Requests go in process through the app's router; passkeys come from the
//! software authenticator of `support`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "support/app.rs"]
mod app;
#[allow(dead_code)]
mod support;

use app::Client;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::routing::{get, post};
use passkey_magic_server::axum::{CookieConfig, CurrentSession, CurrentUser, PasskeyMagic};
use passkey_magic_server::clock::ManualClock;
use passkey_magic_server::{Auth, AuthBuilder};
use passkey_magic_shared::Timestamp;
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use support::{Browser, ORIGIN};

const TTL: Duration = Duration::from_secs(3600);
const COOKIE: &str = "passkey-magic";

/// Counts state changes made by the app's protected `POST /notes`.
#[derive(Clone, Default)]
struct Notes(Arc<AtomicUsize>);

struct TestApp {
    client: Client,
    auth: Auth,
    clock: ManualClock,
    notes: Notes,
}

fn builder() -> AuthBuilder {
    support::builder().session_ttl(TTL)
}

/// Revokes the request's session in the store when extracted: a later extractor that
/// looked the session up again would find it gone.
struct RevokeNow;

impl FromRequestParts<()> for RevokeNow {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &()) -> Result<Self, Self::Rejection> {
        let auth = parts.extensions.get::<Auth>().unwrap().clone();
        let token = parts.headers["authorization"].to_str().unwrap()[7..].to_owned();
        auth.sessions().revoke(&token).await.unwrap();
        Ok(RevokeNow)
    }
}

fn app(auth: &Auth, notes: &Notes, cookies: bool) -> Router {
    let counter = notes.clone();
    let routes = Router::new()
        .route(
            "/me",
            get(|CurrentUser(user): CurrentUser| async move { user.id }),
        )
        .route(
            "/whoami",
            get(|current: Option<CurrentSession>| async move {
                current.map_or("anonymous".to_owned(), |c| c.user().id.clone())
            }),
        )
        .route(
            "/notes",
            post(|_: CurrentSession| async move {
                counter.0.fetch_add(1, Ordering::SeqCst);
                "saved"
            }),
        )
        .route(
            "/twice",
            get(
                |first: CurrentSession, _: RevokeNow, CurrentUser(second): CurrentUser| async move {
                    assert_eq!(first.user().id, second.id);
                    "one lookup"
                },
            ),
        )
        .layer(axum::Extension(auth.clone()));
    let mut mount = PasskeyMagic::new(auth.clone());
    if cookies {
        mount = mount
            .cookies(CookieConfig::new().danger_insecure_http())
            .unwrap();
    }
    mount.mount(routes, "/auth")
}

impl TestApp {
    fn new(cookies: bool) -> Self {
        let clock = ManualClock::new(Timestamp::from_unix_millis(support::START_MILLIS));
        let auth: Auth = builder().clock(clock.clone()).build().unwrap();
        let notes = Notes::default();
        TestApp {
            client: Client::new(app(&auth, &notes, cookies), "/auth"),
            auth,
            clock,
            notes,
        }
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> app::Reply {
        self.client.request(Method::GET, path, headers, None).await
    }

    async fn post_note(&self, headers: &[(&str, &str)]) -> app::Reply {
        self.client
            .request(Method::POST, "/notes", headers, Some(json!({})))
            .await
    }

    fn notes(&self) -> usize {
        self.notes.0.load(Ordering::SeqCst)
    }
}

fn assert_unauthorized(reply: &app::Reply) {
    assert_eq!(reply.status, 401, "{reply:?}");
    assert_eq!(
        reply.body,
        json!({"error": "Unauthorized", "code": "unauthorized"})
    );
}

#[tokio::test]
async fn extractors_accept_bearer_and_cookie_sessions() {
    let app = TestApp::new(true);
    let account = app.client.sign_up(&mut Browser::new()).await.body;
    let user_id = account["user"]["id"].as_str().unwrap();
    let token = account["session"]["token"].as_str().unwrap();
    let bearer = format!("Bearer {token}");
    assert_eq!(app.client.cookie(COOKIE).as_deref(), Some(token));

    // Cookie (the jar) and bearer alike.
    let by_cookie = app.get("/me", &[]).await;
    assert_eq!(
        (by_cookie.status, by_cookie.body.as_str()),
        (200, Some(user_id))
    );
    let whoami = app.get("/whoami", &[]).await;
    assert_eq!(whoami.body.as_str(), Some(user_id));
    // The auth API's own routes take the cookie too.
    let session = app
        .client
        .request(Method::GET, "/auth/session", &[], None)
        .await;
    assert_eq!(session.body["user"]["id"], user_id);
    app.client.clear_cookies();
    let by_bearer = app.get("/me", &[("authorization", &bearer)]).await;
    assert_eq!(
        (by_bearer.status, by_bearer.body.as_str()),
        (200, Some(user_id))
    );
    let saved = app.post_note(&[("authorization", &bearer)]).await;
    assert_eq!((saved.status, app.notes()), (200, 1));
}

#[tokio::test]
async fn extractors_reject_missing_expired_revoked_and_malformed_sessions() {
    let app = TestApp::new(true);
    // Missing.
    assert_unauthorized(&app.get("/me", &[]).await);
    assert_eq!(app.get("/whoami", &[]).await.body, "anonymous");
    assert_unauthorized(&app.post_note(&[("origin", ORIGIN)]).await);
    // Malformed.
    for header in [
        "Bearer",
        "Bearer ",
        "Basic abc",
        "Bearer not-a-token",
        "bearer x y",
    ] {
        assert_unauthorized(&app.get("/me", &[("authorization", header)]).await);
        assert_unauthorized(&app.post_note(&[("authorization", header)]).await);
    }
    assert_unauthorized(&app.get("/me", &[("cookie", "passkey-magic=garbage")]).await);
    assert_eq!(
        app.get("/whoami", &[("cookie", "passkey-magic=")])
            .await
            .body,
        "anonymous"
    );
    // Revoked.
    let first = app.client.sign_up(&mut Browser::new()).await.body;
    let token = first["session"]["token"].as_str().unwrap().to_owned();
    app.auth.sessions().revoke(&token).await.unwrap();
    assert_unauthorized(&app.get("/me", &[]).await);
    assert_unauthorized(
        &app.get("/me", &[("authorization", &format!("Bearer {token}"))])
            .await,
    );
    // Expired.
    let second = app.client.sign_up(&mut Browser::new()).await.body;
    let token = second["session"]["token"].as_str().unwrap().to_owned();
    assert_eq!(app.get("/me", &[]).await.status, 200);
    app.clock.advance_millis(3_601_000);
    assert_unauthorized(&app.get("/me", &[]).await);
    assert_unauthorized(&app.post_note(&[("origin", ORIGIN)]).await);
    assert_unauthorized(
        &app.get("/me", &[("authorization", &format!("Bearer {token}"))])
            .await,
    );
    assert_eq!(app.get("/whoami", &[]).await.body, "anonymous");
    // Nothing changed.
    assert_eq!(app.notes(), 0);
}

#[tokio::test]
async fn the_session_is_looked_up_once_per_request() {
    let app = TestApp::new(false);
    let account = app.client.sign_up(&mut Browser::new()).await.body;
    let bearer = format!("Bearer {}", account["session"]["token"].as_str().unwrap());
    // `RevokeNow` revokes between the two extractors; the second still sees the session
    // the first resolved, so there was one lookup.
    let reply = app.get("/twice", &[("authorization", &bearer)]).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, Some("one lookup"))
    );
    assert_unauthorized(&app.get("/me", &[("authorization", &bearer)]).await);
}

#[tokio::test]
async fn extractors_without_the_layer_answer_500_not_401() {
    let auth: Auth = builder().build().unwrap();
    let routes = Router::new().route(
        "/me",
        get(|CurrentUser(user): CurrentUser| async move { user.id }),
    );
    let app = PasskeyMagic::new(auth)
        .mount(Router::new(), "/auth")
        .merge(routes);
    let client = Client::new(app, "/auth");
    let reply = client.request(Method::GET, "/me", &[], None).await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.body["code"], "internal");
}

#[tokio::test]
async fn sign_in_sets_the_cookie_and_sign_out_clears_it() {
    let app = TestApp::new(true);
    let mut browser = Browser::new();
    let signed_up = app.client.sign_up(&mut browser).await;
    let token = signed_up.body["session"]["token"].as_str().unwrap();
    assert_eq!(
        signed_up.set_cookies(),
        [format!(
            "passkey-magic={token}; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"
        )]
    );
    let signed_in = app.client.sign_in(&mut browser).await;
    let second = signed_in.body["session"]["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.client.cookie(COOKIE), Some(second.clone()));

    // Revoking another session (by id) keeps the cookie.
    let first_id = signed_up.body["session"]["id"].as_str().unwrap();
    let other = app
        .client
        .request(
            Method::DELETE,
            &format!("/auth/account/sessions/{first_id}"),
            &[("origin", ORIGIN)],
            None,
        )
        .await;
    assert_eq!((other.status, other.set_cookies().len()), (200, 0));

    let signed_out = app
        .client
        .request(Method::DELETE, "/auth/session", &[("origin", ORIGIN)], None)
        .await;
    assert_eq!(signed_out.status, 200);
    assert_eq!(
        signed_out.set_cookies(),
        ["passkey-magic=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"]
    );
    assert_eq!(app.client.cookie(COOKIE), None);
    assert!(
        app.auth
            .sessions()
            .validate(&second)
            .await
            .unwrap()
            .is_none()
    );

    // Revoking every session clears it too.
    app.client.sign_in(&mut browser).await;
    let all = app
        .client
        .request(
            Method::POST,
            "/auth/account/sessions/delete-all",
            &[("origin", ORIGIN)],
            Some(json!({})),
        )
        .await;
    assert_eq!(all.status, 200);
    assert_eq!(all.set_cookies().len(), 1);
    assert_eq!(app.client.cookie(COOKIE), None);
}

#[tokio::test]
async fn a_sign_in_from_a_foreign_origin_sets_no_cookie() {
    let app = TestApp::new(true);
    let mut browser = Browser::new();
    app.client.sign_up(&mut browser).await;
    app.client.clear_cookies();
    let options = app
        .client
        .post("/passkey/authenticate/options", json!({}))
        .await
        .body;
    let response = browser.authenticate(&options["options"]).await;
    let reply = app
        .client
        .request(
            Method::POST,
            "/auth/passkey/authenticate/verify",
            &[("origin", "https://evil.example")],
            Some(json!({ "response": response })),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert!(reply.set_cookies().is_empty());
}

#[tokio::test]
async fn cross_origin_cookie_posts_are_refused_and_same_origin_ones_pass() {
    let app = TestApp::new(true);
    let account = app.client.sign_up(&mut Browser::new()).await.body;
    let token = account["session"]["token"].as_str().unwrap().to_owned();

    for refused in [
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![],
    ] {
        assert_unauthorized(&app.post_note(&refused).await);
    }
    assert_eq!(app.notes(), 0);
    // Reading with the cookie needs no origin.
    assert_eq!(app.get("/me", &[]).await.status, 200);
    // The auth API's own state changes are checked the same way.
    let revoke = app
        .client
        .request(
            Method::POST,
            "/auth/session/revoke",
            &[("origin", "https://evil.example")],
            Some(json!({})),
        )
        .await;
    assert_unauthorized(&revoke);
    assert!(
        app.auth
            .sessions()
            .validate(&token)
            .await
            .unwrap()
            .is_some()
    );

    assert_eq!(app.post_note(&[("origin", ORIGIN)]).await.status, 200);
    assert_eq!(
        app.post_note(&[("sec-fetch-site", "same-origin")])
            .await
            .status,
        200
    );
    assert_eq!(app.notes(), 2);
    // A bearer token needs no origin check.
    app.client.clear_cookies();
    let bearer = format!("Bearer {token}");
    let reply = app
        .post_note(&[
            ("authorization", &bearer),
            ("origin", "https://evil.example"),
        ])
        .await;
    assert_eq!((reply.status, app.notes()), (200, 3));
}

#[tokio::test]
async fn cors_preflight_answers_exactly_the_configured_origins() {
    let (main, other) = ("https://example.com", "https://app.example.com");
    let auth: Auth = Auth::builder("example.com", main)
        .unwrap()
        .origin(other)
        .unwrap()
        .build()
        .unwrap();
    let magic = PasskeyMagic::new(auth).cors();
    let app = magic.mount(Router::new().route("/me", get(|| async { "me" })), "/auth");
    let client = Client::new(app, "/auth");
    let preflight = |origin: &'static str, path: &'static str| {
        let client = &client;
        async move {
            client
                .request(
                    Method::OPTIONS,
                    path,
                    &[
                        ("origin", origin),
                        ("access-control-request-method", "POST"),
                        ("access-control-request-headers", "content-type"),
                    ],
                    None,
                )
                .await
        }
    };
    for origin in [main, other] {
        for path in ["/auth/passkey/authenticate/options", "/me"] {
            let reply = preflight(origin, path).await;
            assert_eq!(reply.status, 200, "{reply:?}");
            let headers = &reply.headers;
            assert_eq!(headers["access-control-allow-origin"], origin);
            assert_eq!(headers["access-control-allow-credentials"], "true");
            assert!(
                headers["access-control-allow-methods"]
                    .to_str()
                    .unwrap()
                    .contains("POST")
            );
        }
    }
    for origin in ["https://evil.example", "http://example.com", ORIGIN, "null"] {
        let reply = preflight(origin, "/auth/passkey/authenticate/options").await;
        assert!(
            reply.headers.get("access-control-allow-origin").is_none(),
            "{origin}: {reply:?}"
        );
    }
    // A simple request from an allowed origin gets the header too.
    let reply = client
        .request(Method::GET, "/auth/session", &[("origin", other)], None)
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED.as_u16());
    assert_eq!(reply.headers["access-control-allow-origin"], other);
    let _: Value = reply.body;
}

#[tokio::test]
async fn qr_and_magic_link_sign_ins_set_the_cookie_too() {
    let outbox = passkey_magic_server::mail::DevOutbox::new();
    let auth: Auth = builder()
        .magic_links(passkey_magic_server::magic_links::MagicLinkConfig::new(
            format!("{ORIGIN}/"),
        ))
        .email_sender(outbox.clone())
        .build()
        .unwrap();
    let app = app(&auth, &Notes::default(), true);

    // Magic link.
    let reader = Client::new(app.clone(), "/auth");
    let verified = reader.magic_link(&outbox, "ada@example.com").await;
    let token = verified.body["session"]["token"].as_str().unwrap();
    assert_eq!(
        verified.set_cookies(),
        [format!(
            "passkey-magic={token}; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax"
        )]
    );
    assert_eq!(
        reader.request(Method::GET, "/me", &[], None).await.status,
        200
    );

    // QR: the desktop's authenticated status sets it; the phone's completion does not.
    let mut authenticator = Browser::new();
    let phone = Client::new(app.clone(), "/auth");
    let account = phone.sign_up(&mut authenticator).await.body;
    phone.clear_cookies();
    let desktop = Client::new(app, "/auth");
    let status = desktop.qr_sign_in(&phone, &mut authenticator).await;
    let token = status.body["session"]["token"].as_str().unwrap();
    assert_eq!(desktop.cookie(COOKIE).as_deref(), Some(token));
    assert_eq!(phone.cookie(COOKIE), None);
    let me = desktop.request(Method::GET, "/me", &[], None).await;
    assert_eq!(me.body, account["user"]["id"]);
}

#[tokio::test]
async fn revoking_the_own_session_by_id_clears_the_cookie() {
    let app = TestApp::new(true);
    let account = app.client.sign_up(&mut Browser::new()).await.body;
    let id = account["session"]["id"].as_str().unwrap();
    let reply = app
        .client
        .request(
            Method::POST,
            &format!("/auth/account/sessions/{id}/delete"),
            &[("origin", ORIGIN)],
            Some(json!({})),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.set_cookies(),
        ["passkey-magic=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"]
    );
    assert_unauthorized(&app.get("/me", &[]).await);
}
