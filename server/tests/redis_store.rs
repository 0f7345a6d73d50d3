//! The Redis store behind the HTTP API: a Redis outage (the connection cut by a proxy)
//! answers 503 JSON, never panics, and the server recovers by itself when Redis is back.
//! And what only Redis does: each user's security log is capped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking

#[allow(dead_code)]
mod support;

use passkey_magic_server::store::{RedisStore, SecurityEventRecord, Store};
use passkey_magic_shared::Timestamp;
use passkey_magic_shared::security_events::{SecurityEvent, SecurityEventType};
use serde_json::{Value, json};
use support::{Browser, Proxy, TestServer};

async fn raw(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_redis_outage_is_a_503_and_the_server_recovers() {
    let proxy = Proxy::start("127.0.0.1:6379").await;
    let prefix = format!("pm-outage-{}", std::process::id());
    let store = RedisStore::connect(&format!("redis://{}", proxy.address()), &prefix)
        .await
        .unwrap();
    let server = TestServer::start_with(support::builder().store(store)).await;
    let mut browser = Browser::new();
    let account = server.sign_up(&mut browser).await;
    assert_eq!(server.get_as(&account.token, "/session").await.status, 200);

    proxy.cut();
    let http = reqwest::Client::new();
    let (status, body) = raw(http
        .get(format!("{}/session", server.base_url()))
        .bearer_auth(&account.token))
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "unavailable");
    let (status, body) = raw(http
        .post(format!(
            "{}/passkey/authenticate/options",
            server.base_url()
        ))
        .json(&json!({})))
    .await;
    assert_eq!(status, 503, "{body}");

    proxy.restore().await;
    // The connection manager reconnects on its own; the data is still there.
    let mut status = 0;
    for _ in 0..50 {
        status = server.get_as(&account.token, "/session").await.status;
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
    let signed_in = server.sign_in(&mut browser).await;
    assert_eq!(signed_in.user_id, account.user_id);

    // Leave the shared Redis as it was.
    let client = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut connection)
            .await
            .unwrap();
    }
}

/// The keys under `prefix`.
async fn keys_under(prefix: &str) -> Vec<String> {
    let client = redis::Client::open("redis://127.0.0.1:6379").unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut connection)
        .await
        .unwrap()
}

/// A user's log keeps the newest 1 000 events: older ones go as new ones come, with
/// their keys, and the retention purge then removes the rest without leaving a key.
#[tokio::test]
async fn a_users_security_log_is_capped_at_the_newest_thousand() {
    let prefix = format!("pm-events-cap-{}", std::process::id());
    let store = RedisStore::connect("redis://127.0.0.1:6379", &prefix)
        .await
        .unwrap();
    let event = |n: i64| SecurityEventRecord {
        user_id: "u-1".into(),
        event: SecurityEvent {
            id: format!("e-{n:04}"),
            kind: SecurityEventType::SignIn,
            created_at: Timestamp::from_unix_millis(1_000_000 + n),
            method: None,
            reason: None,
            ip_address: None,
            user_agent: None,
            credential_id: None,
            session_id: None,
        },
    };
    for n in 0..1005 {
        store.append_security_event(&event(n)).await.unwrap();
    }
    let kept = store
        .security_events_for_user("u-1", None, 5000)
        .await
        .unwrap();
    assert_eq!(kept.len(), 1000);
    assert_eq!(kept[0].event.id, "e-1004");
    assert_eq!(kept[999].event.id, "e-0005");
    // A dropped event's id is free again (its key went with it).
    store.append_security_event(&event(0)).await.unwrap();
    let kept = store
        .security_events_for_user("u-1", None, 5000)
        .await
        .unwrap();
    assert_eq!(kept.len(), 1000);
    assert_eq!(
        kept[999].event.id, "e-0005",
        "older than all the others, the re-added one went at once"
    );
    store.append_security_event(&event(0)).await.unwrap();

    assert_eq!(
        store
            .purge_security_events(Timestamp::from_unix_millis(2_000_000))
            .await,
        Ok(1000)
    );
    assert!(keys_under(&prefix).await.is_empty(), "nothing left behind");
}
