//! Wake-ups for long-polling desktops (`GET /qr/{id}/status?wait=N`).
//!
//! - **In-process changes wake waiters at once.** Every successful QR transition in this
//!   process calls [`Watchers::notify`], which bumps a `tokio::sync::watch` channel kept
//!   per QR id *only while someone waits on it*: the entry is created by the first
//!   [`Watchers::subscribe`] and removed when the last [`Subscription`] drops, so the map
//!   never holds more than the current waiters.
//! - **Changes made by other instances are found by one batched re-check.** A single
//!   background task per engine wakes every `poll_fallback` (± 20 % jitter, so instances
//!   do not synchronise), reads *all* watched ids with one [`Store::qr_sessions_by_ids`]
//!   call (chunked by the store), and wakes the waiters whose row differs from what they
//!   last saw. Storage load is therefore one batched read per interval, whatever the
//!   number of waiting desktops — never one poll per waiter. The task runs only while
//!   there are waiters and stops by itself when the last one leaves or the engine is
//!   dropped.
//! - **Other instances are told at once where the store can carry messages.** With a
//!   store that [announces QR changes](Store::announces_qr_changes) (PostgreSQL
//!   `LISTEN/NOTIFY`, Redis pub/sub), [`Watchers::notify`] also announces the change, and
//!   one listener task per engine (started by the first waiter, stopped when the engine
//!   is dropped) wakes this instance's waiters when another instance announces one. The
//!   batched re-check stays as the safety net for messages lost while a listener
//!   reconnects. Messages carry a random tag of the announcing engine, so an instance
//!   ignores its own.

use crate::clock::Clock;
use crate::qr::state::QrSessionState;
use crate::secrets::random_bytes;
use crate::store::{QrSessionRecord, Store};
use passkey_magic_shared::Timestamp;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::watch;

/// What a waiter knows of a row; a different one in the store means "wake up".
pub(crate) type Fingerprint = (QrSessionState, bool, Timestamp);

/// The fingerprint of a record.
pub(crate) fn fingerprint(record: &QrSessionRecord) -> Fingerprint {
    (record.state, record.confirmed, record.expires_at)
}

#[derive(Debug)]
struct Entry {
    sender: watch::Sender<u64>,
    waiters: usize,
    seen: Option<Fingerprint>,
}

#[derive(Debug, Default)]
struct Registry {
    entries: HashMap<String, Entry>,
    checker_running: bool,
    listener_started: bool,
}

/// The long-poll registry of one engine.
pub(crate) struct Watchers {
    registry: Mutex<Registry>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    fallback: Duration,
    /// This engine's tag in announcements (random hex), to skip its own.
    tag: String,
    /// Dropped with the engine: tells the listener task to stop.
    stop: watch::Sender<()>,
}

impl std::fmt::Debug for Watchers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watchers")
            .field("watched", &self.watched())
            .field("fallback", &self.fallback)
            .finish_non_exhaustive()
    }
}

impl Watchers {
    pub(crate) fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, fallback: Duration) -> Self {
        let tag = random_bytes::<8>()
            .map(|bytes| bytes.iter().map(|byte| format!("{byte:02x}")).collect())
            // Without randomness every engine shares one tag and ignores the others'
            // announcements: the re-check still finds their changes.
            .unwrap_or_default();
        Watchers {
            registry: Mutex::new(Registry::default()),
            store,
            clock,
            fallback,
            tag,
            stop: watch::channel(()).0,
        }
    }

    /// The registry. A poisoned lock only means another waiter panicked mid-update of
    /// plain counters; the data is still usable.
    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts waiting for changes of QR login `id`. Subscribe *before* reading the row:
    /// a change between the read and the wait then still wakes the waiter.
    pub(crate) fn subscribe(self: &Arc<Self>, id: &str) -> Subscription {
        let mut registry = self.registry();
        let entry = registry
            .entries
            .entry(id.to_owned())
            .or_insert_with(|| Entry {
                sender: watch::channel(0).0,
                waiters: 0,
                seen: None,
            });
        entry.waiters += 1;
        let receiver = entry.sender.subscribe();
        if tokio::runtime::Handle::try_current().is_ok() {
            if !registry.checker_running {
                registry.checker_running = true;
                tokio::spawn(check_in_background(Arc::downgrade(self)));
            }
            if !registry.listener_started && self.store.announces_qr_changes() {
                registry.listener_started = true;
                tokio::spawn(listen_in_background(
                    Arc::downgrade(self),
                    self.stop.subscribe(),
                ));
            }
        }
        Subscription {
            watchers: Arc::clone(self),
            id: id.to_owned(),
            receiver,
        }
    }

    /// A transition of `id` happened here: wakes everyone waiting on it in this engine
    /// and announces it to the other instances (when the store can).
    pub(crate) fn notify(&self, id: &str) {
        self.wake(id);
        if self.store.announces_qr_changes() && tokio::runtime::Handle::try_current().is_ok() {
            let store = Arc::clone(&self.store);
            let message = format!("{} {id}", self.tag);
            tokio::spawn(async move {
                if let Err(error) = store.announce_qr_change(&message).await {
                    // Waiters elsewhere then learn of it by their re-check.
                    tracing::warn!(%error, "announcing a QR change failed");
                }
            });
        }
    }

    /// Wakes everyone waiting on `id` in this engine.
    fn wake(&self, id: &str) {
        if let Some(entry) = self.registry().entries.get(id) {
            entry
                .sender
                .send_modify(|version| *version = version.wrapping_add(1));
        }
    }

    /// Records what a waiter read; if it differs from what others saw, wakes them too.
    pub(crate) fn observe(&self, record: &QrSessionRecord) {
        let print = fingerprint(record);
        let mut registry = self.registry();
        if let Some(entry) = registry.entries.get_mut(&record.id) {
            let changed = entry.seen.is_some_and(|seen| seen != print);
            entry.seen = Some(print);
            if changed {
                entry
                    .sender
                    .send_modify(|version| *version = version.wrapping_add(1));
            }
        }
    }

    /// How many QR ids have waiters (for tests and metrics).
    pub(crate) fn watched(&self) -> usize {
        self.registry().entries.len()
    }

    /// Whether the background re-check task is running (for tests).
    #[cfg(test)]
    pub(crate) fn is_checking(&self) -> bool {
        self.registry().checker_running
    }

    fn unsubscribe(&self, id: &str) {
        let mut registry = self.registry();
        if let Some(entry) = registry.entries.get_mut(id) {
            entry.waiters = entry.waiters.saturating_sub(1);
            if entry.waiters == 0 {
                registry.entries.remove(id);
            }
        }
    }

    /// One fallback round: which watched rows changed in the store? Returns `false` when
    /// nobody waits any more (the checker then stops).
    async fn check_once(&self) -> bool {
        {
            let mut registry = self.registry();
            if registry.entries.is_empty() {
                registry.checker_running = false;
                return false;
            }
        }
        self.recheck().await;
        true
    }

    /// Reads every watched row with one batched call and wakes the waiters whose row
    /// changed since they read it.
    async fn recheck(&self) {
        let watched: Vec<(String, Option<Fingerprint>)> = self
            .registry()
            .entries
            .iter()
            .map(|(id, entry)| (id.clone(), entry.seen))
            .collect();
        if watched.is_empty() {
            return;
        }
        let ids: Vec<String> = watched.iter().map(|(id, _)| id.clone()).collect();
        let records = match self.store.qr_sessions_by_ids(&ids).await {
            Ok(records) => records,
            Err(error) => {
                tracing::warn!(%error, "QR long-poll re-check failed");
                return;
            }
        };
        let current: HashMap<&str, Fingerprint> = records
            .iter()
            .map(|record| (record.id.as_str(), fingerprint(record)))
            .collect();
        let now = self.clock.now();
        for (id, seen) in &watched {
            let changed = match (current.get(id.as_str()), seen) {
                // Purged meanwhile: let the waiter find out.
                (None, _) => true,
                (Some(print), Some(seen)) => print != seen || print.2 <= now,
                (Some(_), None) => false,
            };
            if changed {
                self.wake(id);
            }
        }
    }
}

/// The fallback re-check loop; ends when the engine is gone or nobody waits.
async fn check_in_background(watchers: Weak<Watchers>) {
    loop {
        let Some(interval) = watchers.upgrade().map(|w| w.fallback) else {
            return;
        };
        tokio::time::sleep(jittered(interval)).await;
        let Some(watchers) = watchers.upgrade() else {
            return;
        };
        if !watchers.check_once().await {
            return;
        }
    }
}

/// How long the listener waits before listening again after its feed failed or ended.
const LISTEN_RETRY: Duration = Duration::from_secs(1);

/// Wakes this engine's waiters for the QR changes other instances announce; ends when
/// the engine is dropped (`stopped`) or the store has no announcements.
async fn listen_in_background(watchers: Weak<Watchers>, mut stopped: watch::Receiver<()>) {
    loop {
        let Some((store, tag)) = watchers
            .upgrade()
            .map(|w| (Arc::clone(&w.store), w.tag.clone()))
        else {
            return;
        };
        let feed = tokio::select! {
            _ = stopped.changed() => return,
            feed = store.listen_qr_changes() => feed,
        };
        match feed {
            Ok(None) => return,
            Ok(Some(mut feed)) => {
                // Changes announced before this feed listened were missed: one batched
                // re-check now finds them (a waiter that read its row before the change
                // is woken), so no change waits for the periodic round.
                if let Some(watchers) = watchers.upgrade() {
                    watchers.recheck().await;
                }
                if listen_to(&watchers, &tag, &mut feed, &mut stopped)
                    .await
                    .is_none()
                {
                    return;
                }
            }
            Err(error) => tracing::warn!(%error, "listening for QR changes failed"),
        }
        tokio::select! {
            _ = stopped.changed() => return,
            () = tokio::time::sleep(LISTEN_RETRY) => {}
        }
    }
}

/// Wakes waiters for each message of `feed` until it ends (`Some(())`), or `None` when
/// the engine is gone.
async fn listen_to(
    watchers: &Weak<Watchers>,
    tag: &str,
    feed: &mut crate::store::QrChangeFeed,
    stopped: &mut watch::Receiver<()>,
) -> Option<()> {
    loop {
        let message = tokio::select! {
            _ = stopped.changed() => return None,
            message = feed.recv() => message,
        };
        let Some(message) = message else {
            tracing::warn!("QR change feed ended; listening again");
            return Some(());
        };
        let Some((from, id)) = message.split_once(' ') else {
            continue;
        };
        if from == tag {
            continue;
        }
        watchers.upgrade()?.wake(id);
    }
}

/// `interval` ± 20 %, from the OS random generator (exact `interval` if it fails).
fn jittered(interval: Duration) -> Duration {
    let Ok([byte]) = random_bytes::<1>() else {
        return interval;
    };
    // 80 % + (0..=40 %) in steps of 40/255 %.
    let permille = 800 + u32::from(byte) * 400 / 255;
    interval * permille / 1000
}

/// One waiter on a QR id. Dropping it unregisters the waiter (and the id, if last).
#[derive(Debug)]
pub(crate) struct Subscription {
    watchers: Arc<Watchers>,
    id: String,
    receiver: watch::Receiver<u64>,
}

impl Subscription {
    /// Resolves at the next notification for this id.
    pub(crate) async fn changed(&mut self) {
        if self.receiver.changed().await.is_err() {
            // The sender lives in the registry as long as this subscription: not reached.
            std::future::pending::<()>().await;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.watchers.unsubscribe(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_twenty_percent() {
        for _ in 0..100 {
            let value = jittered(Duration::from_secs(10));
            assert!(value >= Duration::from_secs(8) && value <= Duration::from_secs(12));
        }
    }
}
