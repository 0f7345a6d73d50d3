//! Cross-instance QR wake-ups: a desktop long-polling on one instance is answered as
//! soon as another instance changes its login, through the store's messages
//! (PostgreSQL `LISTEN/NOTIFY`, Redis pub/sub), not the periodic re-check.
//!
//! The re-check is set to its longest (60 s, ± 20 %) and the long-poll to 30 s, so only a message (or the
//! re-check a listener runs when it starts listening) can answer the desktop with the
//! new state; without them the poll ends after 30 s with the old state and the test
//! fails on that state, not on a duration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use passkey_magic_server::Auth;
use passkey_magic_server::sessions::ClientInfo;
use passkey_magic_server::store::{PostgresStore, RedisStore, Store};
use passkey_magic_shared::QrState;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

fn engine(store: impl Store) -> Auth {
    Auth::builder("localhost", "http://localhost:8787")
        .unwrap()
        .store(store)
        .qr_poll_fallback(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn unique(name: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "pm_{name}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A desktop waits on `desktop_side`; the phone's steps happen on `phone_side`.
async fn a_change_on_one_instance_answers_a_desktop_on_the_other(
    desktop_side: Auth,
    phone_side: Auth,
) {
    for round in 0..3 {
        let login = desktop_side.qr().create().await.unwrap();
        let waiter = {
            let auth = desktop_side.clone();
            let (id, token) = (login.session_id.clone(), login.status_token.clone());
            tokio::spawn(async move {
                auth.qr()
                    .status(
                        &id,
                        token.expose(),
                        Duration::from_secs(30),
                        &ClientInfo::default(),
                    )
                    .await
            })
        };
        while desktop_side.qr().waiting_desktops() < 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        phone_side
            .qr()
            .mark_scanned(&login.session_id)
            .await
            .unwrap();
        let status = waiter.await.unwrap().unwrap();
        assert_eq!(status.state, QrState::Scanned, "round {round}");
    }
}

fn postgres_url() -> String {
    std::env::var("PASSKEY_MAGIC_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn redis_url() -> String {
    std::env::var("PASSKEY_MAGIC_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_instances_wake_each_others_desktops() {
    let schema = unique("wakeups");
    let first = PostgresStore::connect_in_schema(&postgres_url(), &schema)
        .await
        .unwrap();
    let second = PostgresStore::connect_in_schema(&postgres_url(), &schema)
        .await
        .unwrap();
    a_change_on_one_instance_answers_a_desktop_on_the_other(engine(first), engine(second)).await;
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .execute(&mut connection)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_instances_wake_each_others_desktops() {
    let prefix = unique("wakeups");
    let first = RedisStore::connect(&redis_url(), &prefix).await.unwrap();
    let second = RedisStore::connect(&redis_url(), &prefix).await.unwrap();
    a_change_on_one_instance_answers_a_desktop_on_the_other(engine(first), engine(second)).await;
    let client = redis::Client::open(redis_url()).unwrap();
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
