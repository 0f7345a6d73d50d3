//! Long-poll scaling (`GET /qr/{id}/status?wait=N`): 10 000 desktops waiting on one
//! engine must not cost 10 000 storage reads per second. A counting [`Store`] wrapper
//! measures the reads while they wait; the numbers are printed (run with
//! `cargo test -p passkey-magic-server --test qr_long_poll -- --nocapture`) and the test
//! asserts on counts, never on durations.
//!
//! Time is tokio's paused clock (`start_paused`): waits and fallback rounds advance
//! virtual time as soon as every task is idle, so the tests take no wall-clock seconds
//! and cannot be flaky on a loaded machine.
//!
//! The waiters call the engine directly (`auth.qr().status`): the HTTP layer adds no
//! storage reads, and 10 000 loopback connections would need 20 000 file descriptors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/qr_waiter.rs"]
mod qr_waiter;

use async_trait::async_trait;
use passkey_magic_server::qr::state::QrSessionState;
use passkey_magic_server::store::{
    ChallengeRecord, CredentialRecord, CredentialUsage, Guarded, MagicLinkRecord, MemoryStore,
    Purged, QrChange, QrSessionRecord, SessionRecord, Store, StoreError, UserRecord,
};
use passkey_magic_server::{Auth, secrets::TokenHash};
use passkey_magic_shared::{Metadata, QrState, Timestamp};
use qr_waiter::spawn_waiter;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// Counts the QR reads that reach the store it wraps.
#[derive(Debug, Default)]
struct Counts {
    by_id: AtomicU64,
    batches: AtomicU64,
    batch_rows: AtomicU64,
}

impl Counts {
    fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.by_id.load(Ordering::SeqCst),
            self.batches.load(Ordering::SeqCst),
            self.batch_rows.load(Ordering::SeqCst),
        )
    }
}

struct CountingStore {
    inner: MemoryStore,
    counts: Arc<Counts>,
}

#[async_trait]
impl Store for CountingStore {
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.inner.create_user(user).await
    }
    async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        self.inner.user_by_id(id).await
    }
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError> {
        self.inner.user_by_email(email).await
    }
    async fn set_user_email(&self, id: &str, email: Option<&str>) -> Result<Guarded, StoreError> {
        self.inner.set_user_email(id, email).await
    }
    async fn set_user_metadata(
        &self,
        id: &str,
        metadata: Option<&Metadata>,
    ) -> Result<bool, StoreError> {
        self.inner.set_user_metadata(id, metadata).await
    }
    async fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_user(id).await
    }
    async fn create_credential(&self, credential: &CredentialRecord) -> Result<(), StoreError> {
        self.inner.create_credential(credential).await
    }
    async fn credential_by_id(&self, id: &str) -> Result<Option<CredentialRecord>, StoreError> {
        self.inner.credential_by_id(id).await
    }
    async fn credentials_for_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        self.inner.credentials_for_user(user_id).await
    }
    async fn record_credential_use(&self, usage: &CredentialUsage) -> Result<bool, StoreError> {
        self.inner.record_credential_use(usage).await
    }
    async fn update_credential(
        &self,
        user_id: &str,
        id: &str,
        label: Option<&str>,
        metadata: Option<&Metadata>,
    ) -> Result<bool, StoreError> {
        self.inner
            .update_credential(user_id, id, label, metadata)
            .await
    }
    async fn delete_credential(&self, user_id: &str, id: &str) -> Result<Guarded, StoreError> {
        self.inner.delete_credential(user_id, id).await
    }
    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        self.inner.create_session(session).await
    }
    async fn session_by_token_hash(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        self.inner.session_by_token_hash(token_hash, now).await
    }
    async fn sessions_for_user(
        &self,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        self.inner.sessions_for_user(user_id, now).await
    }
    async fn delete_session(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_session(user_id, id).await
    }
    async fn delete_sessions_for_user(&self, user_id: &str) -> Result<u64, StoreError> {
        self.inner.delete_sessions_for_user(user_id).await
    }
    async fn create_qr_session(&self, qr: &QrSessionRecord) -> Result<(), StoreError> {
        self.inner.create_qr_session(qr).await
    }
    async fn qr_session_by_id(&self, id: &str) -> Result<Option<QrSessionRecord>, StoreError> {
        self.counts.by_id.fetch_add(1, Ordering::SeqCst);
        self.inner.qr_session_by_id(id).await
    }
    async fn qr_sessions_by_ids(&self, ids: &[String]) -> Result<Vec<QrSessionRecord>, StoreError> {
        self.counts.batches.fetch_add(1, Ordering::SeqCst);
        self.counts
            .batch_rows
            .fetch_add(ids.len() as u64, Ordering::SeqCst);
        self.inner.qr_sessions_by_ids(ids).await
    }
    async fn transition_qr_session(
        &self,
        id: &str,
        change: &QrChange,
        now: Timestamp,
    ) -> Result<Option<QrSessionRecord>, StoreError> {
        self.inner.transition_qr_session(id, change, now).await
    }
    async fn count_qr_confirmation_attempt(
        &self,
        id: &str,
        states: &[QrSessionState],
        max_attempts: u32,
        now: Timestamp,
    ) -> Result<Option<u32>, StoreError> {
        self.inner
            .count_qr_confirmation_attempt(id, states, max_attempts, now)
            .await
    }
    async fn put_challenge(&self, challenge: &ChallengeRecord) -> Result<(), StoreError> {
        self.inner.put_challenge(challenge).await
    }
    async fn take_challenge(
        &self,
        challenge: &str,
        now: Timestamp,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        self.inner.take_challenge(challenge, now).await
    }
    async fn put_magic_link(&self, link: &MagicLinkRecord) -> Result<(), StoreError> {
        self.inner.put_magic_link(link).await
    }
    async fn take_magic_link(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<MagicLinkRecord>, StoreError> {
        self.inner.take_magic_link(token_hash, now).await
    }
    async fn delete_magic_link(&self, token_hash: &TokenHash) -> Result<bool, StoreError> {
        self.inner.delete_magic_link(token_hash).await
    }
    async fn purge_expired(&self, now: Timestamp) -> Result<Purged, StoreError> {
        self.inner.purge_expired(now).await
    }
}

fn engine(store: MemoryStore, counts: &Arc<Counts>, fallback: Duration) -> Auth {
    Auth::builder("localhost", "http://localhost:8787")
        .unwrap()
        .store(CountingStore {
            inner: store,
            counts: Arc::clone(counts),
        })
        .qr_poll_fallback(fallback)
        .build()
        .unwrap()
}

async fn until_waiting(auth: &Auth, count: usize) {
    while auth.qr().waiting_desktops() < count {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

const DESKTOPS: usize = 10_000;

#[tokio::test(start_paused = true)]
async fn ten_thousand_waiting_desktops_cost_one_batched_read_per_interval() {
    let counts = Arc::new(Counts::default());
    // A 1 s fallback (the default is 3 s) to see several rounds in a short test.
    let fallback = Duration::from_secs(1);
    let auth = engine(MemoryStore::new(), &counts, fallback);
    let mut logins = Vec::with_capacity(DESKTOPS);
    for _ in 0..DESKTOPS {
        logins.push(auth.qr().create().await.unwrap());
    }
    let waiters: Vec<_> = logins
        .iter()
        .map(|login| spawn_waiter(&auth, login))
        .collect();
    until_waiting(&auth, DESKTOPS).await;

    let window = Duration::from_secs(4);
    let (by_id_before, batches_before, rows_before) = counts.snapshot();
    let started = Instant::now();
    tokio::time::sleep(window).await;
    let elapsed = started.elapsed().as_secs_f64();
    let (by_id_after, batches_after, rows_after) = counts.snapshot();
    let by_id = by_id_after - by_id_before;
    let batches = batches_after - batches_before;
    let rows = rows_after - rows_before;
    println!(
        "{DESKTOPS} waiting desktops, fallback {fallback:?}, over {elapsed:.1} virtual s: \
         {by_id} single reads, {batches} batched reads ({:.1} store calls/s), \
         {rows} rows re-checked ({:.0} rows/s)",
        (by_id + batches) as f64 / elapsed,
        rows as f64 / elapsed,
    );
    assert_eq!(by_id, 0, "nobody polls the store on its own while waiting");
    // ~4 rounds of 1 s ± 20 %; a generous bound that a per-waiter poll (10 000 calls
    // per round) could never meet.
    assert!(
        (1..=10).contains(&batches),
        "{batches} batched reads in the window"
    );

    // An in-process change wakes its waiter at once (no fallback round needed)...
    let first = &logins[0];
    auth.qr()
        .cancel(&first.session_id, first.status_token.expose())
        .await
        .unwrap();
    let mut waiters = waiters.into_iter();
    let status = waiters.next().unwrap().await.unwrap().unwrap();
    assert_eq!(status.state, QrState::Cancelled);

    // ...and desktops that leave take their registry entries with them.
    for waiter in waiters {
        waiter.abort();
    }
    while auth.qr().waiting_desktops() > 0 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_change_made_by_another_instance_wakes_the_waiter_through_the_fallback() {
    let counts = Arc::new(Counts::default());
    let shared = MemoryStore::new();
    let desktop_side = engine(shared.clone(), &counts, Duration::from_millis(200));
    let other_instance = engine(shared, &counts, Duration::from_millis(200));
    let login = desktop_side.qr().create().await.unwrap();
    let waiter = spawn_waiter(&desktop_side, &login);
    until_waiting(&desktop_side, 1).await;
    // The phone scans through the other instance: no in-process notification here.
    other_instance
        .qr()
        .mark_scanned(&login.session_id)
        .await
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(20), waiter)
        .await
        .expect("the fallback re-check found the change before the 30 s wait ended")
        .unwrap()
        .unwrap();
    assert_eq!(status.state, QrState::Scanned);
    assert!(counts.snapshot().1 >= 1, "found by a batched re-check");
}

#[tokio::test(start_paused = true)]
async fn long_polls_over_the_caps_are_answered_at_once() {
    let counts = Arc::new(Counts::default());
    let auth = Auth::builder("localhost", "http://localhost:8787")
        .unwrap()
        .store(CountingStore {
            inner: MemoryStore::new(),
            counts: Arc::clone(&counts),
        })
        .qr_long_poll_caps(1, 2)
        .build()
        .unwrap();
    let wait = |login| spawn_waiter(&auth, login);
    let first = auth.qr().create().await.unwrap();
    let second = auth.qr().create().await.unwrap();
    let third = auth.qr().create().await.unwrap();
    let held = wait(&first);
    until_waiting(&auth, 1).await;
    // A second waiter on the same login is over the per-login cap: answered before any
    // virtual time passes.
    let started = Instant::now();
    let over_login_cap = wait(&first).await.unwrap().unwrap();
    assert_eq!(over_login_cap.state, QrState::Created);
    assert_eq!(started.elapsed(), Duration::ZERO);
    let held_second = wait(&second);
    until_waiting(&auth, 2).await;
    // The overall cap (2) is reached: a waiter on a third login is answered at once too.
    let started = Instant::now();
    let over_overall_cap = wait(&third).await.unwrap().unwrap();
    assert_eq!(over_overall_cap.state, QrState::Created);
    assert_eq!(started.elapsed(), Duration::ZERO);
    // Held waiters still answer on a change, and their slots come back.
    auth.qr()
        .cancel(&first.session_id, first.status_token.expose())
        .await
        .unwrap();
    assert_eq!(held.await.unwrap().unwrap().state, QrState::Cancelled);
    held_second.abort();
    let third_waits = wait(&third);
    until_waiting(&auth, 1).await;
    third_waits.abort();
}
