//! End-to-end tests of QR cross-device login (routes 9–14, and route 3's `qrSessionId`)
//! through real HTTP: a desktop with no passkey, a phone whose software authenticator
//! holds one, a manual clock for expiry, and the QR rendering decoded back to its URL.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
mod support;

use passkey_magic_server::events::Event;
use passkey_magic_server::hooks::{Hooks, QrCompleteAttempt, Veto};
use passkey_magic_server::qr::render::{self, SvgOptions, TextOptions};
use passkey_magic_server::qr::{
    CONFIRMATION_LOCKED, INVALID_CONFIRMATION_CODE, QR_ALREADY_COMPLETED, QR_CANCELLED,
    QR_CONFIRMATION_REQUIRED, QR_EXPIRED, QrConfirmation,
};
use passkey_magic_server::secrets::TokenHash;
use passkey_magic_shared::RateLimitRule;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use support::{Account, Browser, Reply, TestServer, USER_AGENT, builder, keys};

/// What the desktop holds after route 9.
struct Desktop {
    id: String,
    status_token: String,
    code: Option<String>,
}

impl TestServer {
    async fn create_qr(&self) -> Desktop {
        let body = self.post("/qr/create", json!({})).await.ok();
        Desktop {
            id: body["sessionId"].as_str().unwrap().to_owned(),
            status_token: body["statusToken"].as_str().unwrap().to_owned(),
            code: body["confirmationCode"].as_str().map(str::to_owned),
        }
    }

    async fn qr_status(&self, desktop: &Desktop) -> Reply {
        let path = format!("/qr/{}/status?token={}", desktop.id, desktop.status_token);
        self.send(Method::GET, &path, None, None).await
    }

    async fn qr_status_waiting(&self, desktop: &Desktop, seconds: u32) -> Reply {
        let path = format!(
            "/qr/{}/status?token={}&wait={seconds}",
            desktop.id, desktop.status_token
        );
        self.send(Method::GET, &path, None, None).await
    }

    async fn scan(&self, id: &str) -> Reply {
        self.post(&format!("/qr/{id}/scanned"), json!({})).await
    }

    async fn confirm(&self, id: &str, code: &str) -> Reply {
        self.post(
            &format!("/qr/{id}/confirm"),
            json!({ "confirmationCode": code }),
        )
        .await
    }

    /// The phone's answer to a challenge: bound to the QR login (`Some(id)`) or not.
    async fn phone_answer(&self, phone: &mut Browser, bound_to: Option<&str>) -> Value {
        let request = match bound_to {
            Some(id) => json!({ "qrSessionId": id }),
            None => json!({}),
        };
        self.sign_in_answer(phone, request).await
    }

    async fn complete(&self, id: &str, answer: &Value) -> Reply {
        self.post(&format!("/qr/{id}/complete"), answer.clone())
            .await
    }

    async fn cancel(&self, desktop: &Desktop) -> Reply {
        self.post(
            &format!("/qr/{}/cancel", desktop.id),
            json!({ "statusToken": desktop.status_token }),
        )
        .await
    }
}

/// A server whose phone-side rate limits do not get in the way of many requests.
async fn unlimited(builder: passkey_magic_server::AuthBuilder) -> TestServer {
    TestServer::start_with(
        builder
            .rate_limit(RateLimitRule::PasskeyAuthenticateOptions, None)
            .rate_limit(RateLimitRule::QrComplete, None)
            .rate_limit(RateLimitRule::QrConfirm, None),
    )
    .await
}

/// A phone that signed up with a passkey.
async fn phone(server: &TestServer) -> (Browser, Account) {
    let mut phone = Browser::without_counter();
    let account = server.sign_up(&mut phone).await;
    (phone, account)
}

fn state(reply: Reply) -> String {
    reply.ok()["state"].as_str().unwrap().to_owned()
}

// ---------------------------------------------------------------- lifecycle

#[tokio::test]
async fn qr_login_signs_the_desktop_in_with_a_new_qr_session() {
    let server = TestServer::start().await;
    let (mut phone, account) = phone(&server).await;
    let mut events = server.auth.subscribe();

    let created = server.post("/qr/create", json!({})).await.ok();
    assert_eq!(keys(&created), ["sessionId", "statusToken"]);
    let desktop = Desktop {
        id: created["sessionId"].as_str().unwrap().to_owned(),
        status_token: created["statusToken"].as_str().unwrap().to_owned(),
        code: None,
    };
    assert!(desktop.status_token.len() >= 43, "256-bit token");
    // Only the hash of the status token is stored.
    let stored = server
        .auth
        .store()
        .qr_session_by_id(&desktop.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.status_token_hash,
        TokenHash::of(&desktop.status_token)
    );
    assert!(!format!("{stored:?}").contains(&desktop.status_token));
    assert_eq!(
        server.qr_status(&desktop).await.ok(),
        json!({"state": "created"})
    );

    assert_eq!(server.scan(&desktop.id).await.ok(), json!({"ok": true}));
    assert_eq!(state(server.qr_status(&desktop).await), "scanned");

    let answer = server.phone_answer(&mut phone, Some(&desktop.id)).await;
    assert_eq!(state(server.qr_status(&desktop).await), "challenged");

    let completed = server.complete(&desktop.id, &answer).await.ok();
    assert_eq!(keys(&completed), ["method", "session", "user"]);
    assert_eq!(completed["method"], "qr");
    assert_eq!(completed["user"]["id"], account.user_id.as_str());
    let session = &completed["session"];
    assert!(session.get("token").is_none(), "only the desktop gets it");
    assert_eq!(session["authMethod"], "qr");
    assert_eq!(session["userId"], account.user_id.as_str());
    assert_eq!(
        session["authContext"],
        json!({"qrSessionId": desktop.id.as_str()})
    );

    // The desktop collects its session once.
    let status = server.qr_status(&desktop).await.ok();
    assert_eq!(keys(&status), ["session", "state"]);
    assert_eq!(status["state"], "authenticated");
    let token = status["session"]["token"].as_str().unwrap().to_owned();
    assert_eq!(status["session"]["expiresAt"], session["expiresAt"]);
    assert_eq!(
        server.qr_status(&desktop).await.ok(),
        json!({"state": "authenticated"})
    );

    // A new session of the phone's user, created for the desktop's request.
    let current = server.get_as(&token, "/session").await.ok();
    assert_eq!(current["user"]["id"], account.user_id.as_str());
    assert_eq!(current["session"]["id"], session["id"]);
    assert_ne!(token, account.token);
    assert_eq!(current["session"]["authMethod"], "qr");
    assert_eq!(
        current["session"]["authContext"]["qrSessionId"],
        desktop.id.as_str()
    );
    assert_eq!(current["session"]["userAgent"], USER_AGENT);
    let sessions = server.get_as(&token, "/account/sessions").await.ok();
    assert_eq!(sessions["sessions"].as_array().unwrap().len(), 2);

    // The security log has the desktop's sign-in next to the phone's sign-up, with the
    // desktop's client.
    let log = server.get_as(&token, "/account/events").await.ok();
    let log = log["events"].as_array().unwrap();
    assert_eq!(log.len(), 2);
    let by_qr: Vec<&Value> = log.iter().filter(|e| e["method"] == "qr").collect();
    assert_eq!(by_qr.len(), 1);
    assert_eq!(by_qr[0]["type"], "signIn");
    assert_eq!(by_qr[0]["sessionId"], session["id"]);
    assert_eq!(by_qr[0]["userAgent"], USER_AGENT);
    assert_eq!(by_qr[0]["ipAddress"], "127.0.0.1");

    let mut names = Vec::new();
    while let Ok(event) = events.try_recv() {
        assert!(
            !matches!(event, Event::UserCreated { .. }),
            "QR login never creates a user"
        );
        names.push(event.name());
    }
    assert_eq!(names, ["qr:scanned", "qr:completed", "session:created"]);
}

#[tokio::test]
async fn original_clients_complete_with_an_unbound_challenge() {
    let server = TestServer::start().await;
    let (mut phone, account) = phone(&server).await;
    let desktop = server.create_qr().await;
    server.scan(&desktop.id).await.ok();
    // A v0.4 phone asks for an ordinary challenge; the login stays `scanned`.
    let answer = server.phone_answer(&mut phone, None).await;
    assert_eq!(state(server.qr_status(&desktop).await), "scanned");
    let completed = server.complete(&desktop.id, &answer).await.ok();
    assert_eq!(completed["user"]["id"], account.user_id.as_str());
    let status = server.qr_status(&desktop).await.ok();
    assert!(status["session"]["token"].is_string());
}

#[tokio::test]
async fn challenges_bound_to_a_qr_login_serve_only_that_login() {
    let server = TestServer::start().await;
    let (mut phone, _) = phone(&server).await;
    let first = server.create_qr().await;
    let second = server.create_qr().await;
    server.scan(&first.id).await.ok();
    server.scan(&second.id).await.ok();
    let bound = server.phone_answer(&mut phone, Some(&first.id)).await;
    server
        .complete(&second.id, &bound)
        .await
        .assert_error(400, passkey_magic_server::passkeys::CHALLENGE_EXPIRED);
    // Nor does it sign the phone in directly.
    let bound = server.phone_answer(&mut phone, Some(&first.id)).await;
    server
        .post("/passkey/authenticate/verify", bound)
        .await
        .assert_error(400, passkey_magic_server::passkeys::CHALLENGE_EXPIRED);
}

#[tokio::test]
async fn a_hook_can_veto_a_qr_completion() {
    struct NoQr;
    #[async_trait::async_trait]
    impl Hooks for NoQr {
        async fn before_qr_complete(&self, _: &QrCompleteAttempt<'_>) -> Result<(), Veto> {
            Err(Veto::new("QR login is disabled for you"))
        }
    }
    let server = TestServer::start_with(builder().hooks(NoQr)).await;
    let (mut phone, account) = phone(&server).await;
    let desktop = server.create_qr().await;
    server.scan(&desktop.id).await.ok();
    let answer = server.phone_answer(&mut phone, Some(&desktop.id)).await;
    server.clock.advance_millis(1_000);
    server
        .complete(&desktop.id, &answer)
        .await
        .assert_error(400, "QR login is disabled for you");
    assert_eq!(state(server.qr_status(&desktop).await), "challenged");
    // The phone's refused sign-in is in the user's security log, with the phone's client.
    let log = server.get_as(&account.token, "/account/events").await.ok();
    let refused = &log["events"][0];
    assert_eq!(refused["type"], "signInFailed");
    assert_eq!(refused["method"], "qr");
    assert_eq!(refused["reason"], "blocked");
    assert_eq!(refused["credentialId"], account.credential());
    assert_eq!(refused["userAgent"], USER_AGENT);
}

/// Hooks see the desktop's session at completion and when it is created, never with
/// its token (only the desktop gets that, from the status route).
#[tokio::test]
async fn qr_hooks_never_receive_the_desktop_token() {
    type Seen =
        std::sync::Arc<std::sync::Mutex<Vec<(&'static str, passkey_magic_shared::Session)>>>;
    #[derive(Clone, Default)]
    struct Recording(Seen);
    #[async_trait::async_trait]
    impl Hooks for Recording {
        async fn after_authenticate(
            &self,
            _: &passkey_magic_shared::User,
            session: &passkey_magic_shared::Session,
        ) {
            self.0
                .lock()
                .unwrap()
                .push(("after_authenticate", session.clone()));
        }
        async fn after_qr_complete(
            &self,
            _: &passkey_magic_shared::User,
            session: &passkey_magic_shared::Session,
        ) {
            self.0
                .lock()
                .unwrap()
                .push(("after_qr_complete", session.clone()));
        }
    }
    let hooks = Recording::default();
    let server = TestServer::start_with(builder().hooks(hooks.clone())).await;
    let (mut phone, _) = phone(&server).await;
    let desktop = server.create_qr().await;
    server.scan(&desktop.id).await.ok();
    let answer = server.phone_answer(&mut phone, Some(&desktop.id)).await;
    server.complete(&desktop.id, &answer).await.ok();
    let status = server.qr_status(&desktop).await.ok();
    let token = status["session"]["token"].as_str().unwrap().to_owned();

    let seen = hooks.0.lock().unwrap().clone();
    let names: Vec<&str> = seen.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["after_qr_complete", "after_authenticate"]);
    for (name, session) in &seen {
        assert_eq!(session.token, None, "{name} got a token");
        let printed = format!("{session:?} {}", serde_json::to_string(session).unwrap());
        assert!(!printed.contains(&token), "{name}: {printed}");
    }
}

// ---------------------------------------------------------------- expiry, tokens, cancel

#[tokio::test]
async fn qr_logins_expire_after_their_ttl() {
    let server = TestServer::start().await;
    let (mut phone, _) = phone(&server).await;
    let desktop = server.create_qr().await;
    server.scan(&desktop.id).await.ok();
    let answer = server.phone_answer(&mut phone, None).await;

    server.clock.advance_millis(5 * 60 * 1000 - 1);
    assert_eq!(state(server.qr_status(&desktop).await), "scanned");
    server.clock.advance_millis(1);
    assert_eq!(state(server.qr_status(&desktop).await), "expired");
    server
        .complete(&desktop.id, &answer)
        .await
        .assert_error(400, QR_EXPIRED);
    server.scan(&desktop.id).await.assert_error(400, QR_EXPIRED);
    server.cancel(&desktop).await.assert_error(400, QR_EXPIRED);
}

#[tokio::test]
async fn the_qr_ttl_is_configurable() {
    let server = TestServer::start_with(builder().qr_ttl(Duration::from_secs(30))).await;
    let desktop = server.create_qr().await;
    server.clock.advance_millis(29_999);
    assert_eq!(state(server.qr_status(&desktop).await), "created");
    server.clock.advance_millis(1);
    assert_eq!(state(server.qr_status(&desktop).await), "expired");
}

#[tokio::test]
async fn status_and_cancel_need_the_status_token() {
    let server = TestServer::start().await;
    let desktop = server.create_qr().await;
    let status = format!("/qr/{}/status", desktop.id);
    server
        .send(Method::GET, &status, None, None)
        .await
        .assert_error(401, "Unauthorized");
    server
        .send(Method::GET, &format!("{status}?token="), None, None)
        .await
        .assert_error(401, "Unauthorized");
    let wrong = format!("{status}?token=not-the-token");
    server
        .send(Method::GET, &wrong, None, None)
        .await
        .assert_error(401, "Unauthorized");
    // The phone, which knows only the id, cannot poll or cancel.
    let cancel = format!("/qr/{}/cancel", desktop.id);
    server
        .post(&cancel, json!({"statusToken": "not-the-token"}))
        .await
        .assert_error(401, "Unauthorized");
    server
        .post(&cancel, json!({}))
        .await
        .assert_error(400, "Missing or invalid field: statusToken");
    // Unknown logins: 404 for everyone.
    server
        .send(
            Method::GET,
            &format!("/qr/nope/status?token={}", desktop.status_token),
            None,
            None,
        )
        .await
        .assert_error(404, "Not found");
    server.scan("nope").await.assert_error(404, "Not found");
    // `wait` must be a number.
    server
        .send(
            Method::GET,
            &format!("{status}?token={}&wait=soon", desktop.status_token),
            None,
            None,
        )
        .await
        .assert_error(400, "Invalid field: wait");
    assert_eq!(state(server.qr_status(&desktop).await), "created");
}

#[tokio::test]
async fn cancelled_logins_cannot_be_completed() {
    let server = TestServer::start().await;
    let (mut phone, _) = phone(&server).await;
    let desktop = server.create_qr().await;
    server.scan(&desktop.id).await.ok();
    let answer = server.phone_answer(&mut phone, Some(&desktop.id)).await;
    assert_eq!(server.cancel(&desktop).await.ok(), json!({"ok": true}));
    assert_eq!(server.cancel(&desktop).await.ok(), json!({"ok": true}));
    server
        .complete(&desktop.id, &answer)
        .await
        .assert_error(400, QR_CANCELLED);
    assert_eq!(
        server.qr_status(&desktop).await.ok(),
        json!({"state": "cancelled"})
    );
}

#[tokio::test]
async fn cancelling_after_the_phone_completed_signs_nobody_in() {
    let server = TestServer::start().await;
    let (mut phone, account) = phone(&server).await;
    let desktop = server.create_qr().await;
    server.scan(&desktop.id).await.ok();
    let answer = server.phone_answer(&mut phone, Some(&desktop.id)).await;
    server.complete(&desktop.id, &answer).await.ok();
    server.cancel(&desktop).await.ok();
    assert_eq!(
        server.qr_status(&desktop).await.ok(),
        json!({"state": "cancelled"})
    );
    let sessions = server
        .get_as(&account.token, "/account/sessions")
        .await
        .ok();
    assert_eq!(sessions["sessions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn scanning_or_completing_a_finished_login_is_refused() {
    let server = TestServer::start().await;
    let (mut phone, _) = phone(&server).await;

    let done = server.create_qr().await;
    server.scan(&done.id).await.ok();
    let answer = server.phone_answer(&mut phone, Some(&done.id)).await;
    server.complete(&done.id, &answer).await.ok();
    server
        .scan(&done.id)
        .await
        .assert_error(400, QR_ALREADY_COMPLETED);
    server
        .complete(&done.id, &answer)
        .await
        .assert_error(400, QR_ALREADY_COMPLETED);
    // Still refused after the desktop collected its session.
    server.qr_status(&done).await.ok();
    server
        .scan(&done.id)
        .await
        .assert_error(400, QR_ALREADY_COMPLETED);

    let cancelled = server.create_qr().await;
    server.cancel(&cancelled).await.ok();
    server
        .scan(&cancelled.id)
        .await
        .assert_error(400, QR_CANCELLED);

    // Scanning twice while in progress is fine.
    let open = server.create_qr().await;
    server.scan(&open.id).await.ok();
    server.scan(&open.id).await.ok();
    // Completing before scanning is not.
    let unscanned = server.create_qr().await;
    let answer = server.phone_answer(&mut phone, None).await;
    server
        .complete(&unscanned.id, &answer)
        .await
        .assert_error(400, passkey_magic_server::qr::QR_NOT_SCANNED);
}

// ---------------------------------------------------------------- confirmation codes

fn with_confirmation(length: u8) -> passkey_magic_server::AuthBuilder {
    builder().qr_confirmation(QrConfirmation {
        enabled: true,
        code_length: length,
    })
}

/// A wrong code of the right shape.
fn wrong(code: &str) -> String {
    code.chars()
        .map(|digit| if digit == '0' { '1' } else { '0' })
        .collect()
}

#[tokio::test]
async fn a_correct_confirmation_code_lets_the_phone_complete() {
    let server = unlimited(with_confirmation(8)).await;
    let (mut phone, _) = phone(&server).await;
    let created = server.post("/qr/create", json!({})).await.ok();
    assert_eq!(
        keys(&created),
        ["confirmationCode", "sessionId", "statusToken"]
    );
    let desktop = Desktop {
        id: created["sessionId"].as_str().unwrap().to_owned(),
        status_token: created["statusToken"].as_str().unwrap().to_owned(),
        code: created["confirmationCode"].as_str().map(str::to_owned),
    };
    let code = desktop.code.clone().unwrap();
    assert_eq!(code.len(), 8);
    assert!(code.bytes().all(|b| b.is_ascii_digit()));
    // Stored only as a hash.
    let stored = server
        .auth
        .store()
        .qr_session_by_id(&desktop.id)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.confirmation_hash.is_some());
    assert!(!serde_json::to_string(&stored).unwrap().contains(&code));

    server.scan(&desktop.id).await.ok();
    assert_eq!(
        server.qr_status(&desktop).await.ok(),
        json!({"state": "scanned", "confirmationRequired": true, "confirmed": false})
    );
    // No challenge and no completion before the code.
    server
        .post(
            "/passkey/authenticate/options",
            json!({ "qrSessionId": desktop.id }),
        )
        .await
        .assert_error(400, QR_CONFIRMATION_REQUIRED);
    let unbound = server.phone_answer(&mut phone, None).await;
    server
        .complete(&desktop.id, &unbound)
        .await
        .assert_error(400, QR_CONFIRMATION_REQUIRED);

    assert_eq!(
        server.confirm(&desktop.id, &code).await.ok(),
        json!({"ok": true})
    );
    // A client retry of the right code is fine.
    server.confirm(&desktop.id, &code).await.ok();
    assert_eq!(
        server.qr_status(&desktop).await.ok(),
        json!({"state": "scanned", "confirmationRequired": true, "confirmed": true})
    );
    let answer = server.phone_answer(&mut phone, Some(&desktop.id)).await;
    server.complete(&desktop.id, &answer).await.ok();
    let status = server.qr_status(&desktop).await.ok();
    assert_eq!(status["confirmed"], true);
    assert!(status["session"]["token"].is_string());
}

#[tokio::test]
async fn a_wrong_confirmation_code_is_refused() {
    let server = unlimited(with_confirmation(6)).await;
    let desktop = server.create_qr().await;
    let code = desktop.code.clone().unwrap();
    assert_eq!(code.len(), 6);
    // Before scanning: refused without counting.
    server
        .confirm(&desktop.id, &code)
        .await
        .assert_error(400, passkey_magic_server::qr::QR_NOT_SCANNED);
    server.scan(&desktop.id).await.ok();
    server
        .confirm(&desktop.id, &wrong(&code))
        .await
        .assert_error(400, INVALID_CONFIRMATION_CODE);
    server
        .confirm(&desktop.id, "not digits")
        .await
        .assert_error(400, INVALID_CONFIRMATION_CODE);
    server
        .post(&format!("/qr/{}/confirm", desktop.id), json!({}))
        .await
        .assert_error(400, "Missing or invalid field: confirmationCode");
    assert_eq!(
        server.qr_status(&desktop).await.ok()["confirmed"],
        json!(false)
    );
    // Two wrong codes do not lock the right one out.
    server.confirm(&desktop.id, &code).await.ok();
}

#[tokio::test]
async fn five_wrong_confirmation_codes_cancel_the_login() {
    let server = unlimited(with_confirmation(6)).await;
    let desktop = server.create_qr().await;
    let code = desktop.code.clone().unwrap();
    server.scan(&desktop.id).await.ok();
    for _ in 0..4 {
        server
            .confirm(&desktop.id, &wrong(&code))
            .await
            .assert_error(400, INVALID_CONFIRMATION_CODE);
    }
    server
        .confirm(&desktop.id, &wrong(&code))
        .await
        .assert_error(400, CONFIRMATION_LOCKED);
    assert_eq!(state(server.qr_status(&desktop).await), "cancelled");
    server
        .confirm(&desktop.id, &code)
        .await
        .assert_error(400, CONFIRMATION_LOCKED);
}

#[tokio::test]
async fn parallel_guessers_get_five_tries_in_all() {
    let server = unlimited(with_confirmation(4)).await;
    let desktop = server.create_qr().await;
    let code = desktop.code.clone().unwrap();
    server.scan(&desktop.id).await.ok();
    // Forty guesses at once, none right: the store counts attempts before comparing.
    let guesses: Vec<String> = (0..40).map(|_| wrong(&code)).collect();
    let replies = futures_join(
        guesses
            .iter()
            .map(|guess| server.confirm(&desktop.id, guess)),
    )
    .await;
    let invalid = replies
        .iter()
        .filter(|r| r.body["error"] == INVALID_CONFIRMATION_CODE)
        .count();
    assert_eq!(invalid, 4, "attempts 1-4 are compared and refused");
    assert!(replies.iter().all(|r| r.status == 400));
    assert_eq!(state(server.qr_status(&desktop).await), "cancelled");
    server
        .confirm(&desktop.id, &code)
        .await
        .assert_error(400, CONFIRMATION_LOCKED);
}

/// v0.4 apps may send a code although confirmation is off: a harmless `{ok: true}` that
/// changes nothing (the status still has no confirmation fields).
#[tokio::test]
async fn confirming_without_confirmation_enabled_is_a_no_op() {
    let server = TestServer::start().await;
    let desktop = server.create_qr().await;
    assert!(desktop.code.is_none());
    server.scan(&desktop.id).await.ok();
    let before = server.qr_status(&desktop).await.ok();
    assert_eq!(
        server.confirm(&desktop.id, "123456").await.ok(),
        json!({"ok": true})
    );
    assert_eq!(server.qr_status(&desktop).await.ok(), before);
    assert_eq!(before, json!({"state": "scanned"}));
}

// ---------------------------------------------------------------- races

/// Runs futures concurrently on this task and returns their outputs in order (the
/// server handles each request on its own task, so they race for real).
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    use std::pin::Pin;
    use std::task::Poll;
    let mut futures: Vec<Pin<Box<F>>> = futures.map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|context| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(context) {
                    Poll::Ready(value) => *output = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[tokio::test]
async fn fifty_parallel_completions_have_exactly_one_winner() {
    let server = unlimited(builder()).await;
    let (mut phone, _) = phone(&server).await;
    let desktop = server.create_qr().await;
    server.scan(&desktop.id).await.ok();
    let mut answers = Vec::new();
    for _ in 0..50 {
        answers.push(server.phone_answer(&mut phone, Some(&desktop.id)).await);
    }
    let replies = futures_join(
        answers
            .iter()
            .map(|answer| server.complete(&desktop.id, answer)),
    )
    .await;
    let winners = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!(winners, 1, "{replies:?}");
    for reply in replies.iter().filter(|r| r.status != 200) {
        reply.assert_error(400, QR_ALREADY_COMPLETED);
    }
}

#[tokio::test]
async fn the_session_token_appears_in_exactly_one_status_response() {
    let server = TestServer::start().await;
    let (mut phone, _) = phone(&server).await;
    let desktop = server.create_qr().await;
    server.scan(&desktop.id).await.ok();
    let answer = server.phone_answer(&mut phone, Some(&desktop.id)).await;
    server.complete(&desktop.id, &answer).await.ok();
    let replies = futures_join((0..30).map(|_| server.qr_status(&desktop))).await;
    let bodies: Vec<Value> = replies.into_iter().map(Reply::ok).collect();
    assert!(bodies.iter().all(|b| b["state"] == "authenticated"));
    let with_token = bodies.iter().filter(|b| b.get("session").is_some()).count();
    assert_eq!(with_token, 1);
    // And never again, long-polled or not.
    let later = server.qr_status_waiting(&desktop, 5).await.ok();
    assert_eq!(later, json!({"state": "authenticated"}));
}

// ---------------------------------------------------------------- long-poll

/// Waits (briefly, without a clock assertion) until `count` desktops long-poll.
async fn until_waiting(server: &TestServer, count: usize) {
    while server.auth.qr().waiting_desktops() < count {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_long_poll_answers_as_soon_as_the_phone_completes() {
    let server = TestServer::start().await;
    let (mut phone, _) = phone(&server).await;
    let desktop = server.create_qr().await;
    server.scan(&desktop.id).await.ok();
    let answer = server.phone_answer(&mut phone, Some(&desktop.id)).await;

    // The desktop waits up to 30 s; the test gives up long before that.
    let waiting = server.qr_status_waiting(&desktop, 30);
    let phone_side = async {
        until_waiting(&server, 1).await;
        server.complete(&desktop.id, &answer).await.ok();
    };
    let (reply, ()) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(waiting, phone_side)
    })
    .await
    .expect("the long-poll answered before its 30 s wait ended");
    let status = reply.ok();
    assert_eq!(status["state"], "authenticated");
    assert!(status["session"]["token"].is_string());
    assert_eq!(server.auth.qr().waiting_desktops(), 0, "waiters clean up");
}

#[tokio::test]
async fn a_long_poll_answers_each_step_of_the_phone() {
    let server = unlimited(with_confirmation(6)).await;
    let desktop = server.create_qr().await;
    let code = desktop.code.clone().unwrap();
    for (step, expected) in [("scan", "scanned"), ("confirm", "scanned")] {
        let waiting = server.qr_status_waiting(&desktop, 30);
        let phone_side = async {
            until_waiting(&server, 1).await;
            match step {
                "scan" => server.scan(&desktop.id).await.ok(),
                _ => server.confirm(&desktop.id, &code).await.ok(),
            };
        };
        let (reply, ()) = tokio::time::timeout(Duration::from_secs(20), async {
            tokio::join!(waiting, phone_side)
        })
        .await
        .expect("answered before the wait ended");
        let status = reply.ok();
        assert_eq!(status["state"], expected, "{step}");
        assert_eq!(status["confirmed"], step == "confirm", "{step}");
    }
}

#[tokio::test]
async fn a_long_poll_without_change_answers_the_same_state_when_the_wait_ends() {
    let server = TestServer::start().await;
    let desktop = server.create_qr().await;
    let reply = server.qr_status_waiting(&desktop, 1).await;
    assert_eq!(reply.ok(), json!({"state": "created"}));
    assert_eq!(server.auth.qr().waiting_desktops(), 0);
    // A finished login answers at once, whatever the wait.
    server.cancel(&desktop).await.ok();
    let reply = tokio::time::timeout(
        Duration::from_secs(20),
        server.qr_status_waiting(&desktop, 30),
    )
    .await
    .expect("no waiting on a cancelled login");
    assert_eq!(reply.ok(), json!({"state": "cancelled"}));
}

#[tokio::test]
async fn a_long_poll_sees_a_cancel_from_another_request() {
    let server = TestServer::start().await;
    let desktop = server.create_qr().await;
    let waiting = server.qr_status_waiting(&desktop, 30);
    let other_tab = async {
        until_waiting(&server, 1).await;
        server.cancel(&desktop).await.ok();
    };
    let (reply, ()) = tokio::time::timeout(Duration::from_secs(20), async {
        tokio::join!(waiting, other_tab)
    })
    .await
    .expect("answered before the wait ended");
    assert_eq!(reply.ok(), json!({"state": "cancelled"}));
}

// ---------------------------------------------------------------- rendering

/// Parses the SVG as XML and draws its module grid as a grayscale image (4 px per
/// module), then decodes it like a camera would.
fn decode_svg(svg: &str) -> String {
    let document = roxmltree::Document::parse(svg).expect("the SVG is well-formed XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let view_box: Vec<usize> = root
        .attribute("viewBox")
        .unwrap()
        .split(' ')
        .map(|n| n.parse().unwrap())
        .collect();
    let size = view_box[2];
    let mut dark = vec![false; size * size];
    let path = root
        .descendants()
        .find(|node| node.has_tag_name("path"))
        .expect("a path of dark modules");
    assert_eq!(path.attribute("fill"), Some("#000"));
    // Each subpath is `M x y h w v 1 h -w z`: a rectangle one module high.
    for subpath in path
        .attribute("d")
        .unwrap()
        .split('z')
        .filter(|s| !s.is_empty())
    {
        let numbers: Vec<i64> = subpath
            .split(|c: char| c.is_ascii_alphabetic() || c == ' ')
            .filter(|s| !s.is_empty())
            .map(|n| n.parse().unwrap())
            .collect();
        let [x, y, width, height, ..] = numbers[..] else {
            panic!("unexpected subpath {subpath:?}");
        };
        for row in y..y + height {
            for column in x..x + width {
                dark[row as usize * size + column as usize] = true;
            }
        }
    }
    decode_grid(&dark, size)
}

/// Draws a module grid at 4 px per module and decodes it with rqrr.
fn decode_grid(dark: &[bool], size: usize) -> String {
    const SCALE: usize = 4;
    let mut image =
        rqrr::PreparedImage::prepare_from_greyscale(size * SCALE, size * SCALE, |x, y| {
            if dark[(y / SCALE) * size + x / SCALE] {
                0
            } else {
                255
            }
        });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().expect("the code decodes").1
}

#[tokio::test]
async fn rendered_svg_decodes_back_to_the_url() {
    let server = TestServer::start().await;
    let desktop = server.create_qr().await;
    let url = format!(
        "https://example.com/auth/qr/{}?from=desktop&x=<&>",
        desktop.id
    );
    let svg = server.auth.qr().render(&url).unwrap();
    assert_eq!(decode_svg(&svg), url);
    for border in [0, 1, 10] {
        let svg = render::svg(
            &url,
            &SvgOptions {
                border,
                module_size: 3,
            },
        )
        .unwrap();
        if border > 0 {
            assert_eq!(decode_svg(&svg), url, "border {border}");
        } else {
            // No quiet zone: a camera needs the page's margin; the XML is still valid.
            roxmltree::Document::parse(&svg).unwrap();
        }
    }
}

#[test]
fn terminal_text_decodes_back_to_the_url() {
    let url = "https://example.com/auth/qr/6f1f7e2c-5a43-4f7e-9d8e-2b0f2c6a9e11";
    for invert in [false, true] {
        let text = render::text(url, &TextOptions { border: 2, invert }).unwrap();
        let lines: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
        let size = lines[0].len();
        assert!(lines.iter().all(|line| line.len() == size));
        let mut dark = vec![false; size * size];
        for (row, line) in lines.iter().enumerate() {
            for (column, cell) in line.iter().enumerate() {
                let (top, bottom) = match cell {
                    '█' => (true, true),
                    '▀' => (true, false),
                    '▄' => (false, true),
                    ' ' => (false, false),
                    other => panic!("unexpected character {other:?}"),
                };
                for (offset, ink) in [(0, top), (1, bottom)] {
                    let y = row * 2 + offset;
                    if y < size {
                        dark[y * size + column] = ink != invert;
                    }
                }
            }
        }
        assert_eq!(decode_grid(&dark, size), url, "invert {invert}");
    }
}

#[tokio::test]
async fn urls_too_long_for_a_qr_code_are_refused() {
    let server = TestServer::start().await;
    let error = server.auth.qr().render(&"x".repeat(10_000)).unwrap_err();
    assert!(matches!(
        error,
        passkey_magic_server::Error::InvalidRequest(_)
    ));
}
