//! Cross-instance QR wake-ups: a desktop long-polling on one instance is answered as
//! soon as another instance changes its login, through the store's messages
//! (PostgreSQL `LISTEN/NOTIFY`, Redis pub/sub), not the periodic re-check.
//!
//! The re-check is set to its longest (60 s, ± 20 %) and the long-poll to 30 s, so only a message (or the
//! re-check a listener runs when it starts listening) can answer the desktop with the
//! new state; without them the poll ends after 30 s with the old state and the test
//! fails on that state, not on a duration.
//!
//! The wake-up counters (`passkey_magic_qr_wakeups_total{source}`) must name what woke a
//! desktop: `announcement` for a change on the other instance, `local` for one on its
//! own; and a burst of changes must be announced in fewer messages than changes
//! (`passkey_magic_qr_announcements_total`). Those tests record on a recorder local to
//! their thread, so they run on a single-threaded runtime.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/qr_waiter.rs"]
mod qr_waiter;

use metrics_exporter_prometheus::PrometheusHandle;
use passkey_magic_server::Auth;
use passkey_magic_server::store::{PostgresStore, RedisStore, Store};
use passkey_magic_shared::QrState;
use qr_waiter::spawn_waiter;
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
    for _ in 0..3 {
        scan_while_waiting(&desktop_side, &phone_side).await;
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
    delete_keys(&prefix).await;
}

/// Removes the keys of a test's prefix.
async fn delete_keys(prefix: &str) {
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

/// A counter's value in a Prometheus rendering (0 when absent); `labels` as rendered,
/// e.g. `{source="local"}`, or empty.
fn counter(metrics: &PrometheusHandle, name: &str, labels: &str) -> f64 {
    let series = format!("{name}{labels} ");
    metrics
        .render()
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0.0, |value| value.trim().parse().unwrap())
}

/// Wake-ups so far by source, and announcement messages sent.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Counts {
    local: f64,
    announcement: f64,
    recheck: f64,
    messages: f64,
}

impl Counts {
    fn read(metrics: &PrometheusHandle) -> Self {
        let wakeups = |source: &str| {
            counter(
                metrics,
                "passkey_magic_qr_wakeups_total",
                &format!("{{source=\"{source}\"}}"),
            )
        };
        Counts {
            local: wakeups("local"),
            announcement: wakeups("announcement"),
            recheck: wakeups("recheck"),
            messages: counter(metrics, "passkey_magic_qr_announcements_total", ""),
        }
    }

    /// What was counted since `before`.
    fn since(self, before: Counts) -> Counts {
        Counts {
            local: self.local - before.local,
            announcement: self.announcement - before.announcement,
            recheck: self.recheck - before.recheck,
            messages: self.messages - before.messages,
        }
    }
}

/// A desktop of `desktop_side` long-polls on a new login; `phone_side` scans it. Returns
/// once the desktop has its answer, which must be the scan.
async fn scan_while_waiting(desktop_side: &Auth, phone_side: &Auth) {
    let login = desktop_side.qr().create().await.unwrap();
    let waiting = desktop_side.qr().waiting_desktops();
    let waiter = spawn_waiter(desktop_side, &login);
    while desktop_side.qr().waiting_desktops() <= waiting {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    phone_side
        .qr()
        .mark_scanned(&login.session_id)
        .await
        .unwrap();
    let status = waiter.await.unwrap().unwrap();
    assert_eq!(status.state, QrState::Scanned);
}

/// What was counted for a scan on `phone_side` that woke a desktop waiting on
/// `desktop_side`. A desktop that subscribes, then reads its login again, answers without
/// waiting when the scan lands between the two: nothing is woken or counted then, so the
/// round is played again with a new login.
async fn woken_once(desktop_side: &Auth, phone_side: &Auth, metrics: &PrometheusHandle) -> Counts {
    for _ in 0..10 {
        let before = Counts::read(metrics);
        scan_while_waiting(desktop_side, phone_side).await;
        let counted = Counts::read(metrics).since(before);
        if counted.local + counted.announcement + counted.recheck > 0.0 {
            return counted;
        }
    }
    panic!("no scan woke a waiting desktop in 10 rounds");
}

/// Wake-ups are counted by what caused them, and a burst of changes on one instance is
/// announced to the other in fewer messages than changes, every desktop woken by them.
async fn wakeups_are_counted_by_source(desktops: Auth, phones: Auth, metrics: &PrometheusHandle) {
    // Once through, so the desktops' instance is listening (this first answer may come
    // from the re-check its listener runs when it starts).
    scan_while_waiting(&desktops, &phones).await;

    let counted = woken_once(&desktops, &phones, metrics).await;
    assert_eq!(
        (counted.announcement, counted.local, counted.recheck),
        (1.0, 0.0, 0.0),
        "a change on the other instance: {counted:?}"
    );

    let counted = woken_once(&desktops, &desktops, metrics).await;
    assert_eq!(
        (counted.local, counted.announcement, counted.recheck),
        (1.0, 0.0, 0.0),
        "a change on the desktop's own instance: {counted:?}"
    );

    // A burst: 500 desktops wait on one instance, 500 scans race on the other.
    const BURST: usize = 500;
    let mut logins = Vec::with_capacity(BURST);
    for _ in 0..BURST {
        logins.push(desktops.qr().create().await.unwrap());
    }
    let waiting = desktops.qr().waiting_desktops();
    let waiters: Vec<_> = logins
        .iter()
        .map(|login| spawn_waiter(&desktops, login))
        .collect();
    while desktops.qr().waiting_desktops() < waiting + BURST {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let before = Counts::read(metrics);
    let scans: Vec<_> = logins
        .iter()
        .map(|login| {
            let auth = phones.clone();
            let id = login.session_id.clone();
            tokio::spawn(async move { auth.qr().mark_scanned(&id).await })
        })
        .collect();
    for scan in scans {
        scan.await.unwrap().unwrap();
    }
    for waiter in waiters {
        assert_eq!(waiter.await.unwrap().unwrap().state, QrState::Scanned);
    }
    // A message is counted once sent, which may be after it was heard.
    tokio::time::timeout(Duration::from_secs(10), async {
        while Counts::read(metrics).since(before).messages < 1.0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .unwrap();
    let counted = Counts::read(metrics).since(before);
    // Every desktop answered within its 30 s poll, long before the 60 s re-check: woken
    // by an announcement, or (if the scan landed just before it started waiting) by
    // its own second read, which counts nothing.
    assert!(
        counted.announcement > 0.0
            && counted.announcement <= BURST as f64
            && (counted.local, counted.recheck) == (0.0, 0.0),
        "desktops woken by announcements only: {counted:?}"
    );
    assert!(
        counted.messages >= 1.0 && counted.messages < BURST as f64,
        "{BURST} changes batched into fewer messages: {counted:?}"
    );
}

/// A recorder for this test's thread (the runtime must be single-threaded).
fn local_recorder() -> (
    metrics_exporter_prometheus::PrometheusRecorder,
    PrometheusHandle,
) {
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let handle = recorder.handle();
    (recorder, handle)
}

#[tokio::test]
async fn postgres_wakeups_are_counted_by_source_and_announced_in_batches() {
    let (recorder, metrics) = local_recorder();
    let _recording = metrics::set_default_local_recorder(&recorder);
    let schema = unique("wakeup_sources");
    let first = PostgresStore::connect_in_schema(&postgres_url(), &schema)
        .await
        .unwrap();
    let second = PostgresStore::connect_in_schema(&postgres_url(), &schema)
        .await
        .unwrap();
    wakeups_are_counted_by_source(engine(first), engine(second), &metrics).await;
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(&postgres_url()).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .execute(&mut connection)
        .await
        .unwrap();
}

#[tokio::test]
async fn redis_wakeups_are_counted_by_source_and_announced_in_batches() {
    let (recorder, metrics) = local_recorder();
    let _recording = metrics::set_default_local_recorder(&recorder);
    let prefix = unique("wakeup_sources");
    let first = RedisStore::connect(&redis_url(), &prefix).await.unwrap();
    let second = RedisStore::connect(&redis_url(), &prefix).await.unwrap();
    wakeups_are_counted_by_source(engine(first), engine(second), &metrics).await;
    delete_keys(&prefix).await;
}
