//! The SQLite store: the embedded default. One file on disk (or a private in-memory
//! database), WAL journal, schema created by the migrations in `server/migrations/sqlite`.
//!
//! # How calls run (why it is fast)
//!
//! SQLite is a library, not a server: a lookup by an indexed key takes microseconds, far
//! less than handing it to another thread and back. So the store calls SQLite directly
//! (rusqlite, statements prepared once per connection and cached):
//!
//! - **Reads run inline** on the calling task, on one of a few reader connections
//!   (one per core, each behind its own `std::sync::Mutex`, held only for the statement).
//!   In WAL mode a reader never waits for the writer, so a read never blocks for long.
//! - **Writes go through one writer connection**, also inline: SQLite allows one writer
//!   at a time anyway, and serialising writers in the process avoids the busy-wait
//!   back-off SQLite applies when connections contend for the write lock. Writes
//!   **commit in groups**: a write is queued, its caller steps behind the tasks already
//!   runnable on its worker thread (so that those requests queue their writes too), and
//!   the caller that finds the writer free runs everything queued meanwhile (up to 256
//!   writes) in one transaction, while the others wait for their result; what is queued
//!   by then is committed by a task of its own, a batch per turn, so no request's worker
//!   thread is held by others' writes. Under load many writes share one commit, yet no
//!   write waits for a timer or for another thread to be scheduled (on a busy machine
//!   that wake-up cost more than the write), and each caller gets its result only after
//!   the commit that made it durable.
//! - **Checkpoints run on their own thread** with their own connection (a round every
//!   200 ms), so no request pays for copying the WAL back into the database or for the
//!   fsyncs that come with it. A round ends by copying the last few frames while it holds
//!   the writer (writes queue meanwhile, a few milliseconds under full load), so that the
//!   next commit starts the WAL over: under a steady stream of writes SQLite never
//!   restarts it by itself, and it grew by every frame ever written (160 MB a second in
//!   the sign-in benchmark), on disk, in the page cache and in every read's WAL lookup.
//!   The file is cut back to 64 MiB when the log starts over after a burst.
//!
//! Blocking note: a write that has to wait for another *process* holding the database's
//! write lock (two servers on one file) waits on the calling runtime worker, up to the
//! 5 s busy timeout.
//!
//! An in-memory database (`sqlite::memory:`) exists only on its one connection, which
//! then serves reads and writes.
//!
//! # Durability
//!
//! `journal_mode=WAL` with `synchronous=NORMAL`: a commit is written to the WAL file
//! (the operating system's page cache) before the call returns, and the WAL is fsynced
//! only when it is checkpointed into the database. So:
//!
//! - **A crash or `kill -9` of the server loses nothing it acknowledged**: the kernel
//!   still writes the WAL out (proven by the `sqlite_survives_kill_9` test, which kills
//!   the real binary).
//! - **A power loss or kernel crash** may lose the transactions committed since the last
//!   checkpoint, which fsyncs the WAL: with the checkpoint thread running one every
//!   200 ms, about the last 200 ms of sign-ups, sessions and challenges (more if a long
//!   read kept a checkpoint from finishing). The database is never corrupted.
//!
//! # Atomicity
//!
//! Atomicity comes from SQLite, not from process locks: every change that must be atomic
//! is a single SQL statement (SQLite runs one writer at a time and a statement sees the
//! database as of its start), so the guarantees hold across processes sharing the file:
//!
//! - [`Store::take_challenge`](super::Store::take_challenge) is `DELETE … RETURNING`: exactly one caller gets the row;
//! - so is [`Store::take_magic_link`](super::Store::take_magic_link) (migration `0003_magic_links.sql`);
//! - the lock-out guards of [`Store::delete_credential`](super::Store::delete_credential) and [`Store::set_user_email`](super::Store::set_user_email) are
//!   `WHERE` conditions of the `DELETE`/`UPDATE` itself, not a check before it;
//! - emails are unique through a `UNIQUE` column holding their canonical form;
//! - deleting a user cascades to its credentials and sessions (`ON DELETE CASCADE`, with
//!   foreign keys switched on for every connection).
//! - QR transitions are `UPDATE … WHERE state IN (…) AND expires_at > now RETURNING …`:
//!   the compare and the set are one statement, so one racing request wins.

use super::sql::{corrupt, hash_from_bytes, queries, security_event_from_columns, uuid_from_bytes};
use super::{
    ChallengeRecord, CredentialRecord, CredentialUsage, EmailLinkRecord, Guarded, MagicLinkRecord,
    Purged, QrChange, QrSessionRecord, SecurityEventRecord, SessionRecord, StoreCause, StoreError,
    UserRecord,
};
use crate::qr::state::QrSessionState;
use crate::secrets::TokenHash;
use async_trait::async_trait;
use passkey_magic_shared::security_events::EventCursor;
use passkey_magic_shared::{AuthMethod, Metadata, Timestamp, email};
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OpenFlags, Row, ffi};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::time::Duration;

/// How long a statement waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Most reader connections of a database file (one per core, up to this).
const MAX_READERS: usize = 8;
/// Prepared statements kept per connection (the store has about 40 distinct ones).
const STATEMENT_CACHE: usize = 64;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Values per `IN (…)` list (SQLite allows 32 766 parameters; stay modest).
const LIST_BATCH: usize = 500;

/// Whether a credential exists and is the user's (after a refused guarded delete).
const CREDENTIAL_EXISTS: &str =
    "SELECT EXISTS (SELECT 1 FROM credentials WHERE id = $1 AND user_id = $2)";
/// Whether a user exists (after a refused guarded email change).
const USER_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)";

/// The names of the `$N` parameters, so binding needs no string formatting.
const PARAMETER_NAMES: [&str; 24] = [
    "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15",
    "$16", "$17", "$18", "$19", "$20", "$21", "$22", "$23", "$24",
];

/// A [`Store`](super::Store) in a SQLite database. Clones share the same connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Writes waiting for the writer connection, in arrival order.
    queue: Mutex<Vec<Job>>,
    /// The one writer connection; `None` once closed. Whoever holds this lock commits
    /// everything queued (see [`Inner::drain`]).
    writer: Mutex<Option<Connection>>,
    /// Reader connections of a database file; empty for an in-memory database (whose
    /// reads go to the writer: only its connection holds the data).
    readers: Vec<Mutex<Option<Connection>>>,
    /// Where the next read starts looking for a free reader.
    next_reader: AtomicUsize,
    /// Stops the checkpoint thread of a database file when dropped.
    checkpoints: Mutex<Option<Checkpoints>>,
    /// Checkpoint rounds completed (read by tests).
    checkpoint_rounds: std::sync::atomic::AtomicU64,
    /// Batches of writes run, one transaction each (read by tests).
    batches: std::sync::atomic::AtomicU64,
}

/// A write: runs on the writer connection and returns how to hand the result over once
/// the transaction it ran in has committed (`None`) or failed (`Some`).
type Job = Box<dyn FnOnce(&Connection) -> Delivery + Send>;
type Delivery = Box<dyn FnOnce(Option<&StoreError>) + Send>;

/// Most jobs committed by one transaction.
const MAX_BATCH: usize = 256;

impl Inner {
    fn new(writer: Connection, readers: Vec<Mutex<Option<Connection>>>) -> Self {
        Inner {
            queue: Mutex::new(Vec::new()),
            writer: Mutex::new(Some(writer)),
            readers,
            next_reader: AtomicUsize::new(0),
            checkpoints: Mutex::new(None),
            checkpoint_rounds: std::sync::atomic::AtomicU64::new(0),
            batches: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Group commit without a writer thread: the caller that finds the writer free
    /// becomes the committer and runs everything queued meanwhile (up to [`MAX_BATCH`]
    /// per transaction); what is queued after that is committed by a task of its own,
    /// one batch per turn, until the queue is empty; the others just wait for their result.
    /// Under load many writes share one commit, no write waits for a timer, and nobody
    /// waits for another thread to be scheduled (on a busy machine a wake-up costs more
    /// than the write). Each result is handed over only after the commit that made it
    /// durable.
    fn drain(self: &Arc<Self>) {
        loop {
            let writer = match self.writer.try_lock() {
                Ok(writer) => writer,
                Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                // The committer will find our job: it looks again after letting go.
                Err(std::sync::TryLockError::WouldBlock) => return,
            };
            let batch: Vec<Job> = {
                let mut queue = lock(&self.queue);
                let take = queue.len().min(MAX_BATCH);
                queue.drain(..take).collect()
            };
            match writer.as_ref() {
                Some(connection) => {
                    if !batch.is_empty() {
                        self.batches.fetch_add(1, Ordering::Relaxed);
                    }
                    run_batch(connection, batch);
                }
                // Closed: dropping a job drops its result channel (→ "closed").
                None => drop(batch),
            }
            drop(writer);
            // A job queued after our look, whose caller found the lock still taken, is
            // ours to run. One batch per turn, then the rest in a task of its own: under a
            // steady stream of writes the queue never empties, and a caller draining it in
            // a loop would hold its worker thread (and the tasks queued behind it there)
            // for seconds.
            if lock(&self.queue).is_empty() {
                return;
            }
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let inner = Arc::clone(self);
                runtime.spawn(async move { inner.drain() });
                return;
            }
        }
    }
}

/// The checkpoint thread: copies the WAL back into the database file off the request
/// path (the writer connection has automatic checkpoints switched off, so no commit
/// ever pays for an fsync). Runs a round (see [`Inner::checkpoint_round`]) every
/// [`CHECKPOINT_INTERVAL`] until stopped.
struct Checkpoints {
    stop: mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

/// How often the checkpoint thread copies the WAL back into the database.
const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(200);

/// The WAL's size on disk after a burst: once the log starts over, a longer file is
/// truncated to this (SQLite's `journal_size_limit`; by default it keeps its largest size).
const WAL_SIZE_LIMIT: i64 = 64 * 1024 * 1024;

impl Checkpoints {
    /// Starts the thread. It holds the store weakly (the store owns it) and enters
    /// `runtime`, if any, so that the writes it finds queued are handed on as a task.
    fn start(
        connection: Connection,
        store: std::sync::Weak<Inner>,
        runtime: Option<tokio::runtime::Handle>,
    ) -> Result<Self, StoreError> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("passkey-magic-sqlite-checkpoint".into())
            .spawn(move || {
                let _runtime = runtime.as_ref().map(tokio::runtime::Handle::enter);
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_INTERVAL)
                {
                    let Some(inner) = store.upgrade() else { break };
                    inner.checkpoint_round(&connection);
                }
                let _ = connection.execute_batch("PRAGMA wal_checkpoint(PASSIVE)");
            })
            .map_err(|error| StoreError::Internal(StoreCause::new(error)))?;
        Ok(Checkpoints { stop, thread })
    }

    fn stop(self) {
        drop(self.stop);
        let _ = self.thread.join();
    }
}

/// Catch-up passes of a checkpoint round before it holds writes up.
const MAX_CATCH_UP_PASSES: usize = 4;
/// A pass that copied fewer new frames than this has caught up (about 1 MB).
const CAUGHT_UP_FRAMES: i64 = 256;

/// A passive checkpoint: how many frames of the WAL have been copied into the database
/// (`None` if it failed).
fn passive_checkpoint(connection: &Connection) -> Option<i64> {
    connection
        .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(2))
        .ok()
}

impl Inner {
    /// One checkpoint round: copies the WAL into the database, then lets the log start
    /// over from its beginning.
    ///
    /// SQLite restarts the WAL only when a write begins while every frame in it has
    /// been checkpointed; under a steady stream of writes that moment never comes (new
    /// frames always arrive during the checkpoint), and the WAL grew without bound: by
    /// 160 MB a second in the sign-in benchmark, every byte of it written to fresh
    /// blocks that the kernel zeroes first. So the round first copies what is there
    /// without holding anyone up, then copies the few frames written meanwhile while it
    /// holds the writer connection's lock, so that no frame arrives before the next
    /// commit, which then writes from the start of the log again. Writes queued meanwhile
    /// are committed together afterwards (they found the lock taken and left their job
    /// to whoever holds it: here, this round).
    fn checkpoint_round(self: &Arc<Self>, connection: &Connection) {
        // Catch up without holding writes up: each pass copies what arrived during the
        // one before, until that is little (a busy database, with a long read or another
        // process, just checkpoints less this round).
        let mut copied_before = 0;
        for _ in 0..MAX_CATCH_UP_PASSES {
            let Some(copied) = passive_checkpoint(connection) else {
                break;
            };
            if copied.saturating_sub(copied_before) < CAUGHT_UP_FRAMES {
                break;
            }
            copied_before = copied;
        }
        {
            let writer = lock(&self.writer);
            if writer.is_none() {
                return;
            }
            passive_checkpoint(connection);
        }
        self.checkpoint_rounds.fetch_add(1, Ordering::Relaxed);
        self.drain();
    }
}

/// Runs `batch` in one transaction (a lone job in its own autocommit statement).
///
/// Each job is one or a few statements whose atomicity SQLite gives per statement; a
/// statement that fails on a constraint is undone alone and the others stay. If SQLite
/// rolls the whole transaction back (I/O error, disk full), every job of it gets that
/// error and the rest of the batch runs on its own.
fn run_batch(connection: &Connection, batch: Vec<Job>) {
    if batch.is_empty() {
        return;
    }
    if batch.len() == 1 || connection.execute_batch("BEGIN IMMEDIATE").is_err() {
        for job in batch {
            job(connection)(None);
        }
        return;
    }
    let mut pending: Vec<Delivery> = Vec::with_capacity(batch.len());
    let mut in_transaction = true;
    for job in batch {
        let delivery = job(connection);
        if !in_transaction {
            delivery(None);
        } else if connection.is_autocommit() {
            // SQLite rolled the transaction back: what ran in it is lost.
            in_transaction = false;
            let error = StoreError::Unavailable("the SQLite transaction was rolled back".into());
            for earlier in pending.drain(..) {
                earlier(Some(&error));
            }
            delivery(Some(&error));
        } else {
            pending.push(delivery);
        }
    }
    if !in_transaction {
        return;
    }
    match connection.execute_batch("COMMIT") {
        Ok(()) => {
            for delivery in pending {
                delivery(None);
            }
        }
        Err(error) => {
            let error = map_error(error);
            if !connection.is_autocommit() {
                let _ = connection.execute_batch("ROLLBACK");
            }
            for delivery in pending {
                delivery(Some(&error));
            }
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("readers", &self.inner.readers.len())
            .finish_non_exhaustive()
    }
}

/// A statement to run: its SQL and its values, owned so that it can move to the
/// blocking pool.
struct Statement {
    sql: Cow<'static, str>,
    values: Vec<Value>,
}

impl Statement {
    fn new(sql: impl Into<Cow<'static, str>>) -> Self {
        Statement {
            sql: sql.into(),
            values: Vec::new(),
        }
    }

    /// Binds the next `$N` parameter.
    fn bind(mut self, value: impl Into<Value>) -> Self {
        self.values.push(value.into());
        self
    }

    /// Binds an optional value (`NULL` for `None`).
    fn bind_opt<T: Into<Value>>(self, value: Option<T>) -> Self {
        self.bind(value.map_or(Value::Null, Into::into))
    }

    /// Binds a value as JSON text.
    fn bind_json<T: Serialize + ?Sized>(self, value: &T) -> Result<Self, StoreError> {
        let text = serde_json::to_string(value)
            .map_err(|error| StoreError::Internal(StoreCause::new(error)))?;
        Ok(self.bind(text))
    }

    /// Binds an optional value as JSON text (`NULL` for `None`).
    fn bind_json_opt<T: Serialize>(self, value: Option<&T>) -> Result<Self, StoreError> {
        match value {
            Some(value) => self.bind_json(value),
            None => Ok(self.bind(Value::Null)),
        }
    }

    /// Prepares (from the connection's cache) and binds the statement.
    fn prepare<'c>(
        &self,
        connection: &'c Connection,
    ) -> Result<rusqlite::CachedStatement<'c>, StoreError> {
        let mut statement = connection.prepare_cached(&self.sql).map_err(map_error)?;
        for (name, value) in PARAMETER_NAMES.iter().zip(&self.values) {
            if let Some(index) = statement.parameter_index(name).map_err(map_error)? {
                statement
                    .raw_bind_parameter(index, value)
                    .map_err(map_error)?;
            }
        }
        Ok(statement)
    }

    /// Runs it; how many rows it changed.
    fn execute(&self, connection: &Connection) -> Result<u64, StoreError> {
        let mut statement = self.prepare(connection)?;
        let changed = statement.raw_execute().map_err(map_error)?;
        Ok(changed as u64)
    }

    /// Runs it; its rows, decoded.
    fn rows<T>(
        &self,
        connection: &Connection,
        decode: fn(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut statement = self.prepare(connection)?;
        let mut rows = statement.raw_query();
        let mut found = Vec::new();
        while let Some(row) = rows.next().map_err(map_error)? {
            found.push(decode(row)?);
        }
        Ok(found)
    }

    /// Runs it; its first row, decoded (the statement still runs to completion).
    fn first<T>(
        &self,
        connection: &Connection,
        decode: fn(&Row<'_>) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        Ok(self.rows(connection, decode)?.into_iter().next())
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and brings its schema up to date.
    ///
    /// `url` is a SQLite URL: `sqlite://path/to/file.db` (relative to the working
    /// directory), `sqlite:///absolute/path.db`, or `sqlite::memory:` for a private
    /// in-memory database that lives as long as the store. Files are opened in WAL mode
    /// with `synchronous=NORMAL` (see the module docs for what that means on a crash or a
    /// power loss), foreign keys on and a 5 s busy timeout, with one writer connection and
    /// one reader connection per core.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the file cannot be opened or is locked;
    /// [`StoreError::Internal`] for a malformed URL or a failed migration (for example a
    /// database written by a newer version).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let target = Target::parse(url)?;
        let store = match target {
            Target::Memory => {
                let connection = Connection::open_in_memory().map_err(map_error)?;
                configure(&connection, false)?;
                migrate_in_place(&connection)?;
                Arc::new(Inner::new(connection, Vec::new()))
            }
            Target::File { path, create } => {
                if create {
                    create_private_file(&path)?;
                }
                // The schema is brought up to date by sqlx's migrator, so databases
                // created by earlier versions keep their migration history.
                migrate_file(&path, create).await?;
                let readers = std::thread::available_parallelism()
                    .map_or(2, std::num::NonZeroUsize::get)
                    .clamp(1, MAX_READERS);
                let (inner, checkpoint_connection) =
                    tokio::task::spawn_blocking(move || open_file(&path, readers))
                        .await
                        .map_err(|error| StoreError::Internal(StoreCause::new(error)))??;
                let inner = Arc::new(inner);
                let checkpoints = Checkpoints::start(
                    checkpoint_connection,
                    Arc::downgrade(&inner),
                    tokio::runtime::Handle::try_current().ok(),
                )?;
                *lock(&inner.checkpoints) = Some(checkpoints);
                inner
            }
        };
        Ok(SqliteStore { inner: store })
    }

    /// Closes every connection, waiting for calls in progress. Later calls fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        let inner = Arc::clone(&self.inner);
        let closing = tokio::task::spawn_blocking(move || {
            // Waits for a commit in progress; writes queued later fail as closed.
            drop(lock(&inner.writer).take());
            inner.drain();
            if let Some(checkpoints) = lock(&inner.checkpoints).take() {
                checkpoints.stop();
            }
            for reader in &inner.readers {
                drop(lock(reader).take());
            }
        });
        // A panic while closing leaves connections to be closed on drop.
        let _ = closing.await;
    }

    /// Runs a read inline on a free reader connection (on the writer thread for an
    /// in-memory database).
    async fn read<T: Send + 'static>(
        &self,
        run: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let readers = &self.inner.readers;
        if readers.is_empty() {
            return self.write(run).await;
        }
        let start = self.inner.next_reader.fetch_add(1, Ordering::Relaxed);
        for offset in 0..readers.len() {
            if let Ok(guard) = readers[(start + offset) % readers.len()].try_lock() {
                return with_connection(&guard, run);
            }
        }
        // Every reader is busy (more concurrent readers than cores): wait for one.
        with_connection(&lock(&readers[start % readers.len()]), run)
    }

    /// Runs a write on the writer connection; resolves once it is committed.
    async fn write<T: Send + 'static>(
        &self,
        run: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |connection| {
            let result = run(connection);
            Box::new(move |failed: Option<&StoreError>| {
                let _ = sender.send(match failed {
                    Some(error) => Err(error.clone()),
                    None => result,
                });
            })
        });
        lock(&self.inner.queue).push(job);
        // Let the tasks already runnable on this worker thread queue their writes first,
        // so that one commit carries them all: without this, each write found the writer
        // free and committed alone, three or more WAL frames (4 KiB each) apiece.
        // Measured (SQLite, 50 connections, alternating): ~25 % fewer bytes written per
        // `authenticate/options`, sign-ins 2 627–2 731 → 3 066–3 095 per second. It waits
        // for no timer, no I/O poll and no other thread. The guard commits also when the
        // caller is dropped meanwhile (a cancelled request), so a queued write never waits
        // for the next one.
        let commit = CommitOnDrop(&self.inner);
        YieldToRunnable { yielded: false }.await;
        drop(commit);
        receiver
            .await
            .map_err(|_| StoreError::Unavailable("the SQLite store is closed".into()))?
    }

    /// Runs a changing statement; how many rows it changed.
    async fn changed(&self, statement: Statement) -> Result<u64, StoreError> {
        self.write(move |connection| statement.execute(connection))
            .await
    }
}

/// Commits what is queued ([`Inner::drain`]) when dropped.
struct CommitOnDrop<'a>(&'a Arc<Inner>);

impl Drop for CommitOnDrop<'_> {
    fn drop(&mut self) {
        self.0.drain();
    }
}

/// Resolves on its second poll: it wakes its own task and returns `Pending` once, which
/// puts the task at the back of its worker's run queue, behind the tasks already
/// runnable there. Unlike `tokio::task::yield_now`, which waits until the worker has
/// also polled for I/O (measured: twice the QR completion delay at 10 phones, as each of
/// a login's writes waited for the whole next round of the event loop).
struct YieldToRunnable {
    yielded: bool,
}

impl std::future::Future for YieldToRunnable {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.yielded {
            return std::task::Poll::Ready(());
        }
        self.yielded = true;
        context.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

/// A lock on a connection slot. A poisoned lock only means a call panicked mid-statement;
/// SQLite rolled the statement back, so the connection is still usable.
fn lock<T>(slot: &Mutex<T>) -> MutexGuard<'_, T> {
    slot.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Runs `run` on the connection in the slot, or fails if the store was closed.
fn with_connection<T>(
    slot: &Option<Connection>,
    run: impl FnOnce(&Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    match slot {
        Some(connection) => run(connection),
        None => Err(StoreError::Unavailable("the SQLite store is closed".into())),
    }
}

/// What a URL names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    Memory,
    File {
        path: std::path::PathBuf,
        create: bool,
    },
}

impl Target {
    /// `sqlite://path`, `sqlite:path`, `sqlite::memory:`, with an optional `?mode=`
    /// (`rwc`, the default; `rw`; `memory`).
    fn parse(url: &str) -> Result<Target, StoreError> {
        let invalid = |why: &str| StoreError::Internal(format!("invalid SQLite URL: {why}").into());
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| invalid("it must start with sqlite:"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut create = true;
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            match pair.split_once('=') {
                Some(("mode", "memory")) => return Ok(Target::Memory),
                Some(("mode", "rwc")) => create = true,
                Some(("mode", "rw")) => create = false,
                _ => return Err(invalid("unsupported parameter (only mode=rwc|rw|memory)")),
            }
        }
        if path == ":memory:" {
            return Ok(Target::Memory);
        }
        if path.is_empty() {
            return Err(invalid("no path"));
        }
        Ok(Target::File {
            path: path.into(),
            create,
        })
    }
}

/// The per-connection settings.
fn configure(connection: &Connection, file: bool) -> Result<(), StoreError> {
    connection.busy_timeout(BUSY_TIMEOUT).map_err(map_error)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    if file {
        // WAL is a property of the file (set once, kept); NORMAL is per connection.
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(map_error)?;
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(map_error)?;
    }
    connection
        .pragma_update(None, "foreign_keys", true)
        .map_err(map_error)?;
    Ok(())
}

/// Brings a database file up to date with sqlx's migrator (one short-lived connection).
/// Creates a missing database file with mode 0600 before SQLite does (its default is 0644
/// less the umask): it holds session hashes, passkeys and emails. SQLite gives the `-wal`
/// and `-shm` files it creates the database file's mode.
fn create_private_file(path: &std::path::Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        // Already there (or created meanwhile): SQLite opens it as it is.
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(StoreError::Unavailable(StoreCause::new(error))),
    }
}

async fn migrate_file(path: &std::path::Path, create: bool) -> Result<(), StoreError> {
    use sqlx::Connection as _;
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(create)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .busy_timeout(BUSY_TIMEOUT)
        .foreign_keys(true);
    let mut connection = sqlx::sqlite::SqliteConnection::connect_with(&options)
        .await
        .map_err(map_sqlx_error)?;
    let migrated = MIGRATOR.run(&mut connection).await;
    let _ = connection.close().await;
    migrated.map_err(|error| match error {
        sqlx::migrate::MigrateError::Execute(error) => map_sqlx_error(error),
        other => StoreError::Internal(StoreCause::new(other)),
    })
}

/// Creates the schema of a fresh in-memory database from the same migrations.
fn migrate_in_place(connection: &Connection) -> Result<(), StoreError> {
    for migration in MIGRATOR.iter() {
        connection
            .execute_batch(&migration.sql)
            .map_err(map_error)?;
    }
    Ok(())
}

/// Opens the writer and `readers` reader connections of a migrated file.
/// Opens the writer and reader connections of a database file, and the checkpoint
/// thread's connection.
fn open_file(path: &std::path::Path, readers: usize) -> Result<(Inner, Connection), StoreError> {
    // Each connection is used by one thread at a time (behind its mutex).
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let open = || -> Result<Connection, StoreError> {
        let connection = Connection::open_with_flags(path, flags).map_err(map_error)?;
        configure(&connection, true)?;
        Ok(connection)
    };
    let writer = open()?;
    // Checkpoints run on their own thread and connection, never in a commit.
    writer
        .pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(map_error)?;
    // The writer truncates the log when it starts it over.
    writer
        .pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)
        .map_err(map_error)?;
    let readers = (0..readers)
        .map(|_| open().map(|connection| Mutex::new(Some(connection))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((Inner::new(writer, readers), open()?))
}

// ---- errors ----

/// Sorts a SQLite error into the [`StoreError`] a caller can act on.
fn map_error(error: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(code, message) = &error {
        match code.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                return StoreError::Conflict(conflict_field(message.as_deref().unwrap_or("")));
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                return StoreError::Internal("record for unknown user".into());
            }
            _ => {}
        }
        // Primary result codes (the low byte of the extended code) that mean "not now"
        // rather than "wrong": BUSY, LOCKED, IOERR, FULL, CANTOPEN.
        if matches!(code.extended_code & 0xff, 5 | 6 | 10 | 13 | 14) {
            return StoreError::Unavailable(StoreCause::new(error));
        }
    }
    StoreError::Internal(StoreCause::new(error))
}

/// Sorts an error of the migration connection (sqlx).
fn map_sqlx_error(error: sqlx::Error) -> StoreError {
    let retryable = match &error {
        sqlx::Error::Database(database) => database
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .is_some_and(|code| matches!(code & 0xff, 5 | 6 | 10 | 13 | 14)),
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        _ => false,
    };
    if retryable {
        StoreError::Unavailable(StoreCause::new(error))
    } else {
        StoreError::Internal(StoreCause::new(error))
    }
}

/// The field a `UNIQUE constraint failed: table.column` message is about.
fn conflict_field(message: &str) -> &'static str {
    let column = message
        .rsplit(": ")
        .next()
        .and_then(|columns| columns.split(", ").next())
        .and_then(|qualified| qualified.rsplit('.').next())
        .unwrap_or_default();
    match column {
        "email_key" => "email",
        "token_hash" => "token_hash",
        "user_handle" => "user_handle",
        _ => "id",
    }
}

// ---- decoding ----

fn column<T: rusqlite::types::FromSql>(row: &Row<'_>, name: &str) -> Result<T, StoreError> {
    row.get(name).map_err(|error| corrupt(name, error))
}

/// A JSON text column, parsed without copying the text.
fn json_column<T: DeserializeOwned>(row: &Row<'_>, name: &str) -> Result<T, StoreError> {
    json_column_opt(row, name)?.ok_or_else(|| corrupt(name, "NULL"))
}

fn json_column_opt<T: DeserializeOwned>(
    row: &Row<'_>,
    name: &str,
) -> Result<Option<T>, StoreError> {
    match row.get_ref(name).map_err(|error| corrupt(name, error))? {
        ValueRef::Null => Ok(None),
        ValueRef::Text(text) => serde_json::from_slice(text)
            .map(Some)
            .map_err(|error| corrupt(name, error)),
        _ => Err(corrupt(name, "not JSON text")),
    }
}

fn timestamp_column(row: &Row<'_>, name: &str) -> Result<Timestamp, StoreError> {
    column::<i64>(row, name).map(Timestamp::from_unix_millis)
}

fn user_from_row(row: &Row<'_>) -> Result<UserRecord, StoreError> {
    let handle: Vec<u8> = column(row, "user_handle")?;
    Ok(UserRecord {
        id: column(row, "id")?,
        email: column(row, "email")?,
        user_handle: uuid_from_bytes("user_handle", &handle)?,
        created_at: timestamp_column(row, "created_at")?,
        metadata: json_column_opt(row, "metadata")?,
    })
}

fn credential_from_row(row: &Row<'_>) -> Result<CredentialRecord, StoreError> {
    let counter: i64 = column(row, "counter")?;
    let aaguid: Option<Vec<u8>> = column(row, "aaguid")?;
    let last_used_at: Option<i64> = column(row, "last_used_at")?;
    Ok(CredentialRecord {
        id: column(row, "id")?,
        user_id: column(row, "user_id")?,
        passkey: json_column(row, "passkey")?,
        public_key: column(row, "public_key")?,
        counter: u32::try_from(counter).map_err(|error| corrupt("counter", error))?,
        backup_eligible: column(row, "backup_eligible")?,
        backed_up: column(row, "backed_up")?,
        transports: json_column(row, "transports")?,
        aaguid: aaguid
            .map(|bytes| uuid_from_bytes("aaguid", &bytes))
            .transpose()?,
        label: column(row, "label")?,
        created_at: timestamp_column(row, "created_at")?,
        last_used_at: last_used_at.map(Timestamp::from_unix_millis),
        metadata: json_column_opt(row, "metadata")?,
    })
}

fn session_from_row(row: &Row<'_>) -> Result<SessionRecord, StoreError> {
    let method = match row
        .get_ref("auth_method")
        .map_err(|error| corrupt("auth_method", error))?
    {
        ValueRef::Text(text) => text,
        _ => return Err(corrupt("auth_method", "not text")),
    };
    let auth_method = [AuthMethod::Passkey, AuthMethod::MagicLink, AuthMethod::Qr]
        .into_iter()
        .find(|known| known.as_str().as_bytes() == method)
        .ok_or_else(|| corrupt("auth_method", String::from_utf8_lossy(method)))?;
    Ok(SessionRecord {
        id: column(row, "id")?,
        token_hash: hash_from_bytes("token_hash", column(row, "token_hash")?)?,
        user_id: column(row, "user_id")?,
        auth_method,
        created_at: timestamp_column(row, "created_at")?,
        expires_at: timestamp_column(row, "expires_at")?,
        user_agent: column(row, "user_agent")?,
        ip_address: column(row, "ip_address")?,
        auth_context: json_column_opt(row, "auth_context")?,
    })
}

/// The user of a joined row (`joined_user_columns!`), whose id is `id`.
fn joined_user(row: &Row<'_>, id: &str) -> Result<UserRecord, StoreError> {
    let handle: Vec<u8> = column(row, "user_handle")?;
    Ok(UserRecord {
        id: id.to_owned(),
        email: column(row, "user_email")?,
        user_handle: uuid_from_bytes("user_handle", &handle)?,
        created_at: timestamp_column(row, "user_created_at")?,
        metadata: json_column_opt(row, "user_metadata")?,
    })
}

/// A row of `SESSION_WITH_USER`: the session's columns, then the user's.
fn session_with_user_from_row(row: &Row<'_>) -> Result<(SessionRecord, UserRecord), StoreError> {
    let session = session_from_row(row)?;
    let user = joined_user(row, &session.user_id)?;
    Ok((session, user))
}

/// A row of `CREDENTIAL_WITH_USER`: the credential's columns, then the user's.
fn credential_with_user_from_row(
    row: &Row<'_>,
) -> Result<(CredentialRecord, UserRecord), StoreError> {
    let credential = credential_from_row(row)?;
    let user = joined_user(row, &credential.user_id)?;
    Ok((credential, user))
}

fn qr_from_row(row: &Row<'_>) -> Result<QrSessionRecord, StoreError> {
    let state: String = column(row, "state")?;
    let attempts: i64 = column(row, "confirmation_attempts")?;
    let confirmation_hash: Option<Vec<u8>> = column(row, "confirmation_hash")?;
    let authenticated_at: Option<i64> = column(row, "authenticated_at")?;
    Ok(QrSessionRecord {
        id: column(row, "id")?,
        status_token_hash: hash_from_bytes("status_token_hash", column(row, "status_token_hash")?)?,
        confirmation_hash: confirmation_hash
            .map(|bytes| hash_from_bytes("confirmation_hash", bytes))
            .transpose()?,
        state: QrSessionState::from_name(&state).ok_or_else(|| corrupt("state", &state))?,
        confirmed: column(row, "confirmed")?,
        confirmation_attempts: u32::try_from(attempts)
            .map_err(|error| corrupt("confirmation_attempts", error))?,
        user_id: column(row, "user_id")?,
        session_id: column(row, "session_id")?,
        authenticated_at: authenticated_at.map(Timestamp::from_unix_millis),
        created_at: timestamp_column(row, "created_at")?,
        expires_at: timestamp_column(row, "expires_at")?,
    })
}

fn security_event_from_row(row: &Row<'_>) -> Result<SecurityEventRecord, StoreError> {
    security_event_from_columns(
        |name| column::<Option<String>>(row, name),
        column(row, "created_at")?,
    )
}

fn attempts_from_row(row: &Row<'_>) -> Result<i64, StoreError> {
    column(row, "confirmation_attempts")
}

fn exists_from_row(row: &Row<'_>) -> Result<bool, StoreError> {
    row.get(0).map_err(|error| corrupt("exists", error))
}

/// What a take (`DELETE … RETURNING`) of a challenge hands back.
fn challenge_parts_from_row(row: &Row<'_>) -> Result<(Timestamp, super::Ceremony), StoreError> {
    Ok((
        timestamp_column(row, "expires_at")?,
        json_column(row, "ceremony")?,
    ))
}

/// What a take of a magic link hands back: expiry, email, creation.
fn magic_link_parts_from_row(row: &Row<'_>) -> Result<(Timestamp, String, Timestamp), StoreError> {
    Ok((
        timestamp_column(row, "expires_at")?,
        column(row, "email")?,
        timestamp_column(row, "created_at")?,
    ))
}

/// What a take of a pending email link hands back: expiry, user, email, creation.
fn email_link_parts_from_row(
    row: &Row<'_>,
) -> Result<(Timestamp, String, String, Timestamp), StoreError> {
    Ok((
        timestamp_column(row, "expires_at")?,
        column(row, "user_id")?,
        column(row, "email")?,
        timestamp_column(row, "created_at")?,
    ))
}

/// `IN ($first, $first+1, …)` for `count` values.
fn list_condition(first: usize, count: usize) -> String {
    let placeholders: Vec<String> = (first..first + count)
        .map(|index| format!("${index}"))
        .collect();
    format!("IN ({})", placeholders.join(", "))
}

fn bytes(hash: &TokenHash) -> Value {
    Value::Blob(hash.as_bytes().to_vec())
}

#[async_trait]
impl super::Store for SqliteStore {
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        let statement = Statement::new(queries::INSERT_USER)
            .bind(user.id.clone())
            .bind_opt(user.email.clone())
            .bind_opt(user.email.as_deref().map(email::canonical))
            .bind(user.user_handle.as_bytes().to_vec())
            .bind(user.created_at.as_unix_millis())
            .bind_json_opt(user.metadata.as_ref())?;
        self.changed(statement).await?;
        Ok(())
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        let statement = Statement::new(queries::USER_BY_ID).bind(id.to_owned());
        self.read(move |connection| statement.first(connection, user_from_row))
            .await
    }

    async fn user_by_email(&self, address: &str) -> Result<Option<UserRecord>, StoreError> {
        let statement = Statement::new(queries::USER_BY_EMAIL).bind(email::canonical(address));
        self.read(move |connection| statement.first(connection, user_from_row))
            .await
    }

    async fn set_user_email(
        &self,
        id: &str,
        new_email: Option<&str>,
    ) -> Result<Guarded, StoreError> {
        let statement = match new_email {
            // The UNIQUE email_key column refuses another user's address.
            Some(address) => Statement::new(queries::SET_USER_EMAIL)
                .bind(id.to_owned())
                .bind(address.to_owned())
                .bind(email::canonical(address)),
            // Clearing is guarded in the same statement: only while a passkey remains.
            None => Statement::new(format!(
                "{} AND EXISTS (SELECT 1 FROM credentials WHERE user_id = $1)",
                queries::CLEAR_USER_EMAIL
            ))
            .bind(id.to_owned()),
        };
        let clearing = new_email.is_none();
        let exists = Statement::new(USER_EXISTS).bind(id.to_owned());
        self.write(move |connection| {
            if statement.execute(connection)? > 0 {
                return Ok(Guarded::Done);
            }
            // Nothing changed: tell a missing user from a refused change.
            let user_exists = exists.first(connection, exists_from_row)?.unwrap_or(false);
            Ok(if clearing && user_exists {
                Guarded::WouldLockOut
            } else {
                Guarded::NotFound
            })
        })
        .await
    }

    async fn set_user_metadata(
        &self,
        id: &str,
        metadata: Option<&Metadata>,
    ) -> Result<bool, StoreError> {
        let statement = Statement::new(queries::SET_USER_METADATA)
            .bind(id.to_owned())
            .bind_json_opt(metadata)?;
        Ok(self.changed(statement).await? > 0)
    }

    async fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
        let statement = Statement::new(queries::DELETE_USER).bind(id.to_owned());
        Ok(self.changed(statement).await? > 0)
    }

    async fn create_credential(&self, credential: &CredentialRecord) -> Result<(), StoreError> {
        let statement = Statement::new(queries::INSERT_CREDENTIAL)
            .bind(credential.id.clone())
            .bind(credential.user_id.clone())
            .bind_json(&credential.passkey)?
            .bind(credential.public_key.clone())
            .bind(i64::from(credential.counter))
            .bind(credential.backup_eligible)
            .bind(credential.backed_up)
            .bind_json(&credential.transports)?
            .bind_opt(credential.aaguid.map(|id| id.as_bytes().to_vec()))
            .bind_opt(credential.label.clone())
            .bind(credential.created_at.as_unix_millis())
            .bind_opt(credential.last_used_at.map(Timestamp::as_unix_millis))
            .bind_json_opt(credential.metadata.as_ref())?;
        self.changed(statement).await?;
        Ok(())
    }

    async fn credential_by_id(&self, id: &str) -> Result<Option<CredentialRecord>, StoreError> {
        let statement = Statement::new(queries::CREDENTIAL_BY_ID).bind(id.to_owned());
        self.read(move |connection| statement.first(connection, credential_from_row))
            .await
    }

    async fn credential_with_user(
        &self,
        id: &str,
    ) -> Result<Option<(CredentialRecord, UserRecord)>, StoreError> {
        let statement = Statement::new(queries::CREDENTIAL_WITH_USER).bind(id.to_owned());
        self.read(move |connection| statement.first(connection, credential_with_user_from_row))
            .await
    }

    async fn credentials_for_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        let statement = Statement::new(queries::CREDENTIALS_FOR_USER).bind(user_id.to_owned());
        self.read(move |connection| statement.rows(connection, credential_from_row))
            .await
    }

    async fn record_credential_use(&self, usage: &CredentialUsage) -> Result<bool, StoreError> {
        let statement = Statement::new(queries::RECORD_CREDENTIAL_USE)
            .bind(usage.id.clone())
            .bind_json(&usage.passkey)?
            .bind(i64::from(usage.counter))
            .bind(usage.backed_up)
            .bind(usage.used_at.as_unix_millis());
        Ok(self.changed(statement).await? > 0)
    }

    async fn update_credential(
        &self,
        user_id: &str,
        id: &str,
        label: Option<&str>,
        metadata: Option<&Metadata>,
    ) -> Result<bool, StoreError> {
        let statement = Statement::new(queries::UPDATE_CREDENTIAL)
            .bind(id.to_owned())
            .bind(user_id.to_owned())
            .bind_opt(label.map(str::to_owned))
            .bind_json_opt(metadata)?;
        Ok(self.changed(statement).await? > 0)
    }

    async fn delete_credential(&self, user_id: &str, id: &str) -> Result<Guarded, StoreError> {
        // The lock-out guard is part of the DELETE, so two racing deletes of a user's last
        // two passkeys cannot both pass it.
        let guarded = Statement::new(format!(
            "{} AND (EXISTS (SELECT 1 FROM users WHERE id = $2 AND email IS NOT NULL) \
             OR EXISTS (SELECT 1 FROM credentials WHERE user_id = $2 AND id <> $1))",
            queries::DELETE_CREDENTIAL
        ))
        .bind(id.to_owned())
        .bind(user_id.to_owned());
        let exists = Statement::new(CREDENTIAL_EXISTS)
            .bind(id.to_owned())
            .bind(user_id.to_owned());
        self.write(move |connection| {
            if guarded.execute(connection)? > 0 {
                return Ok(Guarded::Done);
            }
            // Nothing deleted: tell a missing (or someone else's) credential from a
            // refusal.
            let mine = exists.first(connection, exists_from_row)?.unwrap_or(false);
            Ok(if mine {
                Guarded::WouldLockOut
            } else {
                Guarded::NotFound
            })
        })
        .await
    }

    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        let statement = Statement::new(queries::INSERT_SESSION)
            .bind(session.id.clone())
            .bind(bytes(&session.token_hash))
            .bind(session.user_id.clone())
            .bind(session.auth_method.as_str().to_owned())
            .bind(session.created_at.as_unix_millis())
            .bind(session.expires_at.as_unix_millis())
            .bind_opt(session.user_agent.clone())
            .bind_opt(session.ip_address.clone())
            .bind_json_opt(session.auth_context.as_ref())?;
        self.changed(statement).await?;
        Ok(())
    }

    async fn session_by_token_hash(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let statement = Statement::new(queries::SESSION_BY_TOKEN_HASH)
            .bind(bytes(token_hash))
            .bind(now.as_unix_millis());
        self.read(move |connection| statement.first(connection, session_from_row))
            .await
    }

    async fn session_with_user(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<(SessionRecord, UserRecord)>, StoreError> {
        let statement = Statement::new(queries::SESSION_WITH_USER)
            .bind(bytes(token_hash))
            .bind(now.as_unix_millis());
        self.read(move |connection| statement.first(connection, session_with_user_from_row))
            .await
    }

    async fn sessions_for_user(
        &self,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        let statement = Statement::new(queries::SESSIONS_FOR_USER)
            .bind(user_id.to_owned())
            .bind(now.as_unix_millis());
        self.read(move |connection| statement.rows(connection, session_from_row))
            .await
    }

    async fn delete_session(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        let statement = Statement::new(queries::DELETE_SESSION)
            .bind(id.to_owned())
            .bind(user_id.to_owned());
        Ok(self.changed(statement).await? > 0)
    }

    async fn delete_sessions_for_user(&self, user_id: &str) -> Result<u64, StoreError> {
        let statement = Statement::new(queries::DELETE_SESSIONS_FOR_USER).bind(user_id.to_owned());
        self.changed(statement).await
    }

    async fn create_qr_session(&self, qr: &QrSessionRecord) -> Result<(), StoreError> {
        let statement = Statement::new(queries::INSERT_QR)
            .bind(qr.id.clone())
            .bind(bytes(&qr.status_token_hash))
            .bind_opt(qr.confirmation_hash.as_ref().map(bytes))
            .bind(qr.state.as_str().to_owned())
            .bind(qr.confirmed)
            .bind(i64::from(qr.confirmation_attempts))
            .bind_opt(qr.user_id.clone())
            .bind_opt(qr.session_id.clone())
            .bind_opt(qr.authenticated_at.map(Timestamp::as_unix_millis))
            .bind(qr.created_at.as_unix_millis())
            .bind(qr.expires_at.as_unix_millis());
        self.changed(statement).await?;
        Ok(())
    }

    async fn qr_session_by_id(&self, id: &str) -> Result<Option<QrSessionRecord>, StoreError> {
        let statement = Statement::new(queries::QR_BY_ID).bind(id.to_owned());
        self.read(move |connection| statement.first(connection, qr_from_row))
            .await
    }

    async fn qr_sessions_by_ids(&self, ids: &[String]) -> Result<Vec<QrSessionRecord>, StoreError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(LIST_BATCH) {
            let sql = format!("{}{}", queries::QR_WHERE_ID, list_condition(1, chunk.len()));
            // More values than named parameters: bind this list by position (`$1…` in
            // order is `?1…`).
            let statement = Statement {
                sql: sql.into(),
                values: chunk.iter().map(|id| Value::Text(id.clone())).collect(),
            };
            found.extend(
                self.read(move |connection| bind_all_rows(&statement, connection))
                    .await?,
            );
        }
        Ok(found)
    }

    async fn transition_qr_session(
        &self,
        id: &str,
        change: &QrChange,
        now: Timestamp,
    ) -> Result<Option<QrSessionRecord>, StoreError> {
        let from = change.transition.from;
        if from.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "{}{}{}",
            queries::TRANSITION_QR_WHERE_STATE,
            list_condition(9, from.len()),
            queries::QR_RETURNING
        );
        let mut statement = Statement::new(sql)
            .bind(id.to_owned())
            .bind(now.as_unix_millis())
            .bind(change.transition.to.as_str().to_owned())
            .bind(change.confirm)
            .bind_opt(change.user_id.clone())
            .bind_opt(change.session_id.clone())
            .bind_opt(change.authenticated_at.map(Timestamp::as_unix_millis))
            .bind_opt(change.expires_at.map(Timestamp::as_unix_millis));
        for state in from {
            statement = statement.bind(state.as_str().to_owned());
        }
        self.write(move |connection| statement.first(connection, qr_from_row))
            .await
    }

    async fn count_qr_confirmation_attempt(
        &self,
        id: &str,
        states: &[QrSessionState],
        max_attempts: u32,
        now: Timestamp,
    ) -> Result<Option<u32>, StoreError> {
        if states.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "{}{}{}",
            queries::COUNT_ATTEMPT_WHERE_STATE,
            list_condition(4, states.len()),
            queries::ATTEMPTS_RETURNING
        );
        let mut statement = Statement::new(sql)
            .bind(id.to_owned())
            .bind(now.as_unix_millis())
            .bind(i64::from(max_attempts));
        for state in states {
            statement = statement.bind(state.as_str().to_owned());
        }
        let attempts = self
            .write(move |connection| statement.first(connection, attempts_from_row))
            .await?;
        attempts
            .map(|attempts| {
                u32::try_from(attempts).map_err(|error| corrupt("confirmation_attempts", error))
            })
            .transpose()
    }

    async fn put_challenge(&self, challenge: &ChallengeRecord) -> Result<(), StoreError> {
        let statement = Statement::new(queries::PUT_CHALLENGE)
            .bind(challenge.challenge.clone())
            .bind_json(&challenge.ceremony)?
            .bind(challenge.expires_at.as_unix_millis());
        self.changed(statement).await?;
        Ok(())
    }

    async fn take_challenge(
        &self,
        challenge: &str,
        now: Timestamp,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        let statement = Statement::new(queries::TAKE_CHALLENGE).bind(challenge.to_owned());
        let taken = self
            .write(move |connection| statement.first(connection, challenge_parts_from_row))
            .await?;
        // An expired row is removed too, but handed to nobody.
        Ok(taken
            .filter(|(expires_at, _)| *expires_at > now)
            .map(|(expires_at, ceremony)| ChallengeRecord {
                challenge: challenge.to_owned(),
                ceremony,
                expires_at,
            }))
    }

    async fn put_magic_link(&self, link: &MagicLinkRecord) -> Result<(), StoreError> {
        let statement = Statement::new(queries::PUT_MAGIC_LINK)
            .bind(bytes(&link.token_hash))
            .bind(link.email.clone())
            .bind(link.created_at.as_unix_millis())
            .bind(link.expires_at.as_unix_millis());
        self.changed(statement).await?;
        Ok(())
    }

    async fn take_magic_link(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<MagicLinkRecord>, StoreError> {
        let statement = Statement::new(queries::TAKE_MAGIC_LINK).bind(bytes(token_hash));
        let taken = self
            .write(move |connection| statement.first(connection, magic_link_parts_from_row))
            .await?;
        Ok(taken.filter(|(expires_at, _, _)| *expires_at > now).map(
            |(expires_at, email, created_at)| MagicLinkRecord {
                token_hash: *token_hash,
                email,
                created_at,
                expires_at,
            },
        ))
    }

    async fn delete_magic_link(&self, token_hash: &TokenHash) -> Result<bool, StoreError> {
        let statement = Statement::new(queries::DELETE_MAGIC_LINK).bind(bytes(token_hash));
        Ok(self.changed(statement).await? > 0)
    }

    async fn put_email_link(&self, link: &EmailLinkRecord) -> Result<(), StoreError> {
        let statement = Statement::new(queries::PUT_EMAIL_LINK)
            .bind(bytes(&link.token_hash))
            .bind(link.user_id.clone())
            .bind(link.email.clone())
            .bind(link.created_at.as_unix_millis())
            .bind(link.expires_at.as_unix_millis());
        self.changed(statement).await?;
        Ok(())
    }

    async fn take_email_link(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<EmailLinkRecord>, StoreError> {
        let statement = Statement::new(queries::TAKE_EMAIL_LINK).bind(bytes(token_hash));
        let taken = self
            .write(move |connection| statement.first(connection, email_link_parts_from_row))
            .await?;
        // An expired row is removed too, but handed to nobody.
        Ok(taken.filter(|(expires_at, ..)| *expires_at > now).map(
            |(expires_at, user_id, email, created_at)| EmailLinkRecord {
                token_hash: *token_hash,
                user_id,
                email,
                created_at,
                expires_at,
            },
        ))
    }

    async fn append_security_event(&self, record: &SecurityEventRecord) -> Result<(), StoreError> {
        let event = &record.event;
        // A write like any other: under load it shares a group commit with others.
        let statement = Statement::new(queries::INSERT_SECURITY_EVENT)
            .bind(event.id.clone())
            .bind(record.user_id.clone())
            .bind(event.kind.as_str().to_owned())
            .bind(event.created_at.as_unix_millis())
            .bind_opt(event.method.map(|method| method.as_str().to_owned()))
            .bind_opt(event.reason.map(|reason| reason.as_str().to_owned()))
            .bind_opt(event.ip_address.clone())
            .bind_opt(event.user_agent.clone())
            .bind_opt(event.credential_id.clone())
            .bind_opt(event.session_id.clone());
        self.changed(statement).await?;
        Ok(())
    }

    async fn security_events_for_user(
        &self,
        user_id: &str,
        after: Option<&EventCursor>,
        limit: usize,
    ) -> Result<Vec<SecurityEventRecord>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let statement = match after {
            None => Statement::new(queries::SECURITY_EVENTS_FOR_USER)
                .bind(user_id.to_owned())
                .bind(limit),
            Some(cursor) => Statement::new(queries::SECURITY_EVENTS_FOR_USER_AFTER)
                .bind(user_id.to_owned())
                .bind(limit)
                .bind(cursor.created_at.as_unix_millis())
                .bind(cursor.id.clone()),
        };
        self.read(move |connection| statement.rows(connection, security_event_from_row))
            .await
    }

    async fn purge_security_events(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        let statement =
            Statement::new(queries::PURGE_SECURITY_EVENTS).bind(cutoff.as_unix_millis());
        self.changed(statement).await
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<Purged, StoreError> {
        let expired_qr = Statement::new(queries::PURGE_EXPIRED_QR).bind(now.as_unix_millis());
        let statements: Vec<Statement> = queries::PURGE
            .iter()
            .map(|sql| Statement::new(*sql).bind(now.as_unix_millis()))
            .collect();
        self.write(move |connection| {
            let expired_qr_logins = expired_qr.execute(connection)?;
            let mut rows = expired_qr_logins;
            for statement in &statements {
                rows += statement.execute(connection)?;
            }
            Ok(Purged {
                rows,
                expired_qr_logins,
            })
        })
        .await
    }
}

/// Runs a statement with any number of values, bound by position.
fn bind_all_rows(
    statement: &Statement,
    connection: &Connection,
) -> Result<Vec<QrSessionRecord>, StoreError> {
    let mut prepared = connection
        .prepare_cached(&statement.sql)
        .map_err(map_error)?;
    for (index, value) in statement.values.iter().enumerate() {
        prepared
            .raw_bind_parameter(index + 1, value)
            .map_err(map_error)?;
    }
    let mut rows = prepared.raw_query();
    let mut found = Vec::new();
    while let Some(row) = rows.next().map_err(map_error)? {
        found.push(qr_from_row(row)?);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn unique_violations_name_the_field() {
        assert_eq!(
            conflict_field("UNIQUE constraint failed: users.email_key"),
            "email"
        );
        assert_eq!(conflict_field("UNIQUE constraint failed: users.id"), "id");
        assert_eq!(
            conflict_field("UNIQUE constraint failed: sessions.token_hash"),
            "token_hash"
        );
    }

    #[test]
    fn urls_are_parsed() {
        assert_eq!(Target::parse("sqlite::memory:"), Ok(Target::Memory));
        assert_eq!(
            Target::parse("sqlite://x.db?mode=memory"),
            Ok(Target::Memory)
        );
        assert_eq!(
            Target::parse("sqlite://x.db?mode=rwc"),
            Ok(Target::File {
                path: "x.db".into(),
                create: true
            })
        );
        assert_eq!(
            Target::parse("sqlite:///var/lib/auth.db?mode=rw"),
            Ok(Target::File {
                path: "/var/lib/auth.db".into(),
                create: false
            })
        );
        assert!(Target::parse("postgres://x").is_err());
        assert!(Target::parse("sqlite://x.db?cache=shared").is_err());
        assert!(Target::parse("sqlite://").is_err());
    }

    #[test]
    fn later_parameters_bind_by_their_number() {
        // `$3` appears before `$1`: SQLite numbers named parameters by first appearance,
        // so binding must go by name.
        let connection = Connection::open_in_memory().unwrap();
        let statement = Statement::new("SELECT $3 || $1 || $2")
            .bind("a".to_owned())
            .bind("b".to_owned())
            .bind("c".to_owned());
        let text = statement
            .first(&connection, |row| {
                row.get::<_, String>(0).map_err(|e| corrupt("x", e))
            })
            .unwrap();
        assert_eq!(text.as_deref(), Some("cab"));
    }

    #[tokio::test]
    async fn in_memory_database_keeps_its_data_between_calls() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let user = UserRecord {
            id: "u-1".into(),
            email: Some("Ada@Example.com".into()),
            user_handle: uuid::Uuid::from_u128(1),
            created_at: Timestamp::from_unix_millis(1),
            metadata: None,
        };
        store.create_user(&user).await.unwrap();
        assert_eq!(store.user_by_email("ada@example.com").await, Ok(Some(user)));
    }

    /// A directory of its own for one test's database files, removed when dropped.
    struct ScratchDir(std::path::PathBuf);

    impl ScratchDir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("pm-sqlite-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            ScratchDir(dir)
        }

        /// The URL of the database file `file` in it.
        fn url(&self, file: &str) -> String {
            format!("sqlite://{}", self.0.join(file).display())
        }
    }

    impl Drop for ScratchDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn numbered_user(n: u128) -> UserRecord {
        UserRecord {
            id: format!("u-{n}"),
            email: Some(format!("user-{}@example.com", n % 50)),
            user_handle: uuid::Uuid::from_u128(n),
            created_at: Timestamp::from_unix_millis(1),
            metadata: None,
        }
    }

    /// A database the store creates, and the WAL files SQLite adds, are readable by
    /// their owner only (they hold session hashes, passkeys and emails).
    #[tokio::test]
    #[cfg(unix)]
    async fn a_new_database_and_its_journal_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = ScratchDir::new("mode");
        let path = dir.0.join("private.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        store.create_user(&numbered_user(1)).await.unwrap();
        for suffix in ["", "-wal", "-shm"] {
            let file = dir.0.join(format!("private.db{suffix}"));
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} has mode {mode:o}", file.display());
        }
        store.close().await;
    }

    /// Many writes at once share commits; one refused by a constraint (a taken email)
    /// fails alone, and every acknowledged write is there afterwards.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn group_commits_keep_each_write_on_its_own() {
        let dir = ScratchDir::new("group");
        let url = dir.url("group.db");
        let store = SqliteStore::connect(&url).await.unwrap();
        // 200 users over 50 emails: 50 succeed, 150 conflict on the email.
        let tasks: Vec<_> = (0..200u128)
            .map(|n| {
                let store = store.clone();
                tokio::spawn(async move { store.create_user(&numbered_user(n)).await })
            })
            .collect();
        let mut created = Vec::new();
        for (n, task) in tasks.into_iter().enumerate() {
            match task.await.unwrap() {
                Ok(()) => created.push(n),
                Err(error) => assert_eq!(error, StoreError::Conflict("email")),
            }
        }
        assert_eq!(created.len(), 50);
        store.close().await;
        let reopened = SqliteStore::connect(&url).await.unwrap();
        for n in created {
            assert!(
                reopened
                    .user_by_id(&format!("u-{n}"))
                    .await
                    .unwrap()
                    .is_some()
            );
        }
        reopened.close().await;
    }

    /// Writes started together by tasks of one worker thread share one transaction: each
    /// caller steps behind the runnable tasks before committing, so the others queue
    /// theirs first. Without that step each found the writer free and committed alone.
    #[tokio::test]
    async fn writes_ready_together_share_one_commit() {
        let dir = ScratchDir::new("batch");
        let store = SqliteStore::connect(&dir.url("batch.db")).await.unwrap();
        let before = store.inner.batches.load(Ordering::Relaxed);
        let mut writes = tokio::task::JoinSet::new();
        for n in 0..32u128 {
            let store = store.clone();
            writes.spawn(async move {
                let mut user = numbered_user(n);
                user.email = None;
                store.create_user(&user).await
            });
        }
        while let Some(written) = writes.join_next().await {
            written.unwrap().unwrap();
        }
        let batches = store.inner.batches.load(Ordering::Relaxed) - before;
        assert!(batches <= 2, "32 writes took {batches} transactions");
        for n in 0..32u128 {
            assert!(store.user_by_id(&format!("u-{n}")).await.unwrap().is_some());
        }
        store.close().await;
    }

    /// A write whose caller is dropped while it steps aside (a cancelled request) is
    /// committed at once, not left queued until another write or checkpoint comes.
    #[tokio::test]
    async fn a_dropped_write_is_still_committed() {
        let dir = ScratchDir::new("drop");
        let store = SqliteStore::connect(&dir.url("drop.db")).await.unwrap();
        let user = numbered_user(7);
        let mut write = Box::pin(store.create_user(&user));
        let first =
            std::future::poll_fn(|context| std::task::Poll::Ready(write.as_mut().poll(context)))
                .await;
        assert!(
            first.is_pending(),
            "the write steps aside before committing"
        );
        drop(write);
        assert!(store.user_by_id("u-7").await.unwrap().is_some());
        store.close().await;
    }

    /// Under a steady stream of writes, with reads beside them, the WAL starts over after
    /// each checkpoint round instead of growing by every frame ever written (SQLite
    /// restarts it only when a write begins with every frame checkpointed, which a
    /// stream of writes never leaves time for). The file keeps the size of its longest
    /// round; without the restarts it grows with the run: by the tenth round about five
    /// times its size at the second.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_starts_over_under_a_steady_stream_of_writes() {
        use std::sync::atomic::AtomicBool;
        let dir = ScratchDir::new("wal");
        let path = dir.0.join("stream.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let writes = {
            let (store, stop) = (store.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                let mut n = 0u128;
                while !stop.load(Ordering::Relaxed) {
                    let mut user = numbered_user(n);
                    user.email = None;
                    store.create_user(&user).await.unwrap();
                    store.delete_user(&user.id).await.unwrap();
                    n += 1;
                }
                n
            })
        };
        let reads = {
            let (store, stop) = (store.clone(), Arc::clone(&stop));
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    store.user_by_id("u-0").await.unwrap();
                    tokio::task::yield_now().await;
                }
            })
        };
        let wal = dir.0.join("stream.db-wal");
        let wal_after_round = |round: u64| {
            let (store, wal) = (store.clone(), wal.clone());
            async move {
                while store.inner.checkpoint_rounds.load(Ordering::Relaxed) < round {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                std::fs::metadata(&wal).unwrap().len()
            }
        };
        let second = wal_after_round(2).await;
        let tenth = wal_after_round(10).await;
        stop.store(true, Ordering::Relaxed);
        let written = writes.await.unwrap();
        reads.await.unwrap();
        store.close().await;
        assert!(written > 0);
        assert!(
            tenth < 3 * second,
            "the WAL grew from {second} bytes at the second checkpoint round to {tenth} at the tenth ({written} users written)"
        );
    }

    #[tokio::test]
    async fn a_closed_store_is_unavailable() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        store.close().await;
        assert!(matches!(
            store.user_by_id("u-1").await,
            Err(StoreError::Unavailable(_))
        ));
        assert!(matches!(
            store.delete_user("u-1").await,
            Err(StoreError::Unavailable(_))
        ));
    }

    #[tokio::test]
    async fn backend_errors_are_kept_as_the_source() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let user = UserRecord {
            id: "u-1".into(),
            email: None,
            user_handle: uuid::Uuid::from_u128(1),
            created_at: Timestamp::from_unix_millis(1),
            metadata: None,
        };
        store.create_user(&user).await.unwrap();
        // SQLite's own error is kept as the cause.
        let error = store
            .write(|connection| {
                Statement::new("INSERT INTO nowhere VALUES (1)").execute(connection)
            })
            .await
            .unwrap_err();
        let source = std::error::Error::source(&error).expect("a source");
        assert!(source.to_string().contains("no such table"), "{source}");
        assert_eq!(error.to_string(), "storage error");
    }
}
