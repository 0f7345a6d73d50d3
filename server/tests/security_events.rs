//! The security log end to end (route 30, `GET /account/events`): each account action
//! through real HTTP, then the log read back through the route — types, order, client
//! address and user agent, ids, paging by cursor, refusals (401, 400) — plus the Rust
//! API for a deleted account, the retention purge, and a log whose storage fails.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
mod support;

use passkey_magic_server::Auth;
use passkey_magic_server::config::{ConfigError, EmailLinking};
use passkey_magic_server::hooks::{Hooks, SignInAttempt, Veto};
use passkey_magic_server::passkeys::VERIFICATION_FAILED;
use passkey_magic_shared::security_events::EventsPage;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;
use support::{Browser, TestServer, USER_AGENT, builder, flip_bit};

/// The whole log of the token's user, read through the route with its default page.
async fn events(server: &TestServer, token: &str) -> Vec<Value> {
    let page = server.get_as(token, "/account/events").await.ok();
    assert_eq!(page["nextCursor"], Value::Null, "{page}");
    page["events"].as_array().unwrap().clone()
}

/// The `type` of each event.
fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn every_account_action_is_recorded_newest_first_with_its_client() {
    let server = TestServer::start_with(builder().email_linking(EmailLinking::Immediate)).await;
    let (mut phone, mut laptop) = (Browser::new(), Browser::new());
    let account = server.sign_up(&mut phone).await;
    let step = || server.clock.advance_millis(1_000);

    step();
    let second = server.sign_in(&mut phone).await;
    step();
    let added = server.add_passkey(&account.token, &mut laptop).await;
    let laptop_id = added["credential"]["id"].as_str().unwrap().to_owned();
    step();
    server
        .post_as(
            &account.token,
            &format!("/account/credentials/{laptop_id}"),
            json!({"label": "Laptop"}),
        )
        .await
        .ok();
    step();
    // A metadata-only change is not a rename, and not recorded.
    server
        .post_as(
            &account.token,
            &format!("/account/credentials/{laptop_id}"),
            json!({"metadata": {"colour": "blue"}}),
        )
        .await
        .ok();
    step();
    server
        .call_as(
            Method::DELETE,
            &account.token,
            &format!("/account/credentials/{laptop_id}"),
        )
        .await
        .ok();
    step();
    server
        .call_as(
            Method::DELETE,
            &account.token,
            &format!("/account/sessions/{}", second.session_id),
        )
        .await
        .ok();
    step();
    server
        .post_as(
            &account.token,
            "/account/link-email",
            json!({"email": "ada@example.com"}),
        )
        .await
        .ok();
    step();
    server
        .post_as(&account.token, "/account/unlink-email", json!({}))
        .await
        .ok();
    step();
    let third = server.sign_in(&mut phone).await;
    step();
    server
        .post_as(&third.token, "/session/revoke", json!({}))
        .await
        .ok();
    step();
    server
        .call_as(Method::DELETE, &account.token, "/account/sessions")
        .await
        .ok();
    step();
    let last = server.sign_in(&mut phone).await;

    let log = events(&server, &last.token).await;
    assert_eq!(
        types(&log),
        [
            "signIn",
            "allSessionsRevoked",
            "sessionRevoked",
            "signIn",
            "emailUnlinked",
            "emailLinked",
            "sessionRevoked",
            "passkeyRemoved",
            "passkeyRenamed",
            "passkeyAdded",
            "signIn",
            "signIn",
        ]
    );
    // Every event has its own id, the client that acted, and a time a step apart.
    let mut ids: Vec<&str> = log.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), log.len());
    for event in &log {
        assert_eq!(event["ipAddress"], "127.0.0.1", "{event}");
        assert_eq!(event["userAgent"], USER_AGENT, "{event}");
    }
    assert_eq!(log[0]["createdAt"], "2026-11-29T21:41:50.000Z");
    assert_eq!(log[11]["createdAt"], "2026-11-29T21:41:38.000Z");
    // Sign-ins name their method, session and passkey.
    let sign_up = &log[11];
    assert_eq!(sign_up["method"], "passkey");
    assert_eq!(sign_up["sessionId"], account.session_id.as_str());
    assert_eq!(sign_up["credentialId"], account.credential());
    assert_eq!(log[0]["sessionId"], last.session_id.as_str());
    // Passkey and session events name theirs; the others carry no id.
    for index in [7, 8, 9] {
        assert_eq!(log[index]["credentialId"], laptop_id.as_str());
    }
    assert_eq!(log[6]["sessionId"], second.session_id.as_str());
    assert_eq!(log[2]["sessionId"], third.session_id.as_str());
    for index in [1, 4, 5] {
        let keys: Vec<&str> = log[index]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, ["id", "type", "createdAt", "ipAddress", "userAgent"]);
    }
    // Never a token, and never the email address.
    let text = serde_json::to_string(&log).unwrap();
    for secret in [&account.token, &second.token, &third.token, &last.token] {
        assert!(!text.contains(secret.as_str()));
    }
    assert!(!text.contains("ada@example.com"));
}

#[tokio::test]
async fn refused_sign_ins_of_a_known_user_are_recorded_with_a_reason() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;

    server.clock.advance_millis(1_000);
    let mut answer = server.sign_in_answer(&mut browser, json!({})).await;
    flip_bit(&mut answer["response"]["response"]["signature"]);
    server
        .post("/passkey/authenticate/verify", answer)
        .await
        .assert_error(400, VERIFICATION_FAILED);

    // A copy of the authenticator that fell behind: its counter goes backwards.
    server.clock.advance_millis(1_000);
    let mut stale = browser.clone_authenticator();
    server.sign_in(&mut browser).await;
    server.clock.advance_millis(1_000);
    let old_counter = server.sign_in_answer(&mut stale, json!({})).await;
    server
        .post("/passkey/authenticate/verify", old_counter)
        .await
        .assert_error(400, VERIFICATION_FAILED);

    let log = events(&server, &account.token).await;
    assert_eq!(
        types(&log),
        ["signInFailed", "signIn", "signInFailed", "signIn"]
    );
    assert_eq!(log[0]["reason"], "counterRegression");
    assert_eq!(log[2]["reason"], "verificationFailed");
    for failed in [&log[0], &log[2]] {
        assert_eq!(failed["method"], "passkey");
        assert_eq!(failed["credentialId"], account.credential());
        assert_eq!(failed["ipAddress"], "127.0.0.1");
        assert!(failed.get("sessionId").is_none());
    }
}

/// Refuses every sign-in after the first session (the sign-up's) exists.
#[derive(Debug, Default)]
struct Frozen;

#[async_trait::async_trait]
impl Hooks for Frozen {
    async fn before_authenticate(&self, _attempt: &SignInAttempt<'_>) -> Result<(), Veto> {
        Err(Veto::new("This account is frozen"))
    }
}

#[tokio::test]
async fn a_sign_in_vetoed_by_a_hook_is_recorded_as_blocked() {
    let server = TestServer::start_with(builder().hooks(Frozen)).await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;
    server.clock.advance_millis(1_000);
    let answer = server.sign_in_answer(&mut browser, json!({})).await;
    server
        .post("/passkey/authenticate/verify", answer)
        .await
        .assert_error(400, "This account is frozen");
    let log = events(&server, &account.token).await;
    assert_eq!(types(&log), ["signInFailed", "signIn"]);
    assert_eq!(log[0]["reason"], "blocked");
}

#[tokio::test]
async fn unknown_passkeys_leave_no_event() {
    let server = TestServer::start().await;
    let (mut known, mut stranger) = (Browser::new(), Browser::new());
    let account = server.sign_up(&mut known).await;
    // A passkey of an account that no longer exists: nobody's log gets the failure.
    let other = server.sign_up(&mut stranger).await;
    server
        .call_as(Method::DELETE, &other.token, "/account")
        .await
        .ok();
    let answer = server.sign_in_answer(&mut stranger, json!({})).await;
    assert_eq!(
        server
            .post("/passkey/authenticate/verify", answer)
            .await
            .status,
        400
    );
    assert_eq!(types(&events(&server, &account.token).await), ["signIn"]);
}

#[tokio::test]
async fn the_log_is_read_a_page_at_a_time_newest_first() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;
    // Seven sign-ins; two of them at the same millisecond as the sign-up.
    for n in 0..6 {
        if n >= 2 {
            server.clock.advance_millis(10);
        }
        server.sign_in(&mut browser).await;
    }
    let all = server
        .get_as(&account.token, "/account/events?limit=100")
        .await
        .ok();
    assert_eq!(all["nextCursor"], Value::Null);
    let all: Vec<Value> = all["events"].as_array().unwrap().clone();
    assert_eq!(all.len(), 7);

    let mut read = Vec::new();
    let mut path = "/account/events?limit=3".to_owned();
    loop {
        let page = server.get_as(&account.token, &path).await.ok();
        let events = page["events"].as_array().unwrap();
        assert!(events.len() <= 3);
        read.extend(events.iter().cloned());
        match page["nextCursor"].as_str() {
            Some(cursor) => {
                let encoded: String =
                    url::form_urlencoded::byte_serialize(cursor.as_bytes()).collect();
                path = format!("/account/events?limit=3&cursor={encoded}");
            }
            None => break,
        }
        assert!(read.len() <= all.len(), "paging does not end");
    }
    assert_eq!(read, all);
    // Times never go up along the list.
    let times: Vec<&str> = all
        .iter()
        .map(|e| e["createdAt"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
    // The default page is 20 events.
    for _ in 0..16 {
        server.sign_in(&mut browser).await;
    }
    let first = server.get_as(&account.token, "/account/events").await.ok();
    assert_eq!(first["events"].as_array().unwrap().len(), 20);
    assert!(first["nextCursor"].is_string());
}

#[tokio::test]
async fn the_log_needs_a_session_and_a_valid_query() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;
    server
        .send(Method::GET, "/account/events", None, None)
        .await
        .assert_error(401, "Unauthorized");
    server
        .get_as("not-a-token", "/account/events")
        .await
        .assert_error(401, "Unauthorized");
    for bad in ["0", "101", "-1", "abc", "", "2.5", "1&limit=2"] {
        server
            .get_as(&account.token, &format!("/account/events?limit={bad}"))
            .await
            .assert_error(400, "Invalid field: limit");
    }
    for bad in ["", "abc", "123", "x.y", "12.a%20b"] {
        server
            .get_as(&account.token, &format!("/account/events?cursor={bad}"))
            .await
            .assert_error(400, "Invalid field: cursor");
    }
    // Unknown parameters are ignored, as elsewhere.
    server
        .get_as(&account.token, "/account/events?limit=1&other=1")
        .await
        .ok();
    // The POST form does not exist: the route is a GET.
    server
        .post_as(&account.token, "/account/events", json!({}))
        .await
        .assert_error(404, "Not found");
}

#[tokio::test]
async fn users_see_only_their_own_events() {
    let server = TestServer::start().await;
    let (mut ada_browser, mut bob_browser) = (Browser::new(), Browser::new());
    let ada = server.sign_up(&mut ada_browser).await;
    let bob = server.sign_up(&mut bob_browser).await;
    server.sign_in(&mut bob_browser).await;
    let ada_log = events(&server, &ada.token).await;
    assert_eq!(types(&ada_log), ["signIn"]);
    assert_eq!(ada_log[0]["sessionId"], ada.session_id.as_str());
    assert_eq!(
        types(&events(&server, &bob.token).await),
        ["signIn", "signIn"]
    );
    // Ada's cursor read with Bob's session gives Bob's older events only.
    let cursor = format!("2099999999999.{}", ada_log[0]["id"].as_str().unwrap());
    let page = server
        .get_as(&bob.token, &format!("/account/events?cursor={cursor}"))
        .await
        .ok();
    for event in page["events"].as_array().unwrap() {
        assert_ne!(event["id"], ada_log[0]["id"]);
    }
}

#[tokio::test]
async fn a_deleted_accounts_log_stays_for_the_operator_until_retention() {
    let server = TestServer::start_with(
        builder().security_event_retention(Duration::from_secs(2 * 24 * 60 * 60)),
    )
    .await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;
    server.clock.advance_millis(1_000);
    server
        .call_as(Method::DELETE, &account.token, "/account")
        .await
        .ok();
    server
        .get_as(&account.token, "/account/events")
        .await
        .assert_error(401, "Unauthorized");

    let log = server
        .auth
        .accounts()
        .events(&account.user_id, &EventsPage::default())
        .await
        .unwrap();
    let kinds: Vec<&str> = log.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["accountDeleted", "signIn"]);
    assert_eq!(log.events[0].ip_address.as_deref(), Some("127.0.0.1"));

    // One day later both are kept; three days later the purge removes them.
    server.clock.advance_millis(24 * 60 * 60 * 1000);
    server.auth.purge().await;
    let page = EventsPage::default();
    assert_eq!(
        server
            .auth
            .accounts()
            .events(&account.user_id, &page)
            .await
            .unwrap()
            .events
            .len(),
        2
    );
    server.clock.advance_millis(2 * 24 * 60 * 60 * 1000);
    server.auth.purge().await;
    assert!(
        server
            .auth
            .accounts()
            .events(&account.user_id, &page)
            .await
            .unwrap()
            .events
            .is_empty()
    );
}

#[tokio::test]
async fn retention_must_be_whole_days_within_ten_years() {
    let build = |days: u64| -> Result<Auth, ConfigError> {
        builder()
            .security_event_retention(Duration::from_secs(days * 24 * 60 * 60))
            .build()
    };
    for days in [0, 3651] {
        assert_eq!(
            build(days).unwrap_err().to_string(),
            "invalid security event retention: must be between 1 and 3650 days"
        );
    }
    assert!(build(1).is_ok());
    assert!(build(3650).is_ok());
}
