//! Magic links (routes 7–8) over real HTTP, delivered by the SMTP sender to a real SMTP
//! server on loopback (the in-process sink of `smtp_sink`): the mail arrives and its link
//! signs in once; reuse, expiry, garbage and oversized tokens are refused; identity rules
//! (new user, existing user, another user's email — never merged); races (20 parallel
//! verifies of one token, first sign-ins of one email) on the memory and SQLite stores;
//! delivery failures (server down, refusing, stalled) leave no usable link; rate limits,
//! hooks, events and configuration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

mod smtp_sink;
#[allow(dead_code)] // shared with http.rs, which uses more of it
mod support;

use passkey_magic_server::config::ConfigError;
use passkey_magic_server::config::{Budget, EmailLinking};
use passkey_magic_server::events::Event;
use passkey_magic_server::hooks::{Hooks, MagicLinkAttempt, RegisterAttempt, SignInAttempt, Veto};
use passkey_magic_server::magic_links::{INVALID_MAGIC_LINK, MagicLinkConfig, SEND_FAILED};
use passkey_magic_server::mail::{
    DevOutbox, EmailSender, MagicLinkEmail, MailError, SmtpConfig, SmtpSecurity, SmtpSender,
};
use passkey_magic_server::secrets::TokenHash;
use passkey_magic_server::store::SqliteStore;
use passkey_magic_server::{Auth, AuthBuilder};
use passkey_magic_shared::magic_link::extract_token;
use passkey_magic_shared::{AuthMethod, RateLimitRule};
use serde_json::{Value, json};
use smtp_sink::{Behaviour, SmtpSink};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{Browser, START_MILLIS, TestServer, builder};

/// The page links point to.
const LINK_URL: &str = "http://localhost:8787/verify";
const APP_NAME: &str = "Test App";
const FROM: &str = "Test App <no-reply@example.com>";
const MINUTE: i64 = 60_000;

// ---------------------------------------------------------------- helpers

fn smtp_config(port: u16) -> SmtpConfig {
    SmtpConfig {
        port: Some(port),
        security: SmtpSecurity::None,
        timeout: Duration::from_secs(5),
        ..SmtpConfig::new("127.0.0.1", FROM)
    }
}

fn smtp_sender(port: u16) -> SmtpSender {
    SmtpSender::new(&smtp_config(port)).unwrap()
}

/// The test relying party with magic links to [`LINK_URL`], sent through `sink`.
fn magic_builder(sink: &SmtpSink) -> AuthBuilder {
    builder()
        .rp_name(APP_NAME)
        .magic_links(MagicLinkConfig::new(LINK_URL))
        .email_sender(smtp_sender(sink.port()))
}

async fn start(sink: &SmtpSink) -> TestServer {
    TestServer::start_with(magic_builder(sink)).await
}

/// A SQLite store on a file of its own (a pool of connections, so races are real).
async fn sqlite_file_store() -> (SqliteStore, std::path::PathBuf) {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "pm-magic-links-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("store.db").display());
    (SqliteStore::connect(&url).await.unwrap(), dir)
}

async fn send(server: &TestServer, email: &str) -> support::Reply {
    server
        .post("/magic-link/send", json!({ "email": email }))
        .await
}

async fn verify(server: &TestServer, token: &str) -> support::Reply {
    server
        .post("/magic-link/verify", json!({ "token": token }))
        .await
}

/// Sends a link to `email` and returns its token, read from the mail the sink received.
async fn send_and_receive(server: &TestServer, sink: &SmtpSink, email: &str) -> String {
    let before = sink.messages().len();
    assert_eq!(send(server, email).await.ok(), json!({ "sent": true }));
    let messages = sink.messages();
    assert_eq!(messages.len(), before + 1, "one more message arrived");
    extract_token(&messages[before].link()).unwrap()
}

/// `POST {base}{path}` by hand: status and JSON body (5xx allowed).
async fn post_raw(base: &str, path: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Verifies `token` `count` times at once, each on its own connection.
async fn verify_in_parallel(server: &TestServer, token: &str, count: usize) -> Vec<(u16, Value)> {
    let mut calls = tokio::task::JoinSet::new();
    for _ in 0..count {
        let base = server.base_url().to_owned();
        let token = token.to_owned();
        calls.spawn(async move {
            post_raw(&base, "/magic-link/verify", json!({ "token": token })).await
        });
    }
    calls.join_all().await
}

/// An [`EmailSender`] that remembers every message (token included) and then lets
/// another sender deliver it: how a test learns the token of a failed delivery.
struct Recording<S> {
    inner: Arc<S>,
    seen: Arc<Mutex<Vec<MagicLinkEmail>>>,
}

impl<S> Clone for Recording<S> {
    fn clone(&self) -> Self {
        Recording {
            inner: Arc::clone(&self.inner),
            seen: Arc::clone(&self.seen),
        }
    }
}

impl<S> Recording<S> {
    fn new(inner: S) -> Self {
        Recording {
            inner: Arc::new(inner),
            seen: Arc::default(),
        }
    }

    fn tokens(&self) -> Vec<String> {
        let seen = self.seen.lock().unwrap();
        seen.iter().map(|m| m.token().expose().to_owned()).collect()
    }
}

#[async_trait::async_trait]
impl<S: EmailSender> EmailSender for Recording<S> {
    async fn send_magic_link(&self, message: &MagicLinkEmail) -> Result<(), MailError> {
        self.seen.lock().unwrap().push(message.clone());
        self.inner.send_magic_link(message).await
    }
}

/// Asserts that a failed delivery left nothing usable behind: no stored link for the
/// recorded token, verification refused, no user created.
async fn assert_undelivered_link_is_dead(server: &TestServer, token: &str, email: &str) {
    let hash = TokenHash::of(token);
    assert!(
        !server.auth.store().delete_magic_link(&hash).await.unwrap(),
        "the link of a failed delivery must not be stored"
    );
    verify(server, token)
        .await
        .assert_error(400, INVALID_MAGIC_LINK);
    assert!(
        server
            .auth
            .store()
            .user_by_email(email)
            .await
            .unwrap()
            .is_none()
    );
}

// ---------------------------------------------------------------- delivery and sign-in

#[tokio::test]
async fn the_mail_arrives_by_smtp_and_its_link_signs_in_a_new_user() {
    let sink = SmtpSink::start().await;
    let server = start(&sink).await;
    let mut events = server.auth.subscribe();

    assert_eq!(
        send(&server, "Ada@Example.com").await.ok(),
        json!({ "sent": true })
    );
    let mail = sink.single_message();
    assert_eq!(mail.from, "no-reply@example.com");
    assert_eq!(mail.to, ["Ada@Example.com"]);
    assert_eq!(mail.header("Subject").unwrap(), "Sign in to Test App");
    assert!(
        mail.header("Content-Type")
            .unwrap()
            .starts_with("multipart/alternative"),
        "{mail:?}"
    );
    let link = mail.link();
    assert!(link.starts_with(&format!("{LINK_URL}?token=")), "{link}");
    let token = extract_token(&link).unwrap();
    assert_eq!(token.len(), 43, "256 bits, base64url");
    let text = mail.part("text/plain");
    let html = mail.part("text/html");
    for body in [&text, &html] {
        assert!(body.contains(APP_NAME), "{body}");
        assert!(body.contains("expires in 15 minutes"), "{body}");
        assert!(body.contains("2026-11-29T21:56:38.000Z"), "{body}");
    }
    assert!(html.contains(&format!("<a href=\"{LINK_URL}?token={token}\">")));
    assert!(!html.contains("<img"), "no tracking pixels");

    let body = verify(&server, &token).await.ok();
    assert_eq!(body["method"], "magic-link");
    assert_eq!(body["isNewUser"], true);
    assert_eq!(body["user"]["email"], "Ada@Example.com");
    assert_eq!(body["session"]["authMethod"], "magic-link");
    assert_eq!(body["session"]["userAgent"], support::USER_AGENT);
    let user_id = body["user"]["id"].as_str().unwrap();
    let session_token = body["session"]["token"].as_str().unwrap();
    let session = server.get_as(session_token, "/session").await.ok();
    assert_eq!(session["user"]["id"], user_id);
    assert_eq!(session["session"]["authMethod"], "magic-link");

    let received: Vec<Event> = std::iter::from_fn(|| events.try_recv().ok()).collect();
    assert_eq!(
        received,
        [
            Event::MagicLinkSent {
                email: "Ada@Example.com".into()
            },
            Event::UserCreated {
                user_id: user_id.into()
            },
            Event::SessionCreated {
                session_id: body["session"]["id"].as_str().unwrap().into(),
                user_id: user_id.into(),
                method: AuthMethod::MagicLink,
            },
        ]
    );
    assert_eq!(received[0].name(), "magic-link:sent");
}

#[tokio::test]
async fn a_link_works_once() {
    let sink = SmtpSink::start().await;
    let server = start(&sink).await;
    let token = send_and_receive(&server, &sink, "ada@example.com").await;
    verify(&server, &token).await.ok();
    verify(&server, &token)
        .await
        .assert_error(400, INVALID_MAGIC_LINK);
}

#[tokio::test]
async fn an_expired_link_is_refused() {
    let sink = SmtpSink::start().await;
    let server = start(&sink).await;
    let late = send_and_receive(&server, &sink, "ada@example.com").await;
    let just_in_time = send_and_receive(&server, &sink, "ada@example.com").await;

    server.clock.advance_millis(15 * MINUTE - 1);
    verify(&server, &just_in_time).await.ok();
    server.clock.advance_millis(1);
    verify(&server, &late)
        .await
        .assert_error(400, INVALID_MAGIC_LINK);
}

#[tokio::test]
async fn garbage_empty_and_oversized_tokens_are_refused() {
    let sink = SmtpSink::start().await;
    let server = start(&sink).await;
    let token = send_and_receive(&server, &sink, "ada@example.com").await;

    let mut near_miss = token.clone();
    let last = near_miss.pop().unwrap();
    near_miss.push(if last == 'A' { 'B' } else { 'A' });
    for garbage in ["garbage", "💥", " ", &near_miss, &"a".repeat(1024)] {
        verify(&server, garbage)
            .await
            .assert_error(400, INVALID_MAGIC_LINK);
    }
    verify(&server, &"a".repeat(1025))
        .await
        .assert_error(400, "Invalid field: token");
    for missing in [json!({}), json!({ "token": "" }), json!({ "token": 42 })] {
        server
            .post("/magic-link/verify", missing)
            .await
            .assert_error(400, "Missing or invalid field: token");
    }
    // None of that used up the real link.
    verify(&server, &token).await.ok();
}

#[tokio::test]
async fn an_existing_email_signs_in_its_user() {
    let sink = SmtpSink::start().await;
    let server = start(&sink).await;
    let first = send_and_receive(&server, &sink, "ada@example.com").await;
    let created = verify(&server, &first).await.ok();
    assert_eq!(created["isNewUser"], true);

    // Any letter case of the same email is the same user.
    let second = send_and_receive(&server, &sink, "ADA@Example.COM").await;
    let signed_in = verify(&server, &second).await.ok();
    assert_eq!(signed_in["isNewUser"], false);
    assert_eq!(signed_in["user"], created["user"]);
    assert_ne!(signed_in["session"]["id"], created["session"]["id"]);
}

#[tokio::test]
async fn a_link_for_another_users_email_signs_in_that_user_without_merging() {
    let sink = SmtpSink::start().await;
    // Immediate (v0.4) linking, so Ada's email is hers at once.
    let server =
        TestServer::start_with(magic_builder(&sink).email_linking(EmailLinking::Immediate)).await;
    // Ada signed up with a passkey and linked her email; Bob has only a passkey.
    let ada = server.sign_up(&mut Browser::new()).await;
    server
        .post_as(
            &ada.token,
            "/account/link-email",
            json!({ "email": "ada@example.com" }),
        )
        .await
        .ok();
    let bob = server.sign_up(&mut Browser::new()).await;

    // Bob asks for a link to Ada's email: the link signs in Ada, not Bob, and not a
    // third user.
    let token = send_and_receive(&server, &sink, "Ada@Example.com").await;
    let body = verify(&server, &token).await.ok();
    assert_eq!(body["isNewUser"], false);
    assert_eq!(body["user"]["id"], ada.user_id.as_str());
    assert_eq!(body["user"]["email"], "ada@example.com");
    let ada_session = body["session"]["token"].as_str().unwrap();
    let credentials = server
        .get_as(ada_session, "/account/credentials")
        .await
        .ok();
    assert_eq!(credentials["credentials"][0]["id"], ada.credential());

    // Bob is untouched and still cannot take Ada's email.
    let bob_account = server.get_as(&bob.token, "/account").await.ok();
    assert_eq!(bob_account["user"]["id"], bob.user_id.as_str());
    assert!(bob_account["user"].get("email").is_none());
    let bob_credentials = server.get_as(&bob.token, "/account/credentials").await.ok();
    assert_eq!(bob_credentials["credentials"][0]["id"], bob.credential());
    server
        .post_as(
            &bob.token,
            "/account/link-email",
            json!({ "email": "ada@example.com" }),
        )
        .await
        .assert_error(400, "Email already in use");
}

#[tokio::test]
async fn a_link_url_with_a_query_keeps_it() {
    let sink = SmtpSink::start().await;
    let server = TestServer::start_with(
        builder()
            .magic_links(MagicLinkConfig::new(
                "https://app.example/verify?lang=fr#top",
            ))
            .email_sender(smtp_sender(sink.port())),
    )
    .await;
    let token = send_and_receive(&server, &sink, "ada@example.com").await;
    assert_eq!(
        sink.single_message().link(),
        format!("https://app.example/verify?lang=fr&token={token}#top")
    );
    verify(&server, &token).await.ok();
}

#[tokio::test]
async fn the_ttl_is_configurable() {
    let sink = SmtpSink::start().await;
    let server = TestServer::start_with(
        builder()
            .magic_links(MagicLinkConfig::new(LINK_URL).ttl(Duration::from_secs(120)))
            .email_sender(smtp_sender(sink.port())),
    )
    .await;
    let token = send_and_receive(&server, &sink, "ada@example.com").await;
    assert!(
        sink.single_message()
            .part("text/plain")
            .contains("expires in 2 minutes")
    );
    server.clock.advance_millis(2 * MINUTE);
    verify(&server, &token)
        .await
        .assert_error(400, INVALID_MAGIC_LINK);
}

// ---------------------------------------------------------------- races

async fn twenty_parallel_verifies_sign_in_once(builder: AuthBuilder, sink: &SmtpSink) {
    let server = TestServer::start_with(
        builder
            .rp_name(APP_NAME)
            .magic_links(MagicLinkConfig::new(LINK_URL))
            .email_sender(smtp_sender(sink.port()))
            // 20 calls from one address would trip magicLink.verify (10 per 15 min).
            .rate_limit(RateLimitRule::MagicLinkVerify, None),
    )
    .await;
    let token = send_and_receive(&server, sink, "race@example.com").await;

    let results = verify_in_parallel(&server, &token, 20).await;
    let winners: Vec<&Value> = results
        .iter()
        .filter(|(status, _)| *status == 200)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for (status, body) in &results {
        if *status != 200 {
            assert_eq!((*status, &body["error"]), (400, &json!(INVALID_MAGIC_LINK)));
        }
    }
    let user_id = winners[0]["user"]["id"].as_str().unwrap();
    let sessions = server.auth.sessions().list(user_id).await.unwrap();
    assert_eq!(sessions.len(), 1, "exactly one session was created");
}

#[tokio::test]
async fn twenty_parallel_verifies_of_one_token_sign_in_once_on_the_memory_store() {
    let sink = SmtpSink::start().await;
    twenty_parallel_verifies_sign_in_once(builder(), &sink).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_parallel_verifies_of_one_token_sign_in_once_on_sqlite() {
    let sink = SmtpSink::start().await;
    let (store, dir) = sqlite_file_store().await;
    twenty_parallel_verifies_sign_in_once(builder().store(store), &sink).await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_first_sign_ins_of_one_email_make_one_user() {
    let sink = SmtpSink::start().await;
    let (store, dir) = sqlite_file_store().await;
    let server = TestServer::start_with(magic_builder(&sink).store(store)).await;
    let tokens = [
        send_and_receive(&server, &sink, "new@example.com").await,
        send_and_receive(&server, &sink, "NEW@example.com").await,
        send_and_receive(&server, &sink, "new@EXAMPLE.com").await,
    ];
    let mut calls = tokio::task::JoinSet::new();
    for token in tokens {
        let base = server.base_url().to_owned();
        calls.spawn(async move {
            post_raw(&base, "/magic-link/verify", json!({ "token": token })).await
        });
    }
    let results = calls.join_all().await;
    assert!(
        results.iter().all(|(status, _)| *status == 200),
        "{results:?}"
    );
    let new_users = results
        .iter()
        .filter(|(_, body)| body["isNewUser"] == true)
        .count();
    assert_eq!(new_users, 1, "{results:?}");
    let first_id = &results[0].1["user"]["id"];
    assert!(
        results
            .iter()
            .all(|(_, body)| &body["user"]["id"] == first_id)
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// Plays the winner of a race: just before the engine creates a user for a magic link,
/// another request creates one with the same email.
struct SignUpRace(passkey_magic_server::store::MemoryStore);

#[async_trait::async_trait]
impl Hooks for SignUpRace {
    async fn before_register(&self, attempt: &RegisterAttempt<'_>) -> Result<(), Veto> {
        use passkey_magic_server::store::Store;
        let winner = passkey_magic_server::store::UserRecord {
            id: "u-winner".into(),
            email: attempt.email.map(str::to_uppercase),
            user_handle: passkey_magic_server::secrets::random_user_handle().unwrap(),
            created_at: passkey_magic_shared::Timestamp::from_unix_millis(START_MILLIS),
            metadata: None,
        };
        self.0.create_user(&winner).await.unwrap();
        Ok(())
    }
}

#[tokio::test]
async fn losing_the_race_to_create_a_user_signs_in_the_winner() {
    let sink = SmtpSink::start().await;
    let store = passkey_magic_server::store::MemoryStore::new();
    let server = TestServer::start_with(
        magic_builder(&sink)
            .store(store.clone())
            .hooks(SignUpRace(store)),
    )
    .await;
    let mut events = server.auth.subscribe();
    let token = send_and_receive(&server, &sink, "race@example.com").await;
    let body = verify(&server, &token).await.ok();
    assert_eq!(body["isNewUser"], false);
    assert_eq!(body["user"]["id"], "u-winner");
    assert_eq!(body["user"]["email"], "RACE@EXAMPLE.COM");
    let created = std::iter::from_fn(|| events.try_recv().ok())
        .filter(|event| matches!(event, Event::UserCreated { .. }))
        .count();
    assert_eq!(created, 0, "the loser created nobody");
}

// ---------------------------------------------------------------- delivery failures

#[tokio::test]
async fn smtp_server_down_is_a_clear_503_and_leaves_no_usable_link() {
    // A port that nothing listens on.
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let sender = Recording::new(smtp_sender(closed_port));
    let server = TestServer::start_with(
        builder()
            .magic_links(MagicLinkConfig::new(LINK_URL))
            .email_sender(sender.clone()),
    )
    .await;
    let mut events = server.auth.subscribe();

    let (status, body) = post_raw(
        server.base_url(),
        "/magic-link/send",
        json!({ "email": "ada@example.com" }),
    )
    .await;
    assert_eq!(
        (status, body),
        (503, json!({ "error": SEND_FAILED, "code": "unavailable" }))
    );
    let tokens = sender.tokens();
    assert_eq!(tokens.len(), 1, "the sender was asked once");
    assert_undelivered_link_is_dead(&server, &tokens[0], "ada@example.com").await;
    assert!(events.try_recv().is_err(), "no magic-link:sent event");
}

#[tokio::test]
async fn an_smtp_server_that_refuses_the_recipient_is_a_503_too() {
    let sink = SmtpSink::start_with(Behaviour::RejectRecipients).await;
    let sender = Recording::new(smtp_sender(sink.port()));
    let server = TestServer::start_with(
        builder()
            .magic_links(MagicLinkConfig::new(LINK_URL))
            .email_sender(sender.clone()),
    )
    .await;
    let (status, body) = post_raw(
        server.base_url(),
        "/magic-link/send",
        json!({ "email": "nobody@example.com" }),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (503, Some(SEND_FAILED)));
    assert!(sink.messages().is_empty());
    assert_undelivered_link_is_dead(&server, &sender.tokens()[0], "nobody@example.com").await;
}

#[tokio::test]
async fn a_stalled_smtp_server_times_out() {
    let sink = SmtpSink::start_with(Behaviour::Silent).await;
    let config = SmtpConfig {
        timeout: Duration::from_millis(300),
        ..smtp_config(sink.port())
    };
    let sender = Recording::new(SmtpSender::new(&config).unwrap());
    let server = TestServer::start_with(
        builder()
            .magic_links(MagicLinkConfig::new(LINK_URL))
            .email_sender(sender.clone()),
    )
    .await;
    let (status, body) = post_raw(
        server.base_url(),
        "/magic-link/send",
        json!({ "email": "ada@example.com" }),
    )
    .await;
    assert_eq!((status, body["error"].as_str()), (503, Some(SEND_FAILED)));
    assert_undelivered_link_is_dead(&server, &sender.tokens()[0], "ada@example.com").await;
}

// ---------------------------------------------------------------- rate limits

#[tokio::test]
async fn the_sixth_send_for_one_address_and_email_is_rate_limited() {
    let sink = SmtpSink::start().await;
    let server = start(&sink).await;
    // magicLink.send: 5 per 15 minutes per client address and email.
    for _ in 0..5 {
        send(&server, "ada@example.com").await.ok();
    }
    let response = reqwest::Client::new()
        .post(format!("{}/magic-link/send", server.base_url()))
        .json(&json!({ "email": "ADA@example.com" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert_eq!(sink.messages().len(), 5, "the limited request sent nothing");

    // Another email from the same address still works.
    send(&server, "bob@example.com").await.ok();
    assert_eq!(sink.messages().len(), 6);
    // After the window, Ada can ask again.
    server.clock.advance_millis(15 * MINUTE);
    send(&server, "ada@example.com").await.ok();
}

/// `magicLink.send.address`: one client address may send 20 links per 15 minutes in
/// all, whatever the emails, so it cannot mail many people.
#[tokio::test]
async fn one_address_cannot_mail_many_emails() {
    let sink = SmtpSink::start().await;
    let server = start(&sink).await;
    for index in 0..20 {
        send(&server, &format!("user{index}@example.com"))
            .await
            .ok();
    }
    let reply = send(&server, "user20@example.com").await;
    assert_eq!(reply.status, 429, "{reply:?}");
    assert_eq!(
        sink.messages().len(),
        20,
        "the limited request sent nothing"
    );
    server.clock.advance_millis(15 * MINUTE);
    send(&server, "user20@example.com").await.ok();
}

// ---------------------------------------------------------------- input, hooks, config

#[tokio::test]
async fn invalid_emails_are_refused_and_nothing_is_sent() {
    let sink = SmtpSink::start().await;
    let server = start(&sink).await;
    for bad in ["plain", "ada@localhost", "ada lovelace@example.com"] {
        send(&server, bad).await.assert_error(400, "Invalid email");
    }
    server
        .post("/magic-link/send", json!({}))
        .await
        .assert_error(400, "Missing or invalid field: email");
    let long = format!("{}@example.com", "a".repeat(250));
    send(&server, &long)
        .await
        .assert_error(400, "Invalid field: email");
    assert!(sink.messages().is_empty());
}

/// Refuses magic links to one address, counts the links sent, and vetoes magic-link
/// sign-ins of users whose email starts with "banned".
#[derive(Default)]
struct MagicHooks {
    sent: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl Hooks for MagicHooks {
    async fn before_magic_link(&self, attempt: &MagicLinkAttempt<'_>) -> Result<(), Veto> {
        if attempt.email == "blocked@example.com" {
            return Err(Veto::new("This address cannot sign in"));
        }
        Ok(())
    }

    async fn after_magic_link(&self, attempt: &MagicLinkAttempt<'_>) {
        self.sent.lock().unwrap().push(attempt.email.to_owned());
    }

    async fn before_authenticate(&self, attempt: &SignInAttempt<'_>) -> Result<(), Veto> {
        assert_eq!(attempt.method, AuthMethod::MagicLink);
        match &attempt.user.email {
            Some(email) if email.starts_with("banned") => Err(Veto::new("Account suspended")),
            _ => Ok(()),
        }
    }
}

#[tokio::test]
async fn before_magic_link_vetoes_sending_and_after_magic_link_sees_sent_links() {
    let sink = SmtpSink::start().await;
    let hooks = Arc::new(MagicHooks::default());
    let server =
        TestServer::start_with(magic_builder(&sink).hooks(SharedHooks(hooks.clone()))).await;
    let mut events = server.auth.subscribe();
    send(&server, "blocked@example.com")
        .await
        .assert_error(400, "This address cannot sign in");
    assert!(sink.messages().is_empty());
    assert!(events.try_recv().is_err());

    send(&server, "ada@example.com").await.ok();
    assert_eq!(*hooks.sent.lock().unwrap(), ["ada@example.com"]);
}

#[tokio::test]
async fn a_before_authenticate_veto_uses_up_the_link_and_creates_nobody() {
    let sink = SmtpSink::start().await;
    let server = TestServer::start_with(magic_builder(&sink).hooks(MagicHooks::default())).await;
    let token = send_and_receive(&server, &sink, "banned@example.com").await;
    verify(&server, &token)
        .await
        .assert_error(400, "Account suspended");
    let store = server.auth.store();
    assert!(
        store
            .user_by_email("banned@example.com")
            .await
            .unwrap()
            .is_none()
    );
    verify(&server, &token)
        .await
        .assert_error(400, INVALID_MAGIC_LINK);
}

/// Records the sessions `after_authenticate` is handed.
#[derive(Clone, Default)]
struct SessionsSeen(Arc<Mutex<Vec<passkey_magic_shared::Session>>>);

#[async_trait::async_trait]
impl Hooks for SessionsSeen {
    async fn after_authenticate(
        &self,
        _: &passkey_magic_shared::User,
        session: &passkey_magic_shared::Session,
    ) {
        self.0.lock().unwrap().push(session.clone());
    }
}

#[tokio::test]
async fn magic_link_hooks_never_receive_the_session_token() {
    let sink = SmtpSink::start().await;
    let hooks = SessionsSeen::default();
    let server = TestServer::start_with(magic_builder(&sink).hooks(hooks.clone())).await;
    let link = send_and_receive(&server, &sink, "ada@example.com").await;
    let body = verify(&server, &link).await.ok();
    let token = body["session"]["token"].as_str().unwrap().to_owned();

    let seen = hooks.0.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].id, body["session"]["id"].as_str().unwrap());
    assert_eq!(seen[0].token, None);
    assert!(!format!("{:?}", seen[0]).contains(&token));
}

/// Closes sign-ups: no new users, by passkey or by magic link.
struct ClosedSignUps;

#[async_trait::async_trait]
impl Hooks for ClosedSignUps {
    async fn before_register(&self, attempt: &RegisterAttempt<'_>) -> Result<(), Veto> {
        assert!(attempt.email.is_some());
        Err(Veto::new("Sign-ups are closed"))
    }
}

#[tokio::test]
async fn closed_sign_ups_stop_new_users_but_not_existing_ones() {
    let sink = SmtpSink::start().await;
    let server = TestServer::start_with(magic_builder(&sink).hooks(ClosedSignUps)).await;
    // An existing user (created directly in the store) still signs in.
    let existing = passkey_magic_server::store::UserRecord {
        id: "u-existing".into(),
        email: Some("old@example.com".into()),
        user_handle: passkey_magic_server::secrets::random_user_handle().unwrap(),
        created_at: passkey_magic_shared::Timestamp::from_unix_millis(START_MILLIS),
        metadata: None,
    };
    server.auth.store().create_user(&existing).await.unwrap();
    let token = send_and_receive(&server, &sink, "old@example.com").await;
    let body = verify(&server, &token).await.ok();
    assert_eq!(body["user"]["id"], "u-existing");

    let token = send_and_receive(&server, &sink, "new@example.com").await;
    verify(&server, &token)
        .await
        .assert_error(400, "Sign-ups are closed");
    assert!(
        server
            .auth
            .store()
            .user_by_email("new@example.com")
            .await
            .unwrap()
            .is_none()
    );
}

/// Lets a test keep a handle on hooks it installs.
struct SharedHooks(Arc<MagicHooks>);

#[async_trait::async_trait]
impl Hooks for SharedHooks {
    async fn before_magic_link(&self, attempt: &MagicLinkAttempt<'_>) -> Result<(), Veto> {
        self.0.before_magic_link(attempt).await
    }

    async fn after_magic_link(&self, attempt: &MagicLinkAttempt<'_>) {
        self.0.after_magic_link(attempt).await;
    }
}

#[tokio::test]
async fn without_a_url_or_a_sender_both_routes_answer_not_configured() {
    let sink = SmtpSink::start().await;
    for partial in [
        builder().magic_links(MagicLinkConfig::new(LINK_URL)),
        builder().email_sender(smtp_sender(sink.port())),
    ] {
        let server = TestServer::start_with(partial).await;
        assert!(!server.auth.magic_links().is_enabled());
        for (path, body) in [
            ("/magic-link/send", r#"{"email":"ada@example.com"}"#),
            ("/magic-link/verify", r#"{"token":"abc"}"#),
            // The answer does not depend on the body.
            ("/magic-link/send", "not json"),
        ] {
            server
                .send(reqwest::Method::POST, path, None, Some(body.to_owned()))
                .await
                .assert_error(400, "Magic link not configured");
        }
    }
    assert!(sink.messages().is_empty());
}

#[test]
fn the_link_url_is_checked_when_the_engine_is_built() {
    for bad in [
        "/verify",
        "ftp://example.com/v",
        "https://example.com/v?token=x",
    ] {
        let result = builder()
            .magic_links(MagicLinkConfig::new(bad))
            .email_sender(DevOutbox::new())
            .build::<passkey_magic_server::auth::Metadata, passkey_magic_server::auth::Metadata>();
        assert_eq!(
            result.unwrap_err(),
            ConfigError::InvalidMagicLinkUrl(bad.to_owned())
        );
    }
    let auth: Auth = builder()
        .magic_links(MagicLinkConfig::new(LINK_URL))
        .email_sender(DevOutbox::new())
        .build()
        .unwrap();
    assert_eq!(auth.magic_links().config().unwrap().url, LINK_URL);
}

// ---------------------------------------------------------------- dev outbox

#[tokio::test]
async fn the_dev_outbox_keeps_links_for_tests_and_tools() {
    let file = std::env::temp_dir().join(format!("pm-magic-outbox-{}.jsonl", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let outbox = DevOutbox::new().file(&file);
    let server = TestServer::start_with(
        builder()
            .magic_links(MagicLinkConfig::new(LINK_URL))
            .email_sender(outbox.clone()),
    )
    .await;
    send(&server, "Ada@Example.com").await.ok();

    let message = outbox.last_to("ada@example.com").unwrap();
    assert_eq!(message.email, "Ada@Example.com");
    assert_eq!(message.url, format!("{LINK_URL}?token={}", message.token));
    let line: Value =
        serde_json::from_str(std::fs::read_to_string(&file).unwrap().trim_end()).unwrap();
    assert_eq!(
        line,
        json!({
            "email": "Ada@Example.com",
            "url": message.url,
            "token": message.token,
            "sentAt": "2026-11-29T21:41:38.000Z",
            "subject": "Sign in to localhost",
        })
    );
    assert_eq!(
        verify(&server, &message.token).await.ok()["isNewUser"],
        true
    );
    std::fs::remove_file(&file).unwrap();
}

// ---------------------------------------------------------------- verified email linking

/// Links `email` to the signed-in user behind `token` (verified linking): the answer is
/// the user unchanged, and the confirmation's token comes from the mail received.
async fn link_and_receive(
    server: &TestServer,
    sink: &SmtpSink,
    token: &str,
    email: &str,
) -> (Value, String) {
    let before = sink.messages().len();
    let user = server
        .post_as(token, "/account/link-email", json!({ "email": email }))
        .await
        .ok();
    let messages = sink.messages();
    assert_eq!(messages.len(), before + 1, "a confirmation was sent");
    assert!(
        messages[before]
            .header("Subject")
            .unwrap_or_default()
            .starts_with("Confirm your email"),
        "{:?}",
        messages[before].header("Subject")
    );
    (user, extract_token(&messages[before].link()).unwrap())
}

/// The pre-hijacking attack of v0.4: Mallory links Ada's address to his account before
/// Ada signs up. With verified linking (the default) the address stays free until its
/// owner confirms: Ada's own magic link creates *her* account, never Mallory's.
#[tokio::test]
async fn linking_someone_elses_email_never_signs_them_into_your_account() {
    let sink = SmtpSink::start().await;
    let server = start(&sink).await;
    let mallory = server.sign_up(&mut Browser::new()).await;
    let (user, _confirmation) =
        link_and_receive(&server, &sink, &mallory.token, "ada@example.com").await;
    // The v0.4 shape, unchanged user: no email yet.
    assert_eq!(user["user"]["id"], mallory.user_id.as_str());
    assert!(user["user"].get("email").is_none(), "{user}");
    // The address is still free for anyone to check or use...
    let available = server
        .post(
            "/account/email-available",
            json!({ "email": "ada@example.com" }),
        )
        .await
        .ok();
    assert_eq!(available["available"], true);
    // ...and Ada's magic link signs her into a new account of her own.
    let token = send_and_receive(&server, &sink, "ada@example.com").await;
    let ada = verify(&server, &token).await.ok();
    assert_eq!(ada["isNewUser"], true);
    assert_ne!(ada["user"]["id"], mallory.user_id.as_str());
    let mallory_now = server.get_as(&mallory.token, "/account").await.ok();
    assert!(mallory_now["user"].get("email").is_none());
}

/// The owner of the address confirms: the address is attached to the account that asked,
/// the confirmation signs that account in, works once, and from then on a magic link
/// for the address signs in that account.
#[tokio::test]
async fn a_confirmed_email_is_linked_once_and_then_signs_in() {
    let sink = SmtpSink::start().await;
    let server = start(&sink).await;
    let ada = server.sign_up(&mut Browser::new()).await;
    let (_, confirmation) = link_and_receive(&server, &sink, &ada.token, "Ada@Example.com").await;
    let confirmed = verify(&server, &confirmation).await.ok();
    assert_eq!(confirmed["isNewUser"], false);
    assert_eq!(confirmed["user"]["id"], ada.user_id.as_str());
    assert_eq!(confirmed["user"]["email"], "Ada@Example.com");
    verify(&server, &confirmation)
        .await
        .assert_error(400, "Invalid or expired magic link");
    let account = server.get_as(&ada.token, "/account").await.ok();
    assert_eq!(account["user"]["email"], "Ada@Example.com");
    let token = send_and_receive(&server, &sink, "ada@example.com").await;
    let signed_in = verify(&server, &token).await.ok();
    assert_eq!(signed_in["user"]["id"], ada.user_id.as_str());
    // Asking again for one's own address sends nothing more and changes nothing.
    let before = sink.messages().len();
    server
        .post_as(
            &ada.token,
            "/account/link-email",
            json!({ "email": "ADA@example.com" }),
        )
        .await
        .ok();
    assert_eq!(sink.messages().len(), before);

    // The security log: the sign-up, the link confirmed (with the confirmation's own
    // sign-in), the magic-link sign-in; no email address in any of it.
    let log = server.get_as(&ada.token, "/account/events").await.ok();
    let mut seen: Vec<(&str, &str)> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["method"].as_str().unwrap_or(""),
            )
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        [
            ("emailLinked", ""),
            ("signIn", "magic-link"),
            ("signIn", "magic-link"),
            ("signIn", "passkey"),
        ]
    );
    assert!(!log.to_string().to_lowercase().contains("ada@example.com"));
}

/// A confirmation whose address was taken in the meantime attaches nothing.
#[tokio::test]
async fn a_confirmation_for_an_address_taken_meanwhile_is_refused() {
    let sink = SmtpSink::start().await;
    let server = start(&sink).await;
    let bob = server.sign_up(&mut Browser::new()).await;
    let (_, confirmation) = link_and_receive(&server, &sink, &bob.token, "ada@example.com").await;
    let token = send_and_receive(&server, &sink, "ada@example.com").await;
    verify(&server, &token).await.ok();
    verify(&server, &confirmation)
        .await
        .assert_error(400, "Email already in use");
    let bob_now = server.get_as(&bob.token, "/account").await.ok();
    assert!(bob_now["user"].get("email").is_none());
}

/// Verified linking needs a way to send the confirmation.
#[tokio::test]
async fn verified_linking_without_magic_links_is_refused() {
    let server = TestServer::start().await;
    let ada = server.sign_up(&mut Browser::new()).await;
    server
        .post_as(
            &ada.token,
            "/account/link-email",
            json!({ "email": "ada@example.com" }),
        )
        .await
        .assert_error(400, "Magic link not configured");
}

// ---------------------------------------------------------------- enumeration budgets

/// `can-link-email` and `link-email` answer whether an address has an account: they
/// spend the `email.available` budget per user (and per address), so a signed-in user
/// cannot probe addresses without limit.
#[tokio::test]
async fn email_probes_of_signed_in_users_are_rate_limited() {
    let sink = SmtpSink::start().await;
    let server = TestServer::start_with(magic_builder(&sink).rate_limit(
        RateLimitRule::EmailAvailable,
        Some(Budget::new(3, Duration::from_secs(60))),
    ))
    .await;
    let ada = server.sign_up(&mut Browser::new()).await;
    for i in 0..2 {
        server
            .post_as(
                &ada.token,
                "/account/can-link-email",
                json!({ "email": format!("p{i}@example.com") }),
            )
            .await
            .ok();
    }
    server
        .post_as(
            &ada.token,
            "/account/link-email",
            json!({ "email": "p2@example.com" }),
        )
        .await
        .ok();
    for path in ["/account/can-link-email", "/account/link-email"] {
        let reply = server
            .post_as(&ada.token, path, json!({ "email": "p3@example.com" }))
            .await;
        assert_eq!(reply.status, 429, "{path}: {reply:?}");
    }
}

/// Many addresses together cannot flood one inbox: `magicLink.send` also counts per
/// email across addresses.
#[tokio::test]
async fn magic_links_to_one_email_are_capped_across_client_addresses() {
    let sink = SmtpSink::start().await;
    let server = TestServer::start_with(
        magic_builder(&sink)
            .trusted_proxies(["127.0.0.1/32".parse().unwrap()])
            .rate_limit(
                RateLimitRule::MagicLinkSend,
                Some(Budget::new(2, Duration::from_secs(900))),
            ),
    )
    .await;
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for i in 1..=3 {
        let response = http
            .post(format!("{}/magic-link/send", server.base_url()))
            .header("x-forwarded-for", format!("203.0.113.{i}"))
            .json(&json!({ "email": "ada@example.com" }))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
}

/// Operators may turn the public `email-available` route off: it then answers 404.
#[tokio::test]
async fn the_email_available_route_can_be_turned_off() {
    let server = TestServer::start_with(builder().email_available_route(false)).await;
    server
        .post(
            "/account/email-available",
            json!({ "email": "ada@example.com" }),
        )
        .await
        .assert_error(404, "Not found");
}
