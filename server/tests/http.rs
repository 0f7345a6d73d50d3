//! End-to-end tests of the passkey, session and account routes (1–6, 15–29) through real
//! HTTP: the router runs on a loopback port and a software authenticator plays the
//! browser. Every reply is checked by the support client: JSON, never a 500, and every
//! error shaped `{"error": string, ...}`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use passkey_magic_server::accounts::{
    EMAIL_IN_USE, INVALID_EMAIL, NO_EMAIL_TO_UNLINK, UNLINK_LOCKOUT,
};
use passkey_magic_server::config::EmailLinking;
use passkey_magic_server::events::Event;
use passkey_magic_server::hooks::{Hooks, RegisterAttempt, Veto};
use passkey_magic_server::passkeys::{
    CHALLENGE_EXPIRED, REMOVE_LOCKOUT, UNKNOWN_PASSKEY, USER_EXISTS, VERIFICATION_FAILED,
};
use passkey_magic_shared::{AuthMethod, Session, User};
use reqwest::Method;
use serde_json::{Value, json};
use support::{Browser, TestServer, USER_AGENT, builder, flip_bit, keys};

const DAY_MILLIS: i64 = 24 * 60 * 60 * 1000;
/// `START_MILLIS` on the wire.
const START: &str = "2026-11-29T21:41:38.000Z";
/// `START_MILLIS` plus the default session lifetime (7 days).
const START_PLUS_7_DAYS: &str = "2026-12-06T21:41:38.000Z";

// ---------------------------------------------------------------- happy paths

#[tokio::test]
async fn sign_up_sign_in_read_session_and_sign_out() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let signed_up = server.sign_up(&mut browser).await;

    let signed_in = server.sign_in(&mut browser).await;
    assert_eq!(signed_in.user_id, signed_up.user_id);
    assert_ne!(signed_in.token, signed_up.token);

    let current = server.get_as(&signed_in.token, "/session").await.ok();
    assert_eq!(current["user"]["id"], signed_up.user_id.as_str());
    assert_eq!(current["session"]["id"], signed_in.session_id.as_str());
    assert_eq!(current["session"]["authMethod"], "passkey");

    // Sign out, REST form: only this session ends.
    let out = server
        .call_as(Method::DELETE, &signed_in.token, "/session")
        .await;
    assert_eq!(out.ok(), json!({"ok": true}));
    server
        .get_as(&signed_in.token, "/session")
        .await
        .assert_error(401, "Unauthorized");
    server.get_as(&signed_up.token, "/session").await.ok();

    // Sign out, POST form.
    let out = server
        .post_as(&signed_up.token, "/session/revoke", json!({}))
        .await;
    assert_eq!(out.ok(), json!({"ok": true}));
    server
        .get_as(&signed_up.token, "/session")
        .await
        .assert_error(401, "Unauthorized");
}

#[tokio::test]
async fn sign_up_responses_have_the_exact_json_shape() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();

    let options = server
        .post("/passkey/register/options", json!({}))
        .await
        .ok();
    assert_eq!(keys(&options), ["options", "userId"]);
    let public_key = &options["options"];
    assert_eq!(public_key["rp"]["id"], "localhost");
    assert_eq!(
        public_key["authenticatorSelection"]["residentKey"],
        "required"
    );
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "required"
    );
    let challenge = public_key["challenge"].as_str().unwrap();
    assert!(
        !challenge.contains(['=', '+', '/']),
        "base64url: {challenge}"
    );

    let user_id = options["userId"].as_str().unwrap().to_owned();
    let response = browser.register(&options["options"]).await;
    let body = server
        .post(
            "/passkey/register/verify",
            json!({"userId": user_id, "response": response}),
        )
        .await
        .ok();
    assert_eq!(keys(&body), ["credential", "method", "session", "user"]);
    assert_eq!(body["method"], "passkey");
    // A passkey-only user: no email, no metadata.
    assert_eq!(body["user"], json!({"id": user_id, "createdAt": START}));

    let session = &body["session"];
    assert_eq!(
        keys(session),
        [
            "authMethod",
            "createdAt",
            "expiresAt",
            "id",
            "ipAddress",
            "token",
            "userAgent",
            "userId"
        ]
    );
    assert_eq!(session["userId"], user_id.as_str());
    assert_eq!(session["authMethod"], "passkey");
    assert_eq!(session["createdAt"], START);
    assert_eq!(session["expiresAt"], START_PLUS_7_DAYS);
    assert_eq!(session["userAgent"], USER_AGENT);
    assert_eq!(session["ipAddress"], "127.0.0.1");
    assert!(session["token"].as_str().unwrap().len() >= 32);

    let credential = &body["credential"];
    // `aaguid` is our addition: the test authenticator names its model.
    let mut expected = vec![
        "aaguid",
        "backedUp",
        "counter",
        "createdAt",
        "deviceType",
        "id",
        "publicKey",
        "userId",
    ];
    if credential.get("transports").is_some() {
        expected.push("transports");
        expected.sort_unstable();
        assert!(credential["transports"].is_array());
    }
    assert_eq!(keys(credential), expected);
    assert_eq!(credential["id"], response["id"]);
    assert_eq!(credential["userId"], user_id.as_str());
    assert_eq!(credential["counter"], 0);
    assert_eq!(credential["createdAt"], START);
    assert!(credential["backedUp"].is_boolean());
    assert!(matches!(
        credential["deviceType"].as_str(),
        Some("singleDevice" | "multiDevice")
    ));
    assert!(!credential["publicKey"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn tokens_appear_only_where_sessions_are_created() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let first = server.sign_up(&mut browser).await;

    let answer = server.sign_in_answer(&mut browser, json!({})).await;
    let body = server
        .post("/passkey/authenticate/verify", answer)
        .await
        .ok();
    assert_eq!(keys(&body), ["method", "session", "user"]);
    assert_eq!(body["method"], "passkey");
    assert_eq!(body["user"]["id"], first.user_id.as_str());
    assert!(body["session"]["token"].is_string());
    let token = body["session"]["token"].as_str().unwrap();

    let current = server.get_as(token, "/session").await.ok();
    assert_eq!(keys(&current), ["session", "user"]);
    assert!(current["session"].get("token").is_none());

    let listed = server.get_as(token, "/account/sessions").await.ok();
    let sessions = listed["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    for session in sessions {
        assert!(session.get("token").is_none(), "token listed: {session}");
        assert_eq!(session["userId"], first.user_id.as_str());
    }

    let account = server.get_as(token, "/account").await.ok();
    assert_eq!(
        account,
        json!({"user": {"id": first.user_id, "createdAt": START}})
    );
}

#[tokio::test]
async fn scoped_sign_in_accepts_the_users_own_passkey() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;

    let options = server
        .post(
            "/passkey/authenticate/options",
            json!({"userId": account.user_id}),
        )
        .await
        .ok();
    let allowed = options["options"]["allowCredentials"].as_array().unwrap();
    assert_eq!(allowed.len(), 1);
    assert_eq!(allowed[0]["id"], account.credential());

    let response = browser.authenticate(&options["options"]).await;
    let body = server
        .post(
            "/passkey/authenticate/verify",
            json!({"response": response}),
        )
        .await
        .ok();
    assert_eq!(body["user"]["id"], account.user_id.as_str());
}

#[tokio::test]
async fn scoped_sign_in_rejects_another_users_passkey() {
    let server = TestServer::start().await;
    let (mut ada_browser, mut bob_browser) = (Browser::new(), Browser::new());
    let ada = server.sign_up(&mut ada_browser).await;
    server.sign_up(&mut bob_browser).await;

    let mut options = server
        .post(
            "/passkey/authenticate/options",
            json!({"userId": ada.user_id}),
        )
        .await
        .ok();
    // A hostile client ignores allowCredentials and answers with Bob's passkey.
    options["options"]
        .as_object_mut()
        .unwrap()
        .remove("allowCredentials");
    let response = bob_browser.authenticate(&options["options"]).await;
    server
        .post(
            "/passkey/authenticate/verify",
            json!({"response": response}),
        )
        .await
        .assert_error(400, VERIFICATION_FAILED);
}

#[tokio::test]
async fn scoped_sign_in_for_a_user_without_passkeys_is_refused() {
    let server = TestServer::start().await;
    let reply = server
        .post("/passkey/authenticate/options", json!({"userId": "nobody"}))
        .await;
    assert_eq!(reply.status, 400);
}

// ---------------------------------------------------------------- verification failures

#[tokio::test]
async fn registration_from_a_wrong_origin_is_rejected() {
    let server = TestServer::start().await;
    let mut browser = Browser::at("http://localhost:9999");
    let answer = server.registration_answer(&mut browser, json!({})).await;
    let user_id = answer["userId"].as_str().unwrap().to_owned();
    server
        .post("/passkey/register/verify", answer)
        .await
        .assert_error(400, VERIFICATION_FAILED);
    assert!(
        server
            .auth
            .store()
            .user_by_id(&user_id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn sign_in_from_a_wrong_origin_is_rejected() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    server.sign_up(&mut browser).await;

    let options = server
        .post("/passkey/authenticate/options", json!({}))
        .await
        .ok();
    // Same authenticator, used from a page on another origin.
    let mut elsewhere = browser;
    elsewhere.set_origin("http://localhost:9999");
    let response = elsewhere.authenticate(&options["options"]).await;
    server
        .post(
            "/passkey/authenticate/verify",
            json!({"response": response}),
        )
        .await
        .assert_error(400, VERIFICATION_FAILED);
}

#[tokio::test]
async fn registration_for_a_wrong_rp_id_is_rejected() {
    // The origin is allowed, but the authenticator scopes the passkey to another rp id.
    let server = TestServer::start_with(
        passkey_magic_server::Auth::builder("example.com", "https://example.com")
            .unwrap()
            .origin("https://login.example.com")
            .unwrap(),
    )
    .await;
    let mut browser = Browser::at("https://login.example.com");
    let mut options = server
        .post("/passkey/register/options", json!({}))
        .await
        .ok();
    assert_eq!(options["options"]["rp"]["id"], "example.com");
    options["options"]["rp"]["id"] = json!("login.example.com");
    let response = browser.register(&options["options"]).await;
    server
        .post(
            "/passkey/register/verify",
            json!({"userId": options["userId"], "response": response}),
        )
        .await
        .assert_error(400, VERIFICATION_FAILED);
}

#[tokio::test]
async fn tampered_signature_is_rejected() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    server.sign_up(&mut browser).await;

    let mut answer = server.sign_in_answer(&mut browser, json!({})).await;
    flip_bit(&mut answer["response"]["response"]["signature"]);
    server
        .post("/passkey/authenticate/verify", answer)
        .await
        .assert_error(400, VERIFICATION_FAILED);
}

#[tokio::test]
async fn replayed_answers_are_rejected() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();

    let registration = server.registration_answer(&mut browser, json!({})).await;
    server
        .post("/passkey/register/verify", registration.clone())
        .await
        .ok();
    server
        .post("/passkey/register/verify", registration)
        .await
        .assert_error(400, CHALLENGE_EXPIRED);

    let sign_in = server.sign_in_answer(&mut browser, json!({})).await;
    server
        .post("/passkey/authenticate/verify", sign_in.clone())
        .await
        .ok();
    server
        .post("/passkey/authenticate/verify", sign_in)
        .await
        .assert_error(400, CHALLENGE_EXPIRED);
}

#[tokio::test]
async fn concurrent_verifications_of_one_answer_create_one_session() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;

    let answer = server.sign_in_answer(&mut browser, json!({})).await;
    let path = "/passkey/authenticate/verify";
    let (first, second, third) = tokio::join!(
        server.post(path, answer.clone()),
        server.post(path, answer.clone()),
        server.post(path, answer),
    );
    let replies = [first, second, third];
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    assert_eq!(statuses.iter().filter(|&&status| status == 200).count(), 1);
    assert_eq!(statuses.iter().filter(|&&status| status == 400).count(), 2);
    let listed = server
        .get_as(&account.token, "/account/sessions")
        .await
        .ok();
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 2);
}

/// Two copies of one authenticator answer two challenges with the same signature counter
/// and race: the counter check is the store's compare-and-set, so exactly one signs in.
#[tokio::test]
async fn a_cloned_authenticator_racing_itself_signs_in_once() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;
    let mut clone = browser.clone_authenticator();

    for round in 0..5 {
        let original = server.sign_in_answer(&mut browser, json!({})).await;
        let copied = server.sign_in_answer(&mut clone, json!({})).await;
        let path = "/passkey/authenticate/verify";
        let (first, second) = tokio::join!(server.post(path, original), server.post(path, copied));
        let statuses = [first.status, second.status];
        assert_eq!(
            statuses.iter().filter(|&&status| status == 200).count(),
            1,
            "round {round}: {first:?} {second:?}"
        );
        let loser = if first.status == 200 { second } else { first };
        loser.assert_error(400, VERIFICATION_FAILED);
    }
    let listed = server
        .get_as(&account.token, "/account/sessions")
        .await
        .ok();
    assert_eq!(listed["sessions"].as_array().unwrap().len(), 1 + 5);
}

#[tokio::test]
async fn failed_verification_consumes_the_challenge() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    server.sign_up(&mut browser).await;

    let answer = server.sign_in_answer(&mut browser, json!({})).await;
    let mut tampered = answer.clone();
    flip_bit(&mut tampered["response"]["response"]["signature"]);
    server
        .post("/passkey/authenticate/verify", tampered)
        .await
        .assert_error(400, VERIFICATION_FAILED);
    server
        .post("/passkey/authenticate/verify", answer)
        .await
        .assert_error(400, CHALLENGE_EXPIRED);
}

#[tokio::test]
async fn expired_challenges_are_rejected() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();

    let registration = server.registration_answer(&mut browser, json!({})).await;
    server.clock.advance_millis(61_000);
    server
        .post("/passkey/register/verify", registration)
        .await
        .assert_error(400, CHALLENGE_EXPIRED);

    let mut browser = Browser::new();
    server.sign_up(&mut browser).await;
    let sign_in = server.sign_in_answer(&mut browser, json!({})).await;
    server.clock.advance_millis(61_000);
    server
        .post("/passkey/authenticate/verify", sign_in)
        .await
        .assert_error(400, CHALLENGE_EXPIRED);
}

#[tokio::test]
async fn register_verify_for_another_user_id_is_rejected_and_consumes_the_challenge() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let answer = server.registration_answer(&mut browser, json!({})).await;
    let mut other = answer.clone();
    other["userId"] = json!("someone-else");
    server
        .post("/passkey/register/verify", other)
        .await
        .assert_error(400, CHALLENGE_EXPIRED);
    server
        .post("/passkey/register/verify", answer)
        .await
        .assert_error(400, CHALLENGE_EXPIRED);
    assert!(
        server
            .auth
            .store()
            .user_by_id("someone-else")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn sign_in_answer_naming_another_users_handle_is_rejected() {
    let server = TestServer::start().await;
    let (mut ada_browser, mut bob_browser) = (Browser::new(), Browser::new());
    let options = server
        .post("/passkey/register/options", json!({}))
        .await
        .ok();
    let ada_handle = options["options"]["user"]["id"].clone();
    let response = ada_browser.register(&options["options"]).await;
    server
        .post(
            "/passkey/register/verify",
            json!({"userId": options["userId"], "response": response}),
        )
        .await
        .ok();
    server.sign_up(&mut bob_browser).await;

    // The signature does not cover userHandle: the server must check it.
    let mut answer = server.sign_in_answer(&mut bob_browser, json!({})).await;
    assert_ne!(answer["response"]["response"]["userHandle"], ada_handle);
    answer["response"]["response"]["userHandle"] = ada_handle;
    server
        .post("/passkey/authenticate/verify", answer)
        .await
        .assert_error(400, VERIFICATION_FAILED);
}

#[tokio::test]
async fn racing_sign_ups_with_one_user_id_or_email_create_one_user() {
    let server = TestServer::start().await;
    for request in [json!({"userId": "ada"}), json!({"email": "ada@x.com"})] {
        let (mut first, mut second) = (Browser::new(), Browser::new());
        // Both get options before either finishes.
        let first_answer = server
            .registration_answer(&mut first, request.clone())
            .await;
        let second_answer = server
            .registration_answer(&mut second, request.clone())
            .await;
        server
            .post("/passkey/register/verify", first_answer)
            .await
            .ok();
        let reply = server.post("/passkey/register/verify", second_answer).await;
        let expected = if request.get("email").is_some() {
            EMAIL_IN_USE
        } else {
            USER_EXISTS
        };
        reply.assert_error(400, expected);
        // The loser's passkey was not stored.
        let answer = server.sign_in_answer(&mut second, json!({})).await;
        server
            .post("/passkey/authenticate/verify", answer)
            .await
            .assert_error(400, UNKNOWN_PASSKEY);
    }
}

#[tokio::test]
async fn registration_options_for_an_existing_user_id_are_refused() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;
    server
        .post(
            "/passkey/register/options",
            json!({"userId": account.user_id}),
        )
        .await
        .assert_error(400, USER_EXISTS);
}

#[tokio::test]
async fn registration_with_a_taken_email_hint_is_refused() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server
        .sign_up_with(&mut browser, json!({"email": "ada@x.com"}))
        .await;
    let user = server.get_as(&account.token, "/account").await.ok();
    assert_eq!(user["user"]["email"], "ada@x.com");

    server
        .post("/passkey/register/options", json!({"email": "Ada@X.com"}))
        .await
        .assert_error(400, EMAIL_IN_USE);
    server
        .post(
            "/passkey/register/options",
            json!({"email": "not-an-email"}),
        )
        .await
        .assert_error(400, INVALID_EMAIL);
}

// ---------------------------------------------------------------- passkey management

#[tokio::test]
async fn adding_a_passkey_excludes_existing_ones_and_lists_both() {
    let server = TestServer::start().await;
    let (mut phone, mut laptop) = (Browser::new(), Browser::new());
    let account = server.sign_up(&mut phone).await;
    // Lists are oldest first; give the second passkey a later creation time.
    server.clock.advance_millis(1_000);

    let options = server
        .post_as(&account.token, "/passkey/add/options", json!({}))
        .await
        .ok();
    let excluded: Vec<&Value> = options["options"]["excludeCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["id"])
        .collect();
    assert_eq!(excluded, [&json!(account.credential())]);

    let response = laptop.register(&options["options"]).await;
    let added = server
        .post_as(
            &account.token,
            "/passkey/add/verify",
            json!({"response": response}),
        )
        .await
        .ok();
    assert_eq!(keys(&added), ["credential"]);
    assert_eq!(added["credential"]["userId"], account.user_id.as_str());
    let new_id = added["credential"]["id"].as_str().unwrap();

    let listed = server
        .get_as(&account.token, "/account/credentials")
        .await
        .ok();
    let ids: Vec<&str> = listed["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [account.credential(), new_id]);

    // The new passkey signs in to the same account.
    let signed_in = server.sign_in(&mut laptop).await;
    assert_eq!(signed_in.user_id, account.user_id);

    // Adding needs a session.
    let reply = server
        .send(
            Method::POST,
            "/passkey/add/options",
            None,
            Some("{}".into()),
        )
        .await;
    reply.assert_error(401, "Unauthorized");
}

#[tokio::test]
async fn credentials_name_their_aaguid_and_last_use() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;
    let listed = server
        .get_as(&account.token, "/account/credentials")
        .await
        .ok();
    let credential = &listed["credentials"][0];
    // The test authenticator's AAGUID is the bytes of "passkey-magic-t!".
    assert_eq!(credential["aaguid"], "70617373-6b65-792d-6d61-6769632d7421");
    assert!(
        credential.get("lastUsedAt").is_none(),
        "not used yet: {credential}"
    );

    server.clock.advance_millis(90_000);
    server.sign_in(&mut browser).await;
    let listed = server
        .get_as(&account.token, "/account/credentials")
        .await
        .ok();
    let credential = &listed["credentials"][0];
    assert_eq!(credential["lastUsedAt"], "2026-11-29T21:43:08.000Z");
    assert_ne!(credential["lastUsedAt"], credential["createdAt"]);
}

#[tokio::test]
async fn an_add_passkey_answer_cannot_be_finished_by_another_account() {
    let server = TestServer::start().await;
    let (mut ada_browser, mut bob_browser, mut new_key) =
        (Browser::new(), Browser::new(), Browser::new());
    let ada = server.sign_up(&mut ada_browser).await;
    let bob = server.sign_up(&mut bob_browser).await;

    let options = server
        .post_as(&ada.token, "/passkey/add/options", json!({}))
        .await
        .ok();
    let response = new_key.register(&options["options"]).await;
    server
        .post_as(
            &bob.token,
            "/passkey/add/verify",
            json!({"response": response}),
        )
        .await
        .assert_error(400, CHALLENGE_EXPIRED);
    // The attempt used up Ada's challenge too.
    server
        .post_as(
            &ada.token,
            "/passkey/add/verify",
            json!({"response": response}),
        )
        .await
        .assert_error(400, CHALLENGE_EXPIRED);
    for account in [&ada, &bob] {
        let listed = server
            .get_as(&account.token, "/account/credentials")
            .await
            .ok();
        assert_eq!(listed["credentials"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn credential_label_and_metadata_update_in_both_forms() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;
    let path = format!("/account/credentials/{}", account.credential());

    let body = json!({"label": "Phone"}).to_string();
    let reply = server
        .send(Method::PATCH, &path, Some(&account.token), Some(body))
        .await;
    assert_eq!(reply.ok(), json!({"ok": true}));
    let reply = server
        .post_as(
            &account.token,
            &path,
            json!({"metadata": {"color": "blue"}}),
        )
        .await;
    assert_eq!(reply.ok(), json!({"ok": true}));

    let listed = server
        .get_as(&account.token, "/account/credentials")
        .await
        .ok();
    let credential = &listed["credentials"][0];
    assert_eq!(credential["label"], "Phone");
    assert_eq!(credential["metadata"], json!({"color": "blue"}));

    server
        .post_as(&account.token, &path, json!({}))
        .await
        .assert_error(400, "Missing or invalid field: label or metadata");
    server
        .post_as(&account.token, &path, json!({"metadata": "blue"}))
        .await
        .assert_error(400, "Invalid field: metadata (expected object)");
}

#[tokio::test]
async fn credential_removal_in_both_forms() {
    let server = TestServer::start().await;
    let (mut first, mut second, mut third) = (Browser::new(), Browser::new(), Browser::new());
    let account = server.sign_up(&mut first).await;
    let second_id = server.add_passkey(&account.token, &mut second).await["credential"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server.add_passkey(&account.token, &mut third).await;

    let reply = server
        .call_as(
            Method::DELETE,
            &account.token,
            &format!("/account/credentials/{}", account.credential()),
        )
        .await;
    assert_eq!(reply.ok(), json!({"ok": true}));
    let reply = server
        .post_as(
            &account.token,
            &format!("/account/credentials/{second_id}/delete"),
            json!({}),
        )
        .await;
    assert_eq!(reply.ok(), json!({"ok": true}));

    let listed = server
        .get_as(&account.token, "/account/credentials")
        .await
        .ok();
    assert_eq!(listed["credentials"].as_array().unwrap().len(), 1);
    // A removed passkey no longer signs in.
    let answer = server.sign_in_answer(&mut first, json!({})).await;
    server
        .post("/passkey/authenticate/verify", answer)
        .await
        .assert_error(400, UNKNOWN_PASSKEY);
    // Removing it again: it is not the caller's any more.
    server
        .call_as(
            Method::DELETE,
            &account.token,
            &format!("/account/credentials/{}", account.credential()),
        )
        .await
        .assert_error(404, "Not found");
}

#[tokio::test]
async fn other_accounts_credentials_and_sessions_answer_404() {
    let server = TestServer::start().await;
    let (mut ada_browser, mut bob_browser) = (Browser::new(), Browser::new());
    let ada = server.sign_up(&mut ada_browser).await;
    let bob = server.sign_up(&mut bob_browser).await;
    let bobs_credential = format!("/account/credentials/{}", bob.credential());
    let bobs_session = format!("/account/sessions/{}", bob.session_id);

    let label = Some(json!({"label": "mine now"}).to_string());
    server
        .send(Method::PATCH, &bobs_credential, Some(&ada.token), label)
        .await
        .assert_error(404, "Not found");
    server
        .post_as(&ada.token, &bobs_credential, json!({"label": "mine now"}))
        .await
        .assert_error(404, "Not found");
    server
        .call_as(Method::DELETE, &ada.token, &bobs_credential)
        .await
        .assert_error(404, "Not found");
    server
        .post_as(&ada.token, &format!("{bobs_credential}/delete"), json!({}))
        .await
        .assert_error(404, "Not found");
    server
        .call_as(Method::DELETE, &ada.token, &bobs_session)
        .await
        .assert_error(404, "Not found");
    server
        .post_as(&ada.token, &format!("{bobs_session}/delete"), json!({}))
        .await
        .assert_error(404, "Not found");

    // Bob is untouched.
    server.get_as(&bob.token, "/session").await.ok();
    let listed = server.get_as(&bob.token, "/account/credentials").await.ok();
    assert!(listed["credentials"][0].get("label").is_none());
}

// ---------------------------------------------------------------- sessions

#[tokio::test]
async fn sessions_are_revoked_by_id_in_both_forms() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let first = server.sign_up(&mut browser).await;
    let second = server.sign_in(&mut browser).await;
    let third = server.sign_in(&mut browser).await;

    let reply = server
        .call_as(
            Method::DELETE,
            &first.token,
            &format!("/account/sessions/{}", second.session_id),
        )
        .await;
    assert_eq!(reply.ok(), json!({"ok": true}));
    let reply = server
        .post_as(
            &first.token,
            &format!("/account/sessions/{}/delete", third.session_id),
            json!({}),
        )
        .await;
    assert_eq!(reply.ok(), json!({"ok": true}));

    for token in [&second.token, &third.token] {
        server
            .get_as(token, "/session")
            .await
            .assert_error(401, "Unauthorized");
    }
    let listed = server.get_as(&first.token, "/account/sessions").await.ok();
    let ids: Vec<&Value> = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["id"])
        .collect();
    assert_eq!(ids, [&json!(first.session_id)]);
}

#[tokio::test]
async fn sessions_are_listed_newest_first() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let first = server.sign_up(&mut browser).await;
    server.clock.advance_millis(1_000);
    let second = server.sign_in(&mut browser).await;
    server.clock.advance_millis(1_000);
    let third = server.sign_in(&mut browser).await;

    let listed = server.get_as(&first.token, "/account/sessions").await.ok();
    let ids: Vec<&str> = listed["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [&third.session_id, &second.session_id, &first.session_id]
    );
}

#[tokio::test]
async fn revoking_all_sessions_signs_out_everywhere() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let first = server.sign_up(&mut browser).await;
    let second = server.sign_in(&mut browser).await;

    let reply = server
        .call_as(Method::DELETE, &first.token, "/account/sessions")
        .await;
    assert_eq!(reply.ok(), json!({"ok": true}));
    for token in [&first.token, &second.token] {
        server
            .get_as(token, "/session")
            .await
            .assert_error(401, "Unauthorized");
    }

    let third = server.sign_in(&mut browser).await;
    let fourth = server.sign_in(&mut browser).await;
    let reply = server
        .post_as(&third.token, "/account/sessions/delete-all", json!({}))
        .await;
    assert_eq!(reply.ok(), json!({"ok": true}));
    for token in [&third.token, &fourth.token] {
        server
            .get_as(token, "/session")
            .await
            .assert_error(401, "Unauthorized");
    }
}

#[tokio::test]
async fn missing_or_unknown_bearer_tokens_are_401() {
    let server = TestServer::start().await;
    for (method, path) in [
        (Method::GET, "/session"),
        (Method::GET, "/account"),
        (Method::GET, "/account/sessions"),
        (Method::GET, "/account/credentials"),
        (Method::DELETE, "/session"),
    ] {
        server
            .send(method, path, None, None)
            .await
            .assert_error(401, "Unauthorized");
    }
    for (path, body) in [
        ("/account/update", json!({})),
        ("/account/link-email", json!({"email": "a@b.co"})),
        ("/account/unlink-email", json!({})),
        ("/account/can-link-email", json!({"email": "a@b.co"})),
        ("/passkey/add/options", json!({})),
    ] {
        server
            .post(path, body)
            .await
            .assert_error(401, "Unauthorized");
    }
    server
        .get_as("not-a-session-token", "/session")
        .await
        .assert_error(401, "Unauthorized");
    server
        .get_as(&"x".repeat(2000), "/session")
        .await
        .assert_error(401, "Unauthorized");
}

#[tokio::test]
async fn revoked_session_is_401() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;
    server
        .call_as(Method::DELETE, &account.token, "/session")
        .await
        .ok();
    server
        .get_as(&account.token, "/account")
        .await
        .assert_error(401, "Unauthorized");
}

#[tokio::test]
async fn expired_session_is_401() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;

    server.clock.advance_millis(7 * DAY_MILLIS - 1);
    server.get_as(&account.token, "/session").await.ok();
    server.clock.advance_millis(1);
    server
        .get_as(&account.token, "/session")
        .await
        .assert_error(401, "Unauthorized");
    let listed = server.auth.sessions().list(&account.user_id).await.unwrap();
    assert!(listed.is_empty());
}

// ---------------------------------------------------------------- accounts

#[tokio::test]
async fn deleting_the_account_ends_its_sessions_and_passkeys() {
    for (method, path) in [
        (Method::DELETE, "/account"),
        (Method::POST, "/account/delete"),
    ] {
        let server = TestServer::start().await;
        let mut browser = Browser::new();
        let account = server.sign_up(&mut browser).await;
        let other = server.sign_in(&mut browser).await;

        let body = (method == Method::POST).then(|| "{}".to_owned());
        let reply = server.send(method, path, Some(&account.token), body).await;
        assert_eq!(reply.ok(), json!({"ok": true}));

        for token in [&account.token, &other.token] {
            server
                .get_as(token, "/session")
                .await
                .assert_error(401, "Unauthorized");
        }
        let store = server.auth.store();
        assert!(store.user_by_id(&account.user_id).await.unwrap().is_none());
        let credentials = store.credentials_for_user(&account.user_id).await.unwrap();
        assert!(credentials.is_empty());
        let answer = server.sign_in_answer(&mut browser, json!({})).await;
        server
            .post("/passkey/authenticate/verify", answer)
            .await
            .assert_error(400, UNKNOWN_PASSKEY);
    }
}

#[tokio::test]
async fn update_account_sets_metadata_and_without_it_changes_nothing() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;

    let body = json!({"metadata": {"plan": "pro", "seats": 3}}).to_string();
    let updated = server
        .send(Method::PATCH, "/account", Some(&account.token), Some(body))
        .await
        .ok();
    assert_eq!(
        updated["user"]["metadata"],
        json!({"plan": "pro", "seats": 3})
    );

    for body in [json!({}), json!({"metadata": null})] {
        let unchanged = server
            .post_as(&account.token, "/account/update", body)
            .await
            .ok();
        assert_eq!(unchanged, updated);
    }
    let current = server.get_as(&account.token, "/account").await.ok();
    assert_eq!(current, updated);
}

#[tokio::test]
async fn metadata_over_16_kib_is_refused() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;
    let big = json!({"metadata": {"blob": "x".repeat(16 * 1024)}});

    server
        .post_as(&account.token, "/account/update", big.clone())
        .await
        .assert_error(400, "Invalid field: metadata");
    server
        .post_as(
            &account.token,
            &format!("/account/credentials/{}", account.credential()),
            big,
        )
        .await
        .assert_error(400, "Invalid field: metadata");
    let current = server.get_as(&account.token, "/account").await.ok();
    assert!(current["user"].get("metadata").is_none());
}

#[tokio::test]
async fn removing_the_last_passkey_without_email_is_refused() {
    let server = TestServer::start_with(builder().email_linking(EmailLinking::Immediate)).await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;
    let path = format!("/account/credentials/{}", account.credential());

    server
        .call_as(Method::DELETE, &account.token, &path)
        .await
        .assert_error(400, REMOVE_LOCKOUT);
    server
        .post_as(&account.token, &format!("{path}/delete"), json!({}))
        .await
        .assert_error(400, REMOVE_LOCKOUT);

    // With an email as another way in, the passkey can go.
    server
        .post_as(
            &account.token,
            "/account/link-email",
            json!({"email": "ada@example.com"}),
        )
        .await
        .ok();
    server
        .call_as(Method::DELETE, &account.token, &path)
        .await
        .ok();
}

#[tokio::test]
async fn unlinking_the_email_of_a_user_without_passkeys_is_refused() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server
        .sign_up_with(&mut browser, json!({"email": "ada@example.com"}))
        .await;
    server
        .call_as(
            Method::DELETE,
            &account.token,
            &format!("/account/credentials/{}", account.credential()),
        )
        .await
        .ok();

    server
        .post_as(&account.token, "/account/unlink-email", json!({}))
        .await
        .assert_error(400, UNLINK_LOCKOUT);
    let current = server.get_as(&account.token, "/account").await.ok();
    assert_eq!(current["user"]["email"], "ada@example.com");
}

#[tokio::test]
async fn unlinking_when_the_user_has_no_email_is_refused_and_changes_nothing() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;
    let mut events = server.auth.subscribe();

    server
        .post_as(&account.token, "/account/unlink-email", json!({}))
        .await
        .assert_error(400, NO_EMAIL_TO_UNLINK);
    let current = server.get_as(&account.token, "/account").await.ok();
    assert_eq!(
        current,
        json!({"user": {"id": account.user_id, "createdAt": START}})
    );
    assert!(events.try_recv().is_err(), "no email:unlinked event");
}

#[tokio::test]
async fn unlinking_the_email_of_a_user_with_a_passkey_works() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server
        .sign_up_with(&mut browser, json!({"email": "ada@example.com"}))
        .await;
    let body = server
        .post_as(&account.token, "/account/unlink-email", json!({}))
        .await
        .ok();
    assert_eq!(
        body,
        json!({"user": {"id": account.user_id, "createdAt": START}})
    );
}

#[tokio::test]
async fn linking_an_email_relinks_own_but_never_takes_another_users() {
    // v0.4's immediate linking (verified linking is tested in magic_links.rs).
    let server = TestServer::start_with(builder().email_linking(EmailLinking::Immediate)).await;
    let (mut ada_browser, mut bob_browser) = (Browser::new(), Browser::new());
    let ada = server.sign_up(&mut ada_browser).await;
    let bob = server.sign_up(&mut bob_browser).await;

    let linked = server
        .post_as(
            &ada.token,
            "/account/link-email",
            json!({"email": "ada@x.com"}),
        )
        .await
        .ok();
    assert_eq!(
        linked,
        json!({"user": {"id": ada.user_id, "email": "ada@x.com", "createdAt": START}})
    );
    // Re-linking one's own email (in any case) is fine.
    server
        .post_as(
            &ada.token,
            "/account/link-email",
            json!({"email": "Ada@X.com"}),
        )
        .await
        .ok();

    server
        .post_as(
            &bob.token,
            "/account/link-email",
            json!({"email": "ADA@x.com"}),
        )
        .await
        .assert_error(400, EMAIL_IN_USE);
    server
        .post_as(
            &bob.token,
            "/account/link-email",
            json!({"email": "not an email"}),
        )
        .await
        .assert_error(400, INVALID_EMAIL);
    let bob_now = server.get_as(&bob.token, "/account").await.ok();
    assert!(bob_now["user"].get("email").is_none());
}

#[tokio::test]
async fn can_link_email_reports_why_not() {
    let server = TestServer::start().await;
    let (mut ada_browser, mut bob_browser) = (Browser::new(), Browser::new());
    let ada = server
        .sign_up_with(&mut ada_browser, json!({"email": "ada@x.com"}))
        .await;
    let bob = server.sign_up(&mut bob_browser).await;

    let cases = [
        (&ada.token, "ada@x.com", json!({"ok": true})),
        (&ada.token, "ADA@x.com", json!({"ok": true})),
        (&bob.token, "bob@x.com", json!({"ok": true})),
        (
            &bob.token,
            "Ada@X.com",
            json!({"ok": false, "reason": "email_in_use"}),
        ),
        (
            &bob.token,
            "bob@",
            json!({"ok": false, "reason": "invalid_email"}),
        ),
    ];
    for (token, email, expected) in cases {
        let reply = server
            .post_as(token, "/account/can-link-email", json!({"email": email}))
            .await;
        assert_eq!(reply.ok(), expected, "{email}");
    }
}

#[tokio::test]
async fn email_available_is_false_for_invalid_or_taken_emails() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    server
        .sign_up_with(&mut browser, json!({"email": "ada@x.com"}))
        .await;

    for (email, available) in [
        ("bob@x.com", true),
        ("ada@x.com", false),
        ("Ada@X.com", false),
        ("not-an-email", false),
        ("has space@x.com", false),
    ] {
        let reply = server
            .post("/account/email-available", json!({"email": email}))
            .await;
        assert_eq!(reply.ok(), json!({"available": available}), "{email}");
    }
    server
        .post("/account/email-available", json!({}))
        .await
        .assert_error(400, "Missing or invalid field: email");
}

// ---------------------------------------------------------------- request validation

#[tokio::test]
async fn oversized_fields_are_refused_with_their_name() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;

    server
        .post(
            "/passkey/register/options",
            json!({"userId": "u".repeat(257)}),
        )
        .await
        .assert_error(400, "Invalid field: userId");
    server
        .post(
            "/passkey/authenticate/options",
            json!({"userId": "u".repeat(257)}),
        )
        .await
        .assert_error(400, "Invalid field: userId");
    let long_email = format!("{}@x.com", "a".repeat(250));
    server
        .post("/passkey/register/options", json!({"email": long_email}))
        .await
        .assert_error(400, "Invalid field: email");
    server
        .post("/account/email-available", json!({"email": long_email}))
        .await
        .assert_error(400, "Invalid field: email");
    server
        .post_as(
            &account.token,
            "/account/link-email",
            json!({"email": long_email}),
        )
        .await
        .assert_error(400, "Invalid field: email");
    server
        .post_as(
            &account.token,
            &format!("/account/credentials/{}", account.credential()),
            json!({"label": "l".repeat(201)}),
        )
        .await
        .assert_error(400, "Invalid field: label");
    server
        .call_as(
            Method::DELETE,
            &account.token,
            &format!("/account/sessions/{}", "s".repeat(257)),
        )
        .await
        .assert_error(400, "Invalid field: id");

    // At the limits everything is accepted.
    let label = "l".repeat(200);
    server
        .post_as(
            &account.token,
            &format!("/account/credentials/{}", account.credential()),
            json!({"label": label}),
        )
        .await
        .ok();
    server
        .post(
            "/passkey/register/options",
            // A client-chosen user id is at most 64 characters (the WebAuthn user
            // handle's limit), though other ids may have 256.
            json!({"userId": "u".repeat(passkey_magic_server::input::MAX_USER_ID_LEN)}),
        )
        .await
        .ok();
}

#[tokio::test]
async fn empty_user_id_is_refused_and_empty_user_name_falls_back() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    server
        .post("/passkey/register/options", json!({"userId": ""}))
        .await
        .assert_error(400, "Invalid field: userId");

    // An empty name is no name: the authenticator shows the email or user id instead.
    let options = server
        .post(
            "/passkey/register/options",
            json!({"userName": "", "email": "ada@x.com"}),
        )
        .await
        .ok();
    assert_eq!(options["options"]["user"]["name"], "ada@x.com");
    let response = browser.register(&options["options"]).await;
    let body = server
        .post(
            "/passkey/register/verify",
            json!({"userId": options["userId"], "response": response}),
        )
        .await
        .ok();
    let token = body["session"]["token"].as_str().unwrap();
    let options = server
        .post_as(token, "/passkey/add/options", json!({"userName": ""}))
        .await
        .ok();
    assert_eq!(options["options"]["user"]["name"], "ada@x.com");
}

#[tokio::test]
async fn missing_and_mistyped_fields_are_refused_with_their_name() {
    let server = TestServer::start().await;
    server
        .post("/passkey/register/verify", json!({"response": {}}))
        .await
        .assert_error(400, "Missing or invalid field: userId");
    server
        .post("/passkey/register/verify", json!({"userId": "u"}))
        .await
        .assert_error(400, "Missing or invalid field: response");
    server
        .post("/passkey/authenticate/verify", json!({"response": "x"}))
        .await
        .assert_error(400, "Missing or invalid field: response");
    server
        .post(
            "/passkey/authenticate/verify",
            json!({"response": {"id": 1}}),
        )
        .await
        .assert_error(400, "Invalid field: response");
    server
        .post("/passkey/register/options", json!({"email": 42}))
        .await
        .assert_error(400, "Invalid field: email (expected string)");
}

#[tokio::test]
async fn invalid_json_bodies_are_refused() {
    let server = TestServer::start().await;
    for body in ["{", "", "not json", "{\"email\": }"] {
        server
            .send(
                Method::POST,
                "/account/email-available",
                None,
                Some(body.into()),
            )
            .await
            .assert_error(400, "Invalid JSON in request body");
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let server = TestServer::start().await;
    let body = json!({"email": "a@b.co", "padding": "x".repeat(70 * 1024)}).to_string();
    let reply = server
        .send(Method::POST, "/account/email-available", None, Some(body))
        .await;
    assert_eq!(reply.status, 413, "{reply:?}");
}

#[tokio::test]
async fn non_object_json_bodies_are_refused() {
    let server = TestServer::start().await;
    for body in ["[]", "[{\"email\":\"a@b.co\"}]", "\"a@b.co\"", "42", "null"] {
        server
            .send(
                Method::POST,
                "/passkey/register/options",
                None,
                Some(body.into()),
            )
            .await
            .assert_error(400, "Request body must be a JSON object");
    }
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_404_json() {
    let server = TestServer::start().await;
    for (method, path) in [
        (Method::GET, "/nope"),
        (Method::POST, "/passkey/register"),
        (Method::GET, "/passkey/register/options"),
        (Method::PUT, "/session"),
        (Method::POST, "/session"),
        (Method::PATCH, "/account/sessions"),
        (Method::GET, "/account/link-email"),
        (Method::GET, "/passkey"),
        (Method::GET, "/account/credentials/some-id/more"),
        (Method::GET, "/account/credentials/some-id"),
    ] {
        let reply = server.send(method, path, None, None).await;
        assert_eq!(
            reply.body,
            json!({"error": "Not found", "code": "not_found"})
        );
        assert_eq!(reply.status, 404);
    }
}

#[tokio::test]
async fn magic_link_routes_answer_not_configured() {
    let server = TestServer::start().await;
    server
        .post("/magic-link/send", json!({"email": "ada@x.com"}))
        .await
        .assert_error(400, "Magic link not configured");
    server
        .post("/magic-link/verify", json!({"token": "abc"}))
        .await
        .assert_error(400, "Magic link not configured");
}

// ---------------------------------------------------------------- events and hooks

#[tokio::test]
async fn registration_emits_user_credential_and_session_events() {
    let server = TestServer::start().await;
    let mut events = server.auth.subscribe();
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;

    let received: Vec<Event> = std::iter::from_fn(|| events.try_recv().ok()).collect();
    assert_eq!(
        received,
        [
            Event::UserCreated {
                user_id: account.user_id.clone()
            },
            Event::CredentialCreated {
                credential_id: account.credential().to_owned(),
                user_id: account.user_id.clone(),
            },
            Event::SessionCreated {
                session_id: account.session_id.clone(),
                user_id: account.user_id.clone(),
                method: AuthMethod::Passkey,
            },
        ]
    );
}

struct ClosedSignUps;

#[async_trait::async_trait]
impl Hooks for ClosedSignUps {
    async fn before_register(&self, _attempt: &RegisterAttempt<'_>) -> Result<(), Veto> {
        Err(Veto::new("Sign-ups are closed"))
    }
}

#[tokio::test]
async fn before_register_veto_is_a_400_with_its_message_and_stores_nothing() {
    let server = TestServer::start_with(builder().hooks(ClosedSignUps)).await;
    let mut events = server.auth.subscribe();
    server
        .post(
            "/passkey/register/options",
            json!({"userId": "vetoed", "email": "vetoed@x.com"}),
        )
        .await
        .assert_error(400, "Sign-ups are closed");

    let store = server.auth.store();
    assert!(store.user_by_id("vetoed").await.unwrap().is_none());
    assert!(store.user_by_email("vetoed@x.com").await.unwrap().is_none());
    assert!(events.try_recv().is_err());
    let reply = server
        .post("/account/email-available", json!({"email": "vetoed@x.com"}))
        .await;
    assert_eq!(reply.ok(), json!({"available": true}));
}

/// Records every session the `after_*` hooks are handed.
#[derive(Clone, Default)]
struct RecordingHooks(std::sync::Arc<std::sync::Mutex<Vec<(&'static str, Session)>>>);

#[async_trait::async_trait]
impl Hooks for RecordingHooks {
    async fn after_register(&self, _user: &User, session: &Session) {
        self.0
            .lock()
            .unwrap()
            .push(("after_register", session.clone()));
    }

    async fn after_authenticate(&self, _user: &User, session: &Session) {
        self.0
            .lock()
            .unwrap()
            .push(("after_authenticate", session.clone()));
    }
}

#[tokio::test]
async fn hooks_never_receive_a_session_token() {
    let hooks = RecordingHooks::default();
    let server = TestServer::start_with(builder().hooks(hooks.clone())).await;
    let mut browser = Browser::new();
    let signed_up = server.sign_up(&mut browser).await;
    let signed_in = server.sign_in(&mut browser).await;

    let seen = hooks.0.lock().unwrap().clone();
    let names: Vec<&str> = seen.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["after_register", "after_authenticate"]);
    for ((name, session), account) in seen.iter().zip([&signed_up, &signed_in]) {
        assert_eq!(session.id, account.session_id, "{name}");
        assert_eq!(session.token, None, "{name} got a token");
        let printed = format!("{session:?} {}", serde_json::to_string(session).unwrap());
        assert!(!printed.contains(&account.token), "{name}: {printed}");
    }
}

// ---------------------------------------------------------------- response hygiene

/// Every API response, success or refusal, is `no-store`, `nosniff` and `no-referrer`.
#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let base = server.base_url();
    let requests = [
        http.post(format!("{base}/account/email-available"))
            .json(&json!({"email": "ada@example.com"})),
        http.get(format!("{base}/session")),
        http.get(format!("{base}/no-such-route")),
        http.post(format!("{base}/passkey/authenticate/options"))
            .json(&json!({})),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        let headers = response.headers();
        let status = response.status();
        assert_eq!(headers["cache-control"], "no-store", "{status}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{status}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{status}");
    }
}

/// A cross-site HTML form can post `text/plain` without a preflight: such a body is
/// refused with 415 before any handler runs, so it sends no magic link and probes nothing.
#[tokio::test]
async fn a_body_that_is_not_json_is_refused_with_415() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let response = http
            .post(format!("{}/account/email-available", server.base_url()))
            .header("content-type", content_type)
            .body(r#"{"email":"ada@example.com"}"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 415, "{content_type}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "Content-Type must be application/json");
    }
    let response = http
        .post(format!("{}/account/email-available", server.base_url()))
        .header("content-type", "application/json; charset=utf-8")
        .body(r#"{"email":"ada@example.com"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// An oversized body is 413 (not 400) with a JSON body; a bad path parameter and an
/// unknown path answer JSON too.
#[tokio::test]
async fn framework_refusals_answer_json() {
    let server = TestServer::start().await;
    let big = json!({"email": "a".repeat(100 * 1024)}).to_string();
    let reply = server
        .send(Method::POST, "/account/email-available", None, Some(big))
        .await;
    assert_eq!(reply.status, 413, "{reply:?}");
    assert_eq!(reply.body["error"], "Request body too large");
    let reply = server.send(Method::PUT, "/session", None, None).await;
    assert_eq!(reply.status, 404, "{reply:?}");

    // The router alone (mounted by an app under its own server) refuses the same way.
    use tower::ServiceExt;
    let router = passkey_magic_server::http::router(server.auth.clone());
    let request = axum::http::Request::post("/account/email-available")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            json!({"email": "a".repeat(100 * 1024)}).to_string(),
        ))
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["cache-control"], "no-store");
}

// ---------------------------------------------------------------- input hygiene

/// `"\u{212A}ate@…"` (Kelvin sign) lower-cases to `kate@…` under Unicode rules: it is
/// refused, never treated as Kate's address (and so never signs into her account).
#[tokio::test]
async fn emails_that_cannot_be_compared_by_ascii_case_are_refused() {
    let server = TestServer::start().await;
    let kate = server
        .sign_up_with(&mut Browser::new(), json!({"email": "kate@example.com"}))
        .await;
    for spoof in ["\u{212A}ate@example.com", "kate\u{200B}@example.com"] {
        server
            .post("/passkey/register/options", json!({"email": spoof}))
            .await
            .assert_error(400, INVALID_EMAIL);
        let available = server
            .post("/account/email-available", json!({"email": spoof}))
            .await
            .ok();
        assert_eq!(available["available"], false, "{spoof:?}");
        server
            .post_as(
                &kate.token,
                "/account/can-link-email",
                json!({"email": spoof}),
            )
            .await
            .ok();
    }
    // ASCII case still does not matter.
    server
        .post(
            "/passkey/register/options",
            json!({"email": "KATE@example.com"}),
        )
        .await
        .assert_error(400, EMAIL_IN_USE);
}

/// Labels, user names and metadata keys with invisible or reordering characters are
/// refused: they make one string look like another.
#[tokio::test]
async fn invisible_characters_are_refused_in_labels_names_and_metadata_keys() {
    let server = TestServer::start().await;
    server
        .post(
            "/passkey/register/options",
            json!({"userName": "ada\u{202E}nimda"}),
        )
        .await
        .assert_error(400, "Invalid field: userName");
    let ada = server.sign_up(&mut Browser::new()).await;
    let path = format!("/account/credentials/{}", ada.credential());
    server
        .send(
            Method::PATCH,
            &path,
            Some(&ada.token),
            Some(json!({"label": "My\u{200B}Key"}).to_string()),
        )
        .await
        .assert_error(400, "Invalid field: label");
    server
        .send(
            Method::PATCH,
            "/account",
            Some(&ada.token),
            Some(json!({"metadata": {"role\u{2066}": "admin"}}).to_string()),
        )
        .await
        .assert_error(400, "Invalid field: metadata");
    // Ordinary non-ASCII text is fine.
    server
        .send(
            Method::PATCH,
            &path,
            Some(&ada.token),
            Some(json!({"label": "Jürgen's 🔑"}).to_string()),
        )
        .await
        .ok();
}

/// A client-chosen user id has a safe charset and length, and never an existing id.
#[tokio::test]
async fn client_chosen_user_ids_are_limited_to_a_safe_charset() {
    let server = TestServer::start().await;
    for bad in ["a b", "../x", "ü", "a\u{200B}", &"x".repeat(65)] {
        server
            .post("/passkey/register/options", json!({"userId": bad}))
            .await
            .assert_error(400, "Invalid field: userId");
    }
    let ada = server
        .sign_up_with(&mut Browser::new(), json!({"userId": "ada-1"}))
        .await;
    assert_eq!(ada.user_id, "ada-1");
    server
        .post("/passkey/register/options", json!({"userId": "ada-1"}))
        .await
        .assert_error(400, USER_EXISTS);
}

/// A sign-in from a page framed by another site (`clientDataJSON.crossOrigin: true`) is
/// refused: cross-origin embedding is not offered, so no top origins are allowed.
///
/// The software browser writes `crossOrigin` twice (`false`, then the `true` added here),
/// which is refused as malformed; a clean `crossOrigin: true` with a valid signature is
/// the `webauthn_response` fuzz target's regression input
/// (`tests/fuzz/regressions/webauthn_response/cross-origin-sign-in-accepted`), refused as
/// a failed verification.
#[tokio::test]
async fn cross_origin_sign_ins_are_refused() {
    let server = TestServer::start().await;
    let mut browser = Browser::new();
    server.sign_up(&mut browser).await;
    let options = server
        .post("/passkey/authenticate/options", json!({}))
        .await
        .ok();
    let response = browser.authenticate_cross_origin(&options["options"]).await;
    let client_data = response["response"]["clientDataJSON"].as_str().unwrap();
    let client_data = String::from_utf8(
        base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            client_data,
        )
        .unwrap(),
    )
    .unwrap();
    assert!(
        client_data.contains("\"crossOrigin\":true"),
        "{client_data}"
    );
    server
        .post(
            "/passkey/authenticate/verify",
            json!({ "response": response }),
        )
        .await
        .assert_error(400, "Invalid field: response");
}

#[tokio::test]
async fn health_probes_answer_under_the_prefix_with_the_api_headers() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    for (path, status) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let response = http
            .get(format!("{}{path}", server.base_url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["cache-control"], "no-store", "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], status, "{path}: {body}");
    }
    // Probes are GET only, like the rest of the API a wrong method is a JSON 404.
    let wrong = server.send(Method::POST, "/healthz", None, None).await;
    wrong.assert_error(404, "Not found");
}
