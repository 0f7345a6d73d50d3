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
//!   `LISTEN/NOTIFY`, Redis pub/sub), [`Watchers::notify`] also queues the id for one
//!   announcer task per engine (started by the first transition, ended when the engine
//!   is dropped), and one listener task per engine (started by the first waiter, stopped
//!   when the engine is dropped) wakes this instance's waiters when another instance
//!   announces a change. The batched re-check stays as the safety net for messages lost
//!   while a listener reconnects or an announcement fails.
//! - **Announcements are batched, never delayed.** The announcer sends as soon as it
//!   runs, everything queued so far in one message (`"<tag> <id> <id> ..."`, ids
//!   deduplicated, split only past [`MAX_ANNOUNCEMENT`] bytes); what is queued while that
//!   message is on its way goes out in the next. Under load a burst of transitions costs
//!   a few messages (one `NOTIFY`, one `PUBLISH`) instead of one each, and nothing waits
//!   for a batch to fill. The tag is random per engine, so an instance ignores its own
//!   messages.
//! - **Wake-ups are counted by source** ([`crate::telemetry::QR_WAKEUPS`]): `local`,
//!   `announcement` or `recheck`, once per woken id. Many `recheck`s on a multi-instance
//!   deployment mean messages are being lost.

use crate::clock::Clock;
use crate::qr::state::QrSessionState;
use crate::secrets::random_bytes;
use crate::store::{QrSessionRecord, Store};
use crate::telemetry;
use passkey_magic_shared::Timestamp;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// The longest announcement, in bytes: PostgreSQL refuses a `NOTIFY` payload of 8000
/// bytes or more; this leaves room to spare.
const MAX_ANNOUNCEMENT: usize = 7000;
/// Most queued ids the announcer takes at once (the rest go in the next round).
const ANNOUNCE_BATCH: usize = 16_384;

/// What woke the waiters of a QR id (the `source` label of
/// [`telemetry::QR_WAKEUPS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WakeSource {
    /// A transition in this process.
    Local,
    /// Another instance's announcement.
    Announcement,
    /// The fallback re-check found the row changed.
    Recheck,
}

impl WakeSource {
    fn as_str(self) -> &'static str {
        match self {
            WakeSource::Local => "local",
            WakeSource::Announcement => "announcement",
            WakeSource::Recheck => "recheck",
        }
    }
}

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
    /// The announcer's queue, created by the first transition. Dropped with the engine:
    /// the announcer then sends what is left and ends.
    announcer: Mutex<Option<mpsc::UnboundedSender<String>>>,
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
            announcer: Mutex::new(None),
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
    /// and queues it for the announcer, which tells the other instances (when the store
    /// can). Never waits.
    pub(crate) fn notify(&self, id: &str) {
        self.wake([id], WakeSource::Local);
        if self.store.announces_qr_changes() && tokio::runtime::Handle::try_current().is_ok() {
            self.announce(id.to_owned());
        }
    }

    /// Queues `id` for the announcer, starting it if needed.
    fn announce(&self, id: String) {
        let mut announcer = self
            .announcer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let id = match announcer.as_ref() {
            Some(queue) => match queue.send(id) {
                Ok(()) => return,
                // The announcer ended (only if it panicked): start another.
                Err(mpsc::error::SendError(id)) => id,
            },
            None => id,
        };
        let (queue, queued) = mpsc::unbounded_channel();
        // A new channel's receiver is alive: this send succeeds.
        let _ = queue.send(id);
        *announcer = Some(queue);
        tokio::spawn(announce_in_background(
            Arc::clone(&self.store),
            self.tag.clone(),
            queued,
        ));
    }

    /// Wakes everyone waiting on any of `ids` in this engine, under one lock, and
    /// counts the ids that had waiters by `source`.
    fn wake<'a>(&self, ids: impl IntoIterator<Item = &'a str>, source: WakeSource) {
        let mut woken = 0;
        {
            let registry = self.registry();
            for id in ids {
                if let Some(entry) = registry.entries.get(id) {
                    entry
                        .sender
                        .send_modify(|version| *version = version.wrapping_add(1));
                    woken += 1;
                }
            }
        }
        telemetry::qr_wakeups(source.as_str(), woken);
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
        let changed = watched.iter().filter_map(|(id, seen)| {
            let changed = match (current.get(id.as_str()), seen) {
                // Purged meanwhile: let the waiter find out.
                (None, _) => true,
                (Some(print), Some(seen)) => print != seen || print.2 <= now,
                (Some(_), None) => false,
            };
            changed.then_some(id.as_str())
        });
        self.wake(changed, WakeSource::Recheck);
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

/// Sends the queued ids of local transitions to the other instances until the engine is
/// dropped (its end of `queued` with it): each round takes everything queued and sends
/// it at once, so batches form while the previous message is on its way. A failed
/// message is logged and dropped: waiters elsewhere find the change by their re-check.
async fn announce_in_background(
    store: Arc<dyn Store>,
    tag: String,
    mut queued: mpsc::UnboundedReceiver<String>,
) {
    let mut ids = Vec::new();
    while queued.recv_many(&mut ids, ANNOUNCE_BATCH).await > 0 {
        for message in announcements(&tag, &ids) {
            match store.announce_qr_change(&message).await {
                Ok(()) => telemetry::qr_announcement(),
                Err(error) => tracing::warn!(%error, "announcing QR changes failed"),
            }
        }
        ids.clear();
    }
}

/// The messages announcing `ids` from engine `tag`: `"<tag> <id> <id> ..."`, each id once,
/// as few messages as fit in [`MAX_ANNOUNCEMENT`] bytes each (an id too long for any
/// message goes alone, and the store may refuse it).
fn announcements(tag: &str, ids: &[String]) -> Vec<String> {
    let mut messages = Vec::new();
    let mut seen = HashSet::with_capacity(ids.len());
    let mut message = String::new();
    for id in ids {
        if !seen.insert(id.as_str()) {
            continue;
        }
        if !message.is_empty() && message.len() + 1 + id.len() > MAX_ANNOUNCEMENT {
            messages.push(std::mem::take(&mut message));
        }
        if message.is_empty() {
            message.push_str(tag);
        }
        message.push(' ');
        message.push_str(id);
    }
    if !message.is_empty() {
        messages.push(message);
    }
    messages
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
        // `"<tag> <id> <id> ..."`; one id is the format of older instances too.
        let mut words = message.split(' ');
        if words.next().is_none_or(|from| from == tag) {
            continue;
        }
        watchers
            .upgrade()?
            .wake(words.filter(|id| !id.is_empty()), WakeSource::Announcement);
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

    /// A burst of transitions (`notify`, as each won transition calls it) on one engine
    /// wakes every waiter of another through a few announcements, each counted as such:
    /// the waiters here subscribe directly, so none can miss its wake-up by reading the
    /// row first. Against the real PostgreSQL server; the re-check (60 s) cannot be what
    /// wakes them.
    #[cfg(feature = "postgres")]
    #[tokio::test]
    #[allow(clippy::unwrap_used)]
    async fn a_burst_of_transitions_wakes_the_other_engine_in_few_messages() {
        use crate::store::PostgresStore;
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let metrics = recorder.handle();
        let _recording = metrics::set_default_local_recorder(&recorder);
        let count = |name: &str, labels: &str| {
            let series = format!("{name}{labels} ");
            metrics
                .render()
                .lines()
                .find_map(|line| line.strip_prefix(&series))
                .map_or(0, |value| value.trim().parse::<u64>().unwrap())
        };
        let wakeups =
            |source: &str| count(telemetry::QR_WAKEUPS, &format!("{{source=\"{source}\"}}"));
        let url = std::env::var("PASSKEY_MAGIC_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = format!("pm_watch_burst_{}", std::process::id());
        let engine = |store: PostgresStore| {
            Arc::new(Watchers::new(
                Arc::new(store),
                Arc::new(crate::clock::SystemClock),
                Duration::from_secs(60),
            ))
        };
        let desktops = engine(
            PostgresStore::connect_in_schema(&url, &schema)
                .await
                .unwrap(),
        );
        let phones = engine(
            PostgresStore::connect_in_schema(&url, &schema)
                .await
                .unwrap(),
        );

        // The first waiter starts the listener, whose first re-check wakes it (no such
        // row): from then on the desktops' engine is listening.
        desktops.subscribe("warm-up").changed().await;
        let (local, recheck) = (wakeups("local"), wakeups("recheck"));

        let ids: Vec<String> = (0..500).map(|n| format!("{n:043}")).collect();
        let mut waiters: Vec<Subscription> = ids.iter().map(|id| desktops.subscribe(id)).collect();
        for id in &ids {
            phones.notify(id);
        }
        for waiter in &mut waiters {
            waiter.changed().await;
        }
        assert_eq!(wakeups("announcement"), 500);
        assert_eq!((wakeups("local"), wakeups("recheck")), (local, recheck));
        // 500 ids of 43 bytes: 22 000 bytes, in messages of at most 7 000. A message is
        // counted once its `NOTIFY` returned, which may be after it was heard.
        let sent = |messages: u64| async move {
            while count(telemetry::QR_ANNOUNCEMENTS, "") < messages {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), sent(4))
            .await
            .unwrap();
        assert_eq!(count(telemetry::QR_ANNOUNCEMENTS, ""), 4);

        // A transition on the desktops' own engine is `local`; its own announcement,
        // heard before the next one from the phones' engine, wakes nothing.
        let mut waiter = desktops.subscribe("own");
        desktops.notify("own");
        waiter.changed().await;
        assert_eq!(wakeups("local"), local + 1);
        tokio::time::timeout(Duration::from_secs(10), sent(5))
            .await
            .unwrap();
        let mut sentinel = desktops.subscribe("sentinel");
        phones.notify("sentinel");
        sentinel.changed().await;
        assert_eq!(wakeups("announcement"), 501);
        assert_eq!(wakeups("local"), local + 1);

        drop((waiters, waiter, sentinel, desktops, phones));
        let mut connection = <sqlx::PgConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .execute(&mut connection)
            .await
            .unwrap();
    }

    fn ids(count: usize) -> Vec<String> {
        (0..count).map(|n| format!("qr-login-{n:05}")).collect()
    }

    #[test]
    fn announcements_carry_every_id_once_in_one_message() {
        let mut queued = ids(3);
        queued.push("qr-login-00001".to_owned());
        assert_eq!(
            announcements("tag", &queued),
            ["tag qr-login-00000 qr-login-00001 qr-login-00002"]
        );
        assert!(announcements("tag", &[]).is_empty());
    }

    #[test]
    fn long_announcements_are_split_below_the_notify_limit() {
        let queued = ids(2000);
        let messages = announcements("0123456789abcdef", &queued);
        assert!(messages.len() > 1, "{} bytes of ids", 2000 * 15);
        let mut heard = Vec::new();
        for message in &messages {
            assert!(message.len() <= MAX_ANNOUNCEMENT, "{}", message.len());
            let mut words = message.split(' ');
            assert_eq!(words.next(), Some("0123456789abcdef"));
            heard.extend(words.map(str::to_owned));
        }
        assert_eq!(heard, queued);
        // Only as many messages as needed: each but the last is nearly full.
        for message in &messages[..messages.len() - 1] {
            assert!(message.len() > MAX_ANNOUNCEMENT - 16, "{}", message.len());
        }
    }
}
