//! The PostgreSQL store: for production and for several stateless instances sharing one
//! database. Schema from the migrations in `server/migrations/postgres`, run on connect.
//!
//! Atomicity comes from PostgreSQL, so the guarantees hold across instances:
//!
//! - [`Store::take_challenge`](super::Store::take_challenge) is `DELETE … RETURNING`: of racing takers, one gets the
//!   row and the others find it gone;
//! - emails are unique through a `UNIQUE` column holding their canonical form;
//! - the lock-out guards of [`Store::delete_credential`](super::Store::delete_credential) and [`Store::set_user_email`](super::Store::set_user_email)
//!   run in a transaction that first locks the user's row (`SELECT … FOR UPDATE`), so
//!   changes to one user's ways in are serialised — under READ COMMITTED a single
//!   guarded `DELETE` would let two racing deletes both see the other credential;
//! - deleting a user cascades to its credentials and sessions (`ON DELETE CASCADE`).
//!
//! # Connections
//!
//! Single statements (nearly every call) run on connections from a [deadpool] pool, not
//! sqlx's: sqlx's pool pings every connection as it comes back, one more round trip to
//! the database per statement (`GET /session` went from 10–16 k to 16–20 k req/s on the
//! benchmark machine: `docs/BENCHMARKS.md`). A statement cut short (its request dropped) leaves nothing behind: sqlx reads
//! what is still due on the connection before its next statement. A connection that
//! failed is dropped, not reused. The guarded transactions, the QR listener and the
//! migrations use a small sqlx pool, whose ping on release also flushes the rollback of a
//! transaction cut short (it holds row locks).
//!
//! The most frequent statements run in batches: challenges (one per
//! `authenticate/options` or `register/options`) and sign-ins' sessions with their
//! events are inserted, and sessions (one per authenticated request, with their user)
//! and QR logins (one per desktop's status poll) looked up, by one statement for
//! everything of its kind queued while the previous one ran, in a task of its own (a
//! cancelled request never cancels the others' statement). Under load that cut the
//! database's CPU per options, session and QR status request by two thirds or more and
//! raised their rates by 55–100 %, and sign-ins by 15–20 % (`docs/BENCHMARKS.md`).

use super::batch::{self, Batch, Queued, Shift};
use super::sql::queries;
use super::sql::{record_decoders, sql_store};
use super::{
    ChallengeRecord, CredentialRecord, CredentialUsage, EmailLinkRecord, Guarded, MagicLinkRecord,
    Purged, QrChange, QrSessionRecord, SessionRecord, StoreCause, StoreError, UserRecord,
};
use crate::qr::state::QrSessionState;
use crate::secrets::TokenHash;
use passkey_magic_shared::{AuthMethod, Metadata, Timestamp, email};
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Connection as _, Decode, PgConnection, Postgres, Row, Type};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// How long a call waits for a free pooled connection before giving up (→ 503).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Statements running longer than this are cancelled by the server.
const STATEMENT_TIMEOUT_MS: &str = "10000";
/// Statement connections per instance when not set: deadpool's default, 4 per core
/// (the server's share of the work per statement is CPU; the rest is waiting on the
/// database, which a few connections per core cover on a nearby one).
fn default_max_connections() -> usize {
    4 * std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}
/// Connections of the sqlx pool per instance (transactions, the QR listener, migrations).
const MAX_POOL_CONNECTIONS: u32 = 4;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// One array parameter holds any number of values: one statement per list.
const LIST_BATCH: usize = usize::MAX;

/// [`queries::RECORD_CREDENTIAL_USE`], committed without waiting for the WAL flush
/// (`synchronous_commit` off for this statement's transaction only, which is what
/// `set_config(…, true)` scopes it to). The session a sign-in then creates waits for
/// its own flush, and the WAL reaches disk in order, so a session handed out has the
/// counter update before it on disk too. A PostgreSQL crash can lose only an update
/// that no session followed (a hook's veto, a failed write): the stored counter is then
/// behind the authenticator's, which the next sign-in accepts. One flush wait less per
/// sign-in: sign-ins queue on the WAL flushes (with every commit asynchronous, an
/// experiment, 964–1 092 → 1 567–1 643 sign-ins/s); this alone, 964–1 047 →
/// 1 096–1 138 (`docs/BENCHMARKS.md`).
const RECORD_CREDENTIAL_USE: &str = concat!(
    "WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true)) ",
    queries::record_credential_use!(),
    " AND EXISTS (SELECT 1 FROM async_commit)"
);

/// [`queries::INSERT_SECURITY_EVENT`], committed without waiting for the WAL flush:
/// for a sign-in's event, which the session written right after it covers (see
/// `create_session_with_event`).
const INSERT_SECURITY_EVENT_UNFLUSHED: &str = concat!(
    "WITH async_commit AS (SELECT set_config('synchronous_commit', 'off', true)) ",
    "INSERT INTO security_events (",
    queries::security_event_columns!(),
    ") SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE EXISTS (SELECT 1 FROM async_commit)"
);

/// A sign-in's event and its session in one statement: one round trip and one commit,
/// whose WAL flush covers both. `$1`–`$9` the session, `$10`–`$19` the event.
const INSERT_SESSION_WITH_EVENT: &str = concat!(
    "WITH event AS (INSERT INTO security_events (",
    queries::security_event_columns!(),
    ") VALUES ($10, $11, $12, $13, $14, $15, $16, $17, $18, $19)) INSERT INTO sessions (",
    queries::session_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
);

/// A batch of sign-ins' sessions with their events: one array per column (`$1`–`$9`
/// the sessions', `$10`–`$19` the events', in `INSERT_SESSION_WITH_EVENT`'s order),
/// one element per sign-in; one statement and one commit for all of them.
const INSERT_SESSIONS_WITH_EVENTS: &str = concat!(
    "WITH batch AS (SELECT * FROM unnest(\
     $1::text[], $2::bytea[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::text[], \
     $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::int8[], \
     $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[]\
     ) AS b (s_id, s_token_hash, s_user_id, s_auth_method, s_created_at, s_expires_at, \
     s_user_agent, s_ip_address, s_auth_context, e_id, e_user_id, e_type, e_created_at, \
     e_method, e_reason, e_ip_address, e_user_agent, e_credential_id, e_session_id)), \
     event AS (INSERT INTO security_events (",
    queries::security_event_columns!(),
    ") SELECT e_id, e_user_id, e_type, e_created_at, e_method, e_reason, e_ip_address, \
     e_user_agent, e_credential_id, e_session_id FROM batch) INSERT INTO sessions (",
    queries::session_columns!(),
    ") SELECT s_id, s_token_hash, s_user_id, s_auth_method, s_created_at, s_expires_at, \
     s_user_agent, s_ip_address, s_auth_context::jsonb FROM batch"
);

/// A sign-in's challenge taken (`$1`) and its passkey read with its user (`$2`): one
/// row, whose challenge columns are `NULL` when there was none to take and whose
/// passkey columns are `NULL` when the passkey or its user is unknown.
const TAKE_CHALLENGE_AND_CREDENTIAL: &str = concat!(
    "WITH taken AS (DELETE FROM challenges WHERE challenge = $1 RETURNING ceremony, expires_at) ",
    "SELECT taken.ceremony, taken.expires_at, found.* FROM (SELECT 1) AS one ",
    "LEFT JOIN taken ON TRUE LEFT JOIN (",
    queries::credential_with_user!("$2"),
    ") AS found ON TRUE"
);

/// Whether a user has a passkey.
const HAS_CREDENTIAL: &str = "SELECT EXISTS (SELECT 1 FROM credentials WHERE user_id = $1)";
/// Locks a user's row for the rest of the transaction (PostgreSQL only).
const LOCK_USER: &str = "SELECT email FROM users WHERE id = $1 FOR UPDATE";
/// A user's credentials: whether one is this one, and how many there are.
const CREDENTIAL_AND_COUNT: &str = "SELECT \
     EXISTS (SELECT 1 FROM credentials WHERE id = $1 AND user_id = $2) AS mine, \
     (SELECT COUNT(*) FROM credentials WHERE user_id = $2) AS total";

/// A [`Store`](super::Store) in a PostgreSQL database. Clones share the same connection
/// pool, and the same connection for announcing QR changes.
#[derive(Clone)]
pub struct PostgresStore {
    /// Where single statements run.
    connections: Connections,
    /// Transactions, the QR listener and the migrations.
    pool: PgPool,
    /// The `NOTIFY` channel of QR changes: one per schema, since channels are
    /// database-wide.
    qr_channel: String,
    /// The connection QR changes are announced on, outside the pool: a `NOTIFY` must not
    /// queue for a pooled connection behind the requests of a busy instance (it is what
    /// answers the desktops of the others). Opened on first use, dropped on error and
    /// opened again by the next announcement. Tokio's mutex, since the connection is
    /// used across `.await`; only the engine's one announcer task takes it.
    announcer: Arc<tokio::sync::Mutex<Option<PgConnection>>>,
    /// Challenges waiting to be inserted together (see `put_challenge`).
    challenges: Arc<Batch<QueuedChallenge>>,
    /// Session lookups waiting to be answered together (see `session_with_user`).
    sessions: Arc<SessionLookups>,
    /// QR session lookups waiting to be answered together (see `qr_session_by_id`).
    qr_sessions: Arc<Batch<String, Option<QrSessionRecord>>>,
    /// Sign-ins' sessions and events waiting to be written together (see
    /// `create_session_with_event`).
    sign_ins: Arc<Batch<QueuedSignIn, WrittenPair>>,
}

/// A sign-in's session and event waiting for their batch.
type QueuedSignIn = (SessionRecord, super::SecurityEventRecord);
/// What writing a session and its event did to each.
type WrittenPair = (Result<(), StoreError>, Result<(), StoreError>);

/// Binds a batch of lookups' keys to their statement.
type BindLookups<K, R> = for<'q> fn(DbQuery<'q>, &'q [Queued<K, Option<R>>]) -> DbQuery<'q>;

/// Session lookups (a token hash and its caller's clock) waiting for their batch.
type SessionLookups = Batch<SessionLookup, SessionFound>;
/// A session lookup: a token hash and its caller's clock.
type SessionLookup = (TokenHash, Timestamp);
/// A live session with its user, if any.
type SessionFound = Option<(SessionRecord, UserRecord)>;

/// A challenge waiting for its batch: the row's three columns, the ceremony already
/// serialised (a failure to serialise is its own caller's, not the batch's).
struct QueuedChallenge {
    challenge: String,
    ceremony: String,
    expires_at: i64,
}

/// Most lookups answered by one statement.
const MAX_LOOKUP_BATCH: usize = 256;
/// Lookup batches of one kind in flight at once. At 50 connections one is fastest
/// (`GET /session` 35–38 k req/s against 31–35 k for two and 26–29 k for four), but with
/// one a few concurrent requests wait on each other's round trip: at 4 connections one
/// task gave 9.4–10.4 k against 12.1–16.2 k for a statement per request, two 13.9 k.
const LOOKUP_TASKS: usize = 2;

/// A batch of session lookups (`GET /session`, every authenticated call): each token
/// hash (`$1`) with its caller's clock (`$2`), numbered `n` from 1 in their order.
const SESSIONS_WITH_USERS: &str = concat!(
    "SELECT q.n, ",
    queries::session_with_user_columns!(),
    " FROM unnest($1::bytea[], $2::int8[]) WITH ORDINALITY AS q (token_hash, now, n) \
     JOIN sessions s ON s.token_hash = q.token_hash AND s.expires_at > q.now \
     JOIN users u ON u.id = s.user_id"
);

/// A batch of QR session lookups by id (`GET /qr/{id}/status`, polled by every
/// waiting desktop), numbered `n` from 1 in their order.
const QR_SESSIONS_BY_ID: &str = concat!(
    "SELECT q.n, ",
    queries::qr_columns!(),
    " FROM unnest($1::text[]) WITH ORDINALITY AS q (key, n) \
     JOIN qr_sessions ON qr_sessions.id = q.key"
);

/// Most writes (challenges, sign-ins) made by one statement.
const MAX_WRITE_BATCH: usize = 256;
/// Write batches of one kind in flight at once: while one statement runs, the next
/// batch gathers, and a second may already go (one slow commit does not hold every
/// sign-in up). One and two measured alike for challenges on a nearby database.
const WRITE_TASKS: usize = 2;

/// Every challenge of a batch in one statement (the arrays hold one value per row).
/// Within a batch a challenge appears once (`insert_queued_challenges` keeps the last).
const PUT_CHALLENGES: &str = "INSERT INTO challenges (challenge, ceremony, expires_at) \
     SELECT challenge, ceremony::jsonb, expires_at \
     FROM unnest($1::text[], $2::text[], $3::int8[]) AS batch (challenge, ceremony, expires_at) \
     ON CONFLICT (challenge) DO UPDATE \
     SET ceremony = excluded.ceremony, expires_at = excluded.expires_at";

/// Without the connection options, which hold the password.
impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("qr_channel", &self.qr_channel)
            .field("statement_connections", &self.connections.status())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:5432/database`) and brings the
    /// schema up to date. [`PostgresStore::builder`] sets a schema or the number of
    /// connections.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the server cannot be reached;
    /// [`StoreError::Internal`] for a malformed URL or a failed migration.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::builder(url).connect().await
    }

    /// Like [`PostgresStore::connect`], with every table in the schema `schema` (created
    /// if missing): several deployments or test runs can share one database.
    ///
    /// # Errors
    /// As [`PostgresStore::connect`]; [`StoreError::Internal`] for a schema name that is
    /// not `[A-Za-z_][A-Za-z0-9_]*`.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        Self::builder(url).schema(schema).connect().await
    }

    /// A store at `url` with settings beyond the URL:
    ///
    /// ```no_run
    /// # async fn open() -> Result<(), passkey_magic_server::store::StoreError> {
    /// use passkey_magic_server::store::PostgresStore;
    /// let store = PostgresStore::builder("postgres://auth@db.internal/auth")
    ///     .schema("tenant_a")
    ///     .max_connections(24)
    ///     .connect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn builder(url: &str) -> PostgresStoreBuilder {
        PostgresStoreBuilder {
            url: url.to_owned(),
            schema: None,
            max_connections: None,
        }
    }

    async fn open(
        url: &str,
        schema: Option<&str>,
        max_connections: usize,
    ) -> Result<Self, StoreError> {
        let base = PgConnectOptions::from_str(url).map_err(|error| {
            StoreError::Internal(format!("invalid PostgreSQL URL: {error}").into())
        })?;
        if let Some(schema) = schema {
            let admin = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(base.clone())
                .await
                .map_err(map_error)?;
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
                .execute(&admin)
                .await
                .map_err(map_error)?;
            admin.close().await;
        }
        let mut options = vec![("statement_timeout", STATEMENT_TIMEOUT_MS.to_owned())];
        if let Some(schema) = schema {
            options.push(("search_path", format!("\"{schema}\"")));
        }
        let options = base.options(options);
        let pool = PgPoolOptions::new()
            .max_connections(MAX_POOL_CONNECTIONS)
            // sqlx pings every connection when it is returned to the pool anyway; a
            // second ping before each use would be one more round trip per query. A
            // connection that died while idle fails its query (503) and is dropped.
            .test_before_acquire(false)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options.clone())
            .await
            .map_err(map_error)?;
        Self::migrate(&pool).await?;
        let connections = Connections::builder(Connector { options })
            .max_size(max_connections)
            .wait_timeout(Some(ACQUIRE_TIMEOUT))
            .create_timeout(Some(ACQUIRE_TIMEOUT))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|error| StoreError::Internal(StoreCause::new(error)))?;
        // At most 63 bytes, PostgreSQL's identifier limit (schema names are ASCII); two
        // long schema names sharing a prefix only share wake-ups, which are harmless.
        let mut qr_channel = format!("pm_qr_{}", schema.unwrap_or("public"));
        qr_channel.truncate(63);
        Ok(Self {
            connections,
            pool,
            qr_channel,
            announcer: Arc::default(),
            challenges: Arc::new(Batch::new(WRITE_TASKS)),
            sessions: Arc::new(Batch::new(LOOKUP_TASKS)),
            qr_sessions: Arc::new(Batch::new(LOOKUP_TASKS)),
            sign_ins: Arc::new(Batch::new(WRITE_TASKS)),
        })
    }

    /// `NOTIFY`s `message` on the announcer's connection, opening one if there is none.
    /// A kept connection that fails (the server may have closed it while idle) is
    /// replaced and the message sent once more on the new one.
    async fn notify_qr_change(&self, message: &str) -> Result<(), StoreError> {
        let mut announcer = self.announcer.lock().await;
        loop {
            let fresh = announcer.is_none();
            let connection = match &mut *announcer {
                Some(connection) => connection,
                None => announcer.insert(
                    tokio::time::timeout(
                        ACQUIRE_TIMEOUT,
                        PgConnection::connect_with(&self.pool.connect_options()),
                    )
                    .await
                    .map_err(|_| StoreError::Unavailable("PostgreSQL: connect timed out".into()))?
                    .map_err(map_error)?,
                ),
            };
            // A connection lost without a reset (a dead peer) would otherwise hang the
            // announcer until TCP gives up.
            let sent = tokio::time::timeout(
                ACQUIRE_TIMEOUT,
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(&self.qr_channel)
                    .bind(message)
                    .execute(&mut *connection),
            )
            .await;
            let error = match sent {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(error)) => map_error(error),
                Err(_) => StoreError::Unavailable("PostgreSQL: NOTIFY timed out".into()),
            };
            *announcer = None;
            if fresh {
                return Err(error);
            }
        }
    }
}

/// Settings of a [`PostgresStore`] beyond its URL; from [`PostgresStore::builder`].
#[derive(Clone)]
#[must_use = "a builder does nothing until `connect` is called"]
pub struct PostgresStoreBuilder {
    url: String,
    schema: Option<String>,
    max_connections: Option<usize>,
}

/// Without the URL, which may hold a password.
impl std::fmt::Debug for PostgresStoreBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStoreBuilder")
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl PostgresStoreBuilder {
    /// Keep every table in the schema `schema` (created if missing), so several
    /// deployments or test runs can share one database. Default: the connection's
    /// `search_path`, usually `public`.
    pub fn schema(mut self, schema: &str) -> Self {
        self.schema = Some(schema.to_owned());
        self
    }

    /// At most `connections` connections for single statements (nearly every call),
    /// plus up to 5 more for guarded transactions, the QR listener and QR announcements.
    /// Default: 4 per CPU core. More help when the database is far away (each waits one
    /// round trip per statement); fewer when it shares this machine's cores.
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.max_connections = Some(connections);
        self
    }

    /// Connects and brings the schema up to date.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the server cannot be reached;
    /// [`StoreError::Internal`] for a malformed URL, a schema name that is not
    /// `[A-Za-z_][A-Za-z0-9_]*`, zero connections, or a failed migration.
    pub async fn connect(self) -> Result<PostgresStore, StoreError> {
        if let Some(schema) = &self.schema {
            let valid = schema
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && schema
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid || schema.len() > 63 {
                return Err(StoreError::Internal(
                    format!("invalid schema name {schema:?}").into(),
                ));
            }
        }
        let max_connections = self.max_connections.unwrap_or_else(default_max_connections);
        if max_connections == 0 {
            return Err(StoreError::Internal(
                "a PostgreSQL store needs at least one connection".into(),
            ));
        }
        PostgresStore::open(&self.url, self.schema.as_deref(), max_connections).await
    }
}

// ---- statement connections ----

/// The pool single statements run on (see the module docs).
type Connections = deadpool::managed::Pool<Connector>;
/// A connection of [`Connections`], back in the pool when dropped.
type Pooled = deadpool::managed::Object<Connector>;

/// Opens the connections of [`Connections`].
struct Connector {
    options: PgConnectOptions,
}

/// Without the options, which hold the password.
impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector").finish_non_exhaustive()
    }
}

impl deadpool::managed::Manager for Connector {
    type Type = PgConnection;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<PgConnection, sqlx::Error> {
        PgConnection::connect_with(&self.options).await
    }

    /// Nothing to check: a connection that failed is dropped by [`kept_if_healthy`],
    /// and one that died while idle fails its next statement (503) and is dropped then.
    async fn recycle(
        &self,
        _: &mut PgConnection,
        _: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<sqlx::Error> {
        Ok(())
    }
}

impl PostgresStore {
    /// A statement connection: an idle one, or a new one while fewer than the pool's
    /// maximum are open.
    async fn connection(&self) -> Result<Pooled, StoreError> {
        use deadpool::managed::PoolError;
        self.connections.get().await.map_err(|error| match error {
            PoolError::Backend(error) => map_error(error),
            PoolError::Timeout(_) => {
                StoreError::Unavailable("PostgreSQL: no connection free in time".into())
            }
            PoolError::Closed => StoreError::Unavailable("PostgreSQL: the store is closed".into()),
            other => StoreError::Unavailable(StoreCause::new(other)),
        })
    }
}

/// `result` of a statement run on `connection`; a connection whose statement failed
/// in a way that may have left it unusable (I/O, protocol, the server going away) is
/// dropped instead of going back to the pool.
fn kept_if_healthy<T>(connection: Pooled, result: Result<T, sqlx::Error>) -> Result<T, StoreError> {
    result.map_err(|error| {
        let broken = match &error {
            sqlx::Error::Database(database) => database.code().is_some_and(|c| connection_lost(&c)),
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
            _ => false,
        };
        if broken {
            drop(deadpool::managed::Object::take(connection));
        }
        map_error(error)
    })
}

// ---- errors ----

/// Sorts a sqlx error into the [`StoreError`] a caller can act on.
fn map_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(database) => {
            let code = database.code().unwrap_or_default().into_owned();
            match code.as_str() {
                "23505" => StoreError::Conflict(conflict_field(database.constraint())),
                "23503" => StoreError::Internal("record for unknown user".into()),
                // Connection exceptions, shutdowns, too many connections, cannot connect.
                // Also a statement cancelled by `statement_timeout` (57014) and a lost
                // deadlock or serialization race (40P01, 40001): an overloaded database,
                // worth a retry, not a bug (503, not 500).
                c if connection_lost(c) || matches!(c, "53300" | "57014" | "40P01" | "40001") => {
                    StoreError::Unavailable(StoreCause::new(error))
                }
                _ => StoreError::Internal(StoreCause::new(error)),
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(StoreCause::new(error)),
        _ => StoreError::Internal(StoreCause::new(error)),
    }
}

/// Whether an SQLSTATE says the connection is gone: a connection exception (`08…`) or
/// an operator intervention ending the session (`57P…`: shutdown, crash, database
/// dropped, idle-session timeout).
fn connection_lost(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("57P")
}

/// The field a unique constraint (`users_email_key_key`, ...) is about.
fn conflict_field(constraint: Option<&str>) -> &'static str {
    match constraint.unwrap_or_default() {
        "users_email_key_key" => "email",
        "sessions_token_hash_key" | "magic_links_pkey" | "email_links_pkey" => "token_hash",
        "users_user_handle_key" => "user_handle",
        _ => "id",
    }
}

record_decoders!(PgRow, Postgres);

type DbPool = PgPool;
type DbQuery<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;
type DbRow = PgRow;

/// `= ANY($first)`: one array parameter for the whole list.
fn list_condition(first: usize, _count: usize) -> String {
    format!("= ANY(${first})")
}

/// Binds a list as one `text[]` parameter.
fn bind_list<'q>(query: DbQuery<'q>, values: Vec<&'q str>) -> DbQuery<'q> {
    query.bind(values)
}

/// The rows of a batched lookup by their `n` (1 to `count`): one slot per call, `None`
/// where nothing was found.
fn number_rows(rows: &[PgRow], count: usize) -> Result<Vec<Option<&PgRow>>, StoreError> {
    let mut slots = vec![None; count];
    for row in rows {
        let n: i64 = column(row, "n")?;
        let slot = usize::try_from(n - 1)
            .ok()
            .and_then(|index| slots.get_mut(index))
            .ok_or_else(|| StoreError::Internal(format!("batch row {n} of {count}").into()))?;
        *slot = Some(row);
    }
    Ok(slots)
}

/// `INSERT_SESSIONS_WITH_EVENTS` with a batch's columns bound, one array each.
fn bind_sign_ins<R>(
    batch: &[Queued<(SessionRecord, super::SecurityEventRecord), R>],
) -> Result<DbQuery<'_>, StoreError> {
    fn column<'a, T, R>(
        batch: &'a [Queued<(SessionRecord, super::SecurityEventRecord), R>],
        value: impl Fn(&'a SessionRecord, &'a super::SecurityEventRecord) -> T,
    ) -> Vec<T> {
        batch
            .iter()
            .map(|((session, event), _)| value(session, event))
            .collect()
    }
    let auth_contexts = batch
        .iter()
        .map(|((session, _), _)| {
            session
                .auth_context
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| StoreError::Internal(StoreCause::new(error)))?;
    Ok(sqlx::query(INSERT_SESSIONS_WITH_EVENTS)
        .bind(column(batch, |s, _| s.id.as_str()))
        .bind(column(batch, |s, _| s.token_hash.as_bytes().as_slice()))
        .bind(column(batch, |s, _| s.user_id.as_str()))
        .bind(column(batch, |s, _| s.auth_method.as_str()))
        .bind(column(batch, |s, _| s.created_at.as_unix_millis()))
        .bind(column(batch, |s, _| s.expires_at.as_unix_millis()))
        .bind(column(batch, |s, _| s.user_agent.as_deref()))
        .bind(column(batch, |s, _| s.ip_address.as_deref()))
        .bind(auth_contexts)
        .bind(column(batch, |_, e| e.event.id.as_str()))
        .bind(column(batch, |_, e| e.user_id.as_str()))
        .bind(column(batch, |_, e| e.event.kind.as_str()))
        .bind(column(batch, |_, e| e.event.created_at.as_unix_millis()))
        .bind(column(batch, |_, e| e.event.method.map(AuthMethod::as_str)))
        .bind(column(batch, |_, e| {
            e.event.reason.map(|reason| reason.as_str())
        }))
        .bind(column(batch, |_, e| e.event.ip_address.as_deref()))
        .bind(column(batch, |_, e| e.event.user_agent.as_deref()))
        .bind(column(batch, |_, e| e.event.credential_id.as_deref()))
        .bind(column(batch, |_, e| e.event.session_id.as_deref())))
}

/// Ends a transaction that changed nothing: roll back now, so the row lock is released
/// before the connection goes back to the pool (a dropped transaction only queues it).
async fn finish(
    transaction: sqlx::Transaction<'_, Postgres>,
    outcome: Guarded,
) -> Result<Guarded, StoreError> {
    transaction.rollback().await.map_err(map_error)?;
    Ok(outcome)
}

impl PostgresStore {
    /// Queues `item` in `batch` and waits for its result; if fewer than the most tasks
    /// run `batch`, starts `run` as one more.
    async fn queue<T, R, Task>(
        &self,
        batch: &Arc<Batch<T, R>>,
        item: T,
        run: fn(Self, Shift<T, R>) -> Task,
    ) -> Result<R, StoreError>
    where
        Task: std::future::Future<Output = ()> + Send + 'static,
    {
        let (result, shift) = batch.push(item);
        if let Some(shift) = shift {
            tokio::spawn(run(self.clone(), shift));
        }
        batch::result(result).await
    }

    /// The challenge writer task: inserts what is queued, a batch per statement, until
    /// the queue is empty.
    async fn insert_queued_challenges(self, mut shift: Shift<QueuedChallenge, ()>) {
        while let Some(batch) = shift.next(MAX_WRITE_BATCH) {
            // A challenge put twice keeps its last value, as two statements in turn would
            // (one `INSERT … ON CONFLICT` may not touch a row twice).
            let mut seen = std::collections::HashSet::with_capacity(batch.len());
            let rows: Vec<&QueuedChallenge> = batch
                .iter()
                .rev()
                .map(|(queued, _)| queued)
                .filter(|queued| seen.insert(queued.challenge.as_str()))
                .collect();
            let query = sqlx::query(PUT_CHALLENGES)
                .bind(
                    rows.iter()
                        .map(|row| row.challenge.as_str())
                        .collect::<Vec<_>>(),
                )
                .bind(
                    rows.iter()
                        .map(|row| row.ceremony.as_str())
                        .collect::<Vec<_>>(),
                )
                .bind(rows.iter().map(|row| row.expires_at).collect::<Vec<_>>());
            let result = self.changed(query).await.map(drop);
            batch::deliver(batch, &result);
        }
    }

    /// A lookup task: answers what is queued in `lookups`, a batch per `statement`
    /// (whose rows carry `n`, the number of the call they answer, from 1), until the
    /// queue is empty.
    async fn answer_queued<K, R>(
        &self,
        mut lookups: Shift<K, Option<R>>,
        statement: &'static str,
        bind: BindLookups<K, R>,
        decode: fn(&PgRow) -> Result<R, StoreError>,
    ) where
        R: Clone,
    {
        while let Some(batch) = lookups.next(MAX_LOOKUP_BATCH) {
            let rows = self.rows(bind(sqlx::query(statement), &batch)).await;
            let found = match &rows {
                Ok(rows) => number_rows(rows, batch.len()),
                Err(error) => Err(error.clone()),
            };
            let found = match found {
                Ok(found) => found,
                Err(error) => {
                    batch::deliver(batch, &Err(error));
                    continue;
                }
            };
            for ((_, reply), row) in batch.into_iter().zip(found) {
                // A row that does not decode fails its own lookup only.
                let _ = reply.send(row.map(decode).transpose());
            }
        }
    }

    /// The session lookup task (`SESSIONS_WITH_USERS`).
    async fn look_up_queued_sessions(self, shift: Shift<SessionLookup, SessionFound>) {
        self.answer_queued(
            shift,
            SESSIONS_WITH_USERS,
            |query, batch| {
                let hashes = batch
                    .iter()
                    .map(|((hash, _), _)| hash.as_bytes().as_slice());
                let clocks = batch.iter().map(|((_, now), _)| now.as_unix_millis());
                query
                    .bind(hashes.collect::<Vec<_>>())
                    .bind(clocks.collect::<Vec<_>>())
            },
            session_with_user_from_row,
        )
        .await;
    }

    /// The QR lookup task (`QR_SESSIONS_BY_ID`).
    async fn look_up_queued_qr_sessions(self, shift: Shift<String, Option<QrSessionRecord>>) {
        self.answer_queued(
            shift,
            QR_SESSIONS_BY_ID,
            |query, batch| query.bind(batch.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>()),
            qr_from_row,
        )
        .await;
    }

    /// One sign-in's session and event in one statement (`INSERT_SESSION_WITH_EVENT`):
    /// one round trip, one commit and one WAL flush. If it fails other than by an unreachable
    /// database, the event alone may be what failed, so the session is written on its
    /// own after the event is tried alone — committed without waiting for the flush,
    /// which the session's covers (the WAL reaches disk in order): a failed event still
    /// leaves the session to be written. An unreachable database fails both at once
    /// rather than make the request wait for two more connections that will not come.
    async fn write_session_with_event(
        &self,
        session: &SessionRecord,
        event: &super::SecurityEventRecord,
    ) -> (Result<(), StoreError>, Result<(), StoreError>) {
        let both = Self::bind_security_event(
            Self::bind_session(sqlx::query(INSERT_SESSION_WITH_EVENT), session),
            event,
        );
        match self.changed(both).await {
            Ok(_) => return (Ok(()), Ok(())),
            Err(error @ StoreError::Unavailable(_)) => return (Err(error.clone()), Err(error)),
            Err(StoreError::Conflict(_) | StoreError::Internal(_)) => {}
        }
        let appended = self
            .insert_security_event(INSERT_SECURITY_EVENT_UNFLUSHED, event)
            .await;
        (
            <Self as super::Store>::create_session(self, session).await,
            appended,
        )
    }

    /// The sign-in writer task: writes what is queued, a batch per statement, until the
    /// queue is empty. A batch that fails other than by an unreachable database may
    /// have failed for one sign-in (its user deleted meanwhile, say): each is then
    /// written alone, so only that one gets the error.
    async fn write_queued_sign_ins(self, mut shift: Shift<QueuedSignIn, WrittenPair>) {
        while let Some(batch) = shift.next(MAX_WRITE_BATCH) {
            let result = match bind_sign_ins(&batch) {
                Ok(query) => self.changed(query).await,
                Err(error) => Err(error),
            };
            match result {
                Ok(_) => batch::deliver(batch, &Ok((Ok(()), Ok(())))),
                Err(error @ StoreError::Unavailable(_)) => batch::deliver(batch, &Err(error)),
                Err(_) => {
                    for ((session, event), reply) in batch {
                        let _ =
                            reply.send(Ok(self.write_session_with_event(&session, &event).await));
                    }
                }
            }
        }
    }

    /// Locks a user's row for the rest of `transaction`; its email, or `None` when the
    /// user does not exist.
    async fn lock_user(
        transaction: &mut sqlx::Transaction<'_, Postgres>,
        id: &str,
    ) -> Result<Option<Option<String>>, StoreError> {
        let row = sqlx::query(LOCK_USER)
            .bind(id)
            .fetch_optional(&mut **transaction)
            .await
            .map_err(map_error)?;
        row.map(|row| column::<Option<String>>(&row, "email"))
            .transpose()
    }
}

/// Messages waiting in a listener's feed before older ones are dropped (a slow engine
/// then relies on its re-check).
const FEED_CAPACITY: usize = 1024;

sql_store!(PostgresStore, {
    fn announces_qr_changes(&self) -> bool {
        true
    }

    /// Looked up in batches (`SESSIONS_WITH_USERS`): the hottest read, one per
    /// authenticated request.
    async fn session_with_user(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<(SessionRecord, UserRecord)>, StoreError> {
        self.queue(
            &self.sessions,
            (*token_hash, now),
            Self::look_up_queued_sessions,
        )
        .await
    }

    /// Looked up in batches (`QR_SESSIONS_BY_ID`): every waiting desktop polls its QR
    /// session's status.
    async fn qr_session_by_id(&self, id: &str) -> Result<Option<QrSessionRecord>, StoreError> {
        self.queue(
            &self.qr_sessions,
            id.to_owned(),
            Self::look_up_queued_qr_sessions,
        )
        .await
    }

    /// Challenges are written in batches (`PUT_CHALLENGES`): each `authenticate/options`
    /// writes one, and under load the database spent most of a one-row insert on the
    /// statement around it.
    async fn put_challenge(&self, challenge: &ChallengeRecord) -> Result<(), StoreError> {
        let queued = QueuedChallenge {
            challenge: challenge.challenge.clone(),
            ceremony: serde_json::to_string(&challenge.ceremony)
                .map_err(|error| StoreError::Internal(StoreCause::new(error)))?,
            expires_at: challenge.expires_at.as_unix_millis(),
        };
        self.queue(&self.challenges, queued, Self::insert_queued_challenges)
            .await
    }

    /// Written in batches (`INSERT_SESSIONS_WITH_EVENTS`, see
    /// `write_queued_sign_ins`): one statement, one commit and one WAL flush for every
    /// sign-in queued while the previous batch was written.
    async fn create_session_with_event(
        &self,
        session: &SessionRecord,
        event: &super::SecurityEventRecord,
    ) -> (Result<(), StoreError>, Result<(), StoreError>) {
        let sign_in = (session.clone(), event.clone());
        match self
            .queue(&self.sign_ins, sign_in, Self::write_queued_sign_ins)
            .await
        {
            Ok(written) => written,
            Err(error) => (Err(error.clone()), Err(error)),
        }
    }

    /// One statement (`TAKE_CHALLENGE_AND_CREDENTIAL`) instead of two.
    async fn take_challenge_and_credential(
        &self,
        challenge: &str,
        now: Timestamp,
        credential_id: &str,
    ) -> Result<super::ChallengeAndCredential, StoreError> {
        let query = sqlx::query(TAKE_CHALLENGE_AND_CREDENTIAL)
            .bind(challenge)
            .bind(credential_id);
        let Some(row) = self.rows(query).await?.into_iter().next() else {
            return Ok((None, None));
        };
        let taken = live_challenge_from_row(&row, challenge, now)?;
        let found: Option<String> = column(&row, "id")?;
        let credential = match found {
            Some(_) => Some(credential_with_user_from_row(&row)?),
            None => None,
        };
        Ok((taken, credential))
    }

    async fn announce_qr_change(&self, message: &str) -> Result<(), StoreError> {
        self.notify_qr_change(message).await
    }

    async fn listen_qr_changes(&self) -> Result<Option<super::QrChangeFeed>, StoreError> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool)
            .await
            .map_err(map_error)?;
        listener.listen(&self.qr_channel).await.map_err(map_error)?;
        let (sender, feed) = tokio::sync::mpsc::channel(FEED_CAPACITY);
        tokio::spawn(async move {
            loop {
                let notification = tokio::select! {
                    () = sender.closed() => return,
                    notification = listener.try_recv() => notification,
                };
                match notification {
                    Ok(Some(notification)) => {
                        // A full feed drops the message; a closed one ends the task.
                        if let Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) =
                            sender.try_send(notification.payload().to_owned())
                        {
                            return;
                        }
                    }
                    // The connection was lost; the next call reconnects and listens
                    // again. What was missed meanwhile is found by the re-check.
                    Ok(None) => {}
                    // Reconnecting failed or the store was closed: end the feed (the
                    // engine listens again later).
                    Err(_) => return,
                }
            }
        });
        Ok(Some(feed))
    }

    async fn set_user_email(
        &self,
        id: &str,
        new_email: Option<&str>,
    ) -> Result<Guarded, StoreError> {
        let mut transaction = self.pool.begin().await.map_err(map_error)?;
        if Self::lock_user(&mut transaction, id).await?.is_none() {
            return finish(transaction, Guarded::NotFound).await;
        }
        match new_email {
            // The UNIQUE email_key column refuses another user's address.
            Some(address) => {
                sqlx::query(queries::SET_USER_EMAIL)
                    .bind(id)
                    .bind(address)
                    .bind(email::canonical(address))
                    .execute(&mut *transaction)
                    .await
                    .map_err(map_error)?;
            }
            None => {
                let has_passkey: bool = sqlx::query_scalar(HAS_CREDENTIAL)
                    .bind(id)
                    .fetch_one(&mut *transaction)
                    .await
                    .map_err(map_error)?;
                if !has_passkey {
                    return finish(transaction, Guarded::WouldLockOut).await;
                }
                sqlx::query(queries::CLEAR_USER_EMAIL)
                    .bind(id)
                    .execute(&mut *transaction)
                    .await
                    .map_err(map_error)?;
            }
        }
        transaction.commit().await.map_err(map_error)?;
        Ok(Guarded::Done)
    }

    async fn delete_credential(&self, user_id: &str, id: &str) -> Result<Guarded, StoreError> {
        let mut transaction = self.pool.begin().await.map_err(map_error)?;
        let Some(email) = Self::lock_user(&mut transaction, user_id).await? else {
            return finish(transaction, Guarded::NotFound).await;
        };
        let row = sqlx::query(CREDENTIAL_AND_COUNT)
            .bind(id)
            .bind(user_id)
            .fetch_one(&mut *transaction)
            .await
            .map_err(map_error)?;
        let mine: bool = column(&row, "mine")?;
        let total: i64 = column(&row, "total")?;
        if !mine {
            return finish(transaction, Guarded::NotFound).await;
        }
        if email.is_none() && total <= 1 {
            return finish(transaction, Guarded::WouldLockOut).await;
        }
        sqlx::query(queries::DELETE_CREDENTIAL)
            .bind(id)
            .bind(user_id)
            .execute(&mut *transaction)
            .await
            .map_err(map_error)?;
        transaction.commit().await.map_err(map_error)?;
        Ok(Guarded::Done)
    }
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_name_the_field() {
        assert_eq!(conflict_field(Some("users_email_key_key")), "email");
        assert_eq!(conflict_field(Some("users_pkey")), "id");
        assert_eq!(
            conflict_field(Some("sessions_token_hash_key")),
            "token_hash"
        );
        assert_eq!(conflict_field(None), "id");
    }

    /// A statement cancelled by `statement_timeout` (what an overloaded database does)
    /// is a 503 to retry, not a 500. Runs against the real server.
    #[tokio::test]
    async fn statement_timeouts_are_unavailable() {
        let url = std::env::var("PASSKEY_MAGIC_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let options = PgConnectOptions::from_str(&url)
            .unwrap()
            .options([("statement_timeout", "10")]);
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        let error = sqlx::query("SELECT pg_sleep(1)")
            .execute(&pool)
            .await
            .unwrap_err();
        assert!(
            matches!(map_error(error), StoreError::Unavailable(_)),
            "a cancelled statement must be retryable"
        );
        pool.close().await;
    }

    /// The announcer's own connection, killed by the server, is replaced by the next
    /// announcement, which still gets through. Runs against the real server.
    #[tokio::test]
    async fn announcements_survive_a_lost_connection() {
        use crate::store::Store as _;
        let url = std::env::var("PASSKEY_MAGIC_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = format!("pm_announcer_{}", std::process::id());
        let store = PostgresStore::connect_in_schema(&url, &schema)
            .await
            .unwrap();
        let mut feed = store.listen_qr_changes().await.unwrap().unwrap();
        store.announce_qr_change("tag first").await.unwrap();
        assert_eq!(feed.recv().await.unwrap(), "tag first");

        async fn backend(connection: &mut PgConnection) -> i32 {
            sqlx::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(connection)
                .await
                .unwrap()
        }
        let killed = {
            let mut announcer = store.announcer.lock().await;
            backend(announcer.as_mut().unwrap()).await
        };
        let mut admin = PgConnection::connect(&url).await.unwrap();
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(killed)
            .execute(&mut admin)
            .await
            .unwrap();
        while sqlx::query_scalar::<_, bool>(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)",
        )
        .bind(killed)
        .fetch_one(&mut admin)
        .await
        .unwrap()
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }

        store.announce_qr_change("tag second").await.unwrap();
        assert_eq!(feed.recv().await.unwrap(), "tag second");
        let replaced = {
            let mut announcer = store.announcer.lock().await;
            backend(announcer.as_mut().unwrap()).await
        };
        assert_ne!(replaced, killed);

        drop(feed);
        store.pool.close().await;
        sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
            .execute(&mut admin)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn schema_names_are_checked_before_use() {
        for bad in ["", "1abc", "a-b", "x\"; DROP TABLE users; --"] {
            assert!(matches!(
                PostgresStore::connect_in_schema("postgres://127.0.0.1:1/db", bad).await,
                Err(StoreError::Internal(message)) if message.to_string().starts_with("invalid schema")
            ));
        }
    }

    /// `max_connections` caps the statement connections: with both held, a call waits
    /// for one to come back instead of opening a third.
    #[tokio::test]
    async fn statement_connections_are_capped_by_max_connections() {
        use crate::store::Store as _;
        let (store, schema) = capped_store_in_schema("pm_capped", 2).await;
        let held = [
            store.connection().await.unwrap(),
            store.connection().await.unwrap(),
        ];
        let waiting = tokio::spawn({
            let store = store.clone();
            async move { store.user_by_id("u-1").await }
        });
        while store.connections.status().waiting == 0 && !waiting.is_finished() {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(store.connections.status().size, 2);
        assert!(!waiting.is_finished());
        drop(held);
        assert_eq!(waiting.await.unwrap().unwrap(), None);
        assert_eq!(store.connections.status().max_size, 2);
        drop_schema(store, &schema).await;
    }

    /// Session and QR lookups made at once share a statement. (That each gets its own
    /// answer is the conformance suite's `sessions_looked_up_at_once_get_their_own_answer`
    /// and `qr_sessions_looked_up_at_once_get_their_own`.)
    #[tokio::test]
    async fn lookups_made_at_once_share_a_statement() {
        use crate::store::Store as _;
        let (store, schema) = capped_store_in_schema("pm_session_batch", 4).await;
        let now = Timestamp::from_unix_millis(0);
        let hashes: Vec<TokenHash> = (0..50).map(|n| TokenHash::of(&format!("t-{n}"))).collect();
        let lookups = hashes.iter().map(|hash| store.session_with_user(hash, now));
        for result in crate::store::conformance::join_all(lookups.collect()).await {
            assert_eq!(result.unwrap(), None);
        }
        let batches = store.sessions.batches();
        assert!(
            (1..=LOOKUP_TASKS as u64).contains(&batches),
            "50 lookups in {batches} statements"
        );
        let ids: Vec<String> = (0..50).map(|n| format!("q-{n}")).collect();
        let lookups = ids.iter().map(|id| store.qr_session_by_id(id));
        for result in crate::store::conformance::join_all(lookups.collect()).await {
            assert_eq!(result.unwrap(), None);
        }
        let batches = store.qr_sessions.batches();
        assert!(
            (1..=LOOKUP_TASKS as u64).contains(&batches),
            "50 QR lookups in {batches} statements"
        );
        drop_schema(store, &schema).await;
    }

    /// A batched lookup's rows go to the calls they answer; a row numbered outside the
    /// batch is an error, not a wrong answer.
    #[tokio::test]
    async fn batch_rows_are_placed_by_their_number() {
        let mut connection = PgConnection::connect(&test_url()).await.unwrap();
        let rows = sqlx::query("SELECT n FROM unnest(ARRAY[3, 1]::int8[]) AS n")
            .fetch_all(&mut connection)
            .await
            .unwrap();
        let slots = number_rows(&rows, 3).unwrap();
        let placed: Vec<Option<i64>> = slots
            .iter()
            .map(|row| row.map(|row| column(row, "n").unwrap()))
            .collect();
        assert_eq!(placed, [Some(1), None, Some(3)]);
        assert!(matches!(
            number_rows(&rows, 2),
            Err(StoreError::Internal(_))
        ));
    }

    /// Sign-ins' sessions and events written at once share one statement, so one
    /// transaction (one commit, one WAL flush) wrote every row. (That each sign-in gets
    /// its own outcome is the conformance suite's
    /// `sign_ins_written_at_once_each_get_their_own_outcome`.)
    #[tokio::test]
    async fn sign_ins_written_at_once_share_a_commit() {
        use crate::store::SecurityEventRecord;
        use crate::store::Store as _;
        use crate::store::conformance::join_all;
        use passkey_magic_shared::security_events::{SecurityEvent, SecurityEventType};
        let (store, schema) = capped_store_in_schema("pm_sign_in_batch", 4).await;
        store.create_user(&numbered_user(1)).await.unwrap();
        let at = Timestamp::from_unix_millis(1);
        let sign_ins: Vec<(SessionRecord, SecurityEventRecord)> = (0..30)
            .map(|n| {
                let session = SessionRecord {
                    id: format!("s-{n}"),
                    token_hash: TokenHash::of(&format!("token-{n}")),
                    user_id: "u-1".into(),
                    auth_method: AuthMethod::Passkey,
                    created_at: at,
                    expires_at: Timestamp::from_unix_millis(i64::MAX / 2),
                    user_agent: None,
                    ip_address: None,
                    auth_context: None,
                };
                let event = SecurityEventRecord {
                    user_id: "u-1".into(),
                    event: SecurityEvent {
                        id: format!("e-{n}"),
                        kind: SecurityEventType::SignIn,
                        created_at: at,
                        method: Some(AuthMethod::Passkey),
                        reason: None,
                        ip_address: None,
                        user_agent: None,
                        credential_id: None,
                        session_id: Some(session.id.clone()),
                    },
                };
                (session, event)
            })
            .collect();
        let writes = sign_ins
            .iter()
            .map(|(session, event)| store.create_session_with_event(session, event));
        for outcome in join_all(writes.collect()).await {
            assert_eq!(outcome, (Ok(()), Ok(())));
        }
        let batches = store.sign_ins.batches();
        assert!(
            (1..=WRITE_TASKS as u64).contains(&batches),
            "30 sign-ins in {batches} statements"
        );
        let writers: Vec<String> = sqlx::query_scalar(
            "SELECT xmin::text FROM sessions UNION SELECT xmin::text FROM security_events",
        )
        .fetch_all(&mut *store.connection().await.unwrap())
        .await
        .unwrap();
        assert_eq!(
            writers.len() as u64,
            batches,
            "one transaction per statement"
        );
        drop_schema(store, &schema).await;
    }

    /// Challenges put at once share statements: fifty concurrent `authenticate/options`
    /// are not fifty inserts. (That each is kept, intact, is the conformance suite's
    /// `challenges_put_at_once_are_all_kept`.)
    #[tokio::test]
    async fn challenges_put_at_once_share_a_statement() {
        use crate::store::Store as _;
        let (store, schema) = capped_store_in_schema("pm_challenge_batch", 4).await;
        let at = Timestamp::from_unix_millis(i64::MAX / 2);
        let records: Vec<ChallengeRecord> = (0..50)
            .map(|n| ChallengeRecord {
                challenge: format!("challenge-{n}"),
                ceremony: crate::store::conformance::challenge(at).ceremony,
                expires_at: at,
            })
            .collect();
        let puts = records.iter().map(|record| store.put_challenge(record));
        for result in crate::store::conformance::join_all(puts.collect()).await {
            result.unwrap();
        }
        let batches = store.challenges.batches();
        assert!(
            (1..=WRITE_TASKS as u64).contains(&batches),
            "50 challenges in {batches} statements"
        );
        let now = Timestamp::from_unix_millis(0);
        for record in &records {
            assert!(
                store
                    .take_challenge(&record.challenge, now)
                    .await
                    .unwrap()
                    .is_some()
            );
        }
        drop_schema(store, &schema).await;
    }

    /// The asynchronous commit of the counter update is its own: the connection's next
    /// statements commit synchronously again. Counters still only advance; a sign-in's
    /// event and session are written by one transaction.
    #[tokio::test]
    async fn only_the_unflushed_statements_skip_the_flush_wait() {
        use crate::store::Store as _;
        let (store, schema) = capped_store_in_schema("pm_async_commit", 1).await;
        store.create_user(&numbered_user(1)).await.unwrap();
        let credential =
            crate::store::conformance::credential("c-1", "u-1", Timestamp::from_unix_millis(1));
        store.create_credential(&credential).await.unwrap();
        let usage = |counter| CredentialUsage {
            id: "c-1".into(),
            passkey: credential.passkey.clone(),
            counter,
            backed_up: true,
            used_at: Timestamp::from_unix_millis(2),
        };
        let synchronous_commit = || async {
            let setting: String = sqlx::query_scalar("SHOW synchronous_commit")
                .fetch_one(&mut *store.connection().await.unwrap())
                .await
                .unwrap();
            setting
        };
        assert!(store.record_credential_use(&usage(5)).await.unwrap());
        assert_eq!(synchronous_commit().await, "on");
        assert!(!store.record_credential_use(&usage(5)).await.unwrap());

        let session = SessionRecord {
            id: "s-1".into(),
            token_hash: TokenHash::of("token"),
            user_id: "u-1".into(),
            auth_method: AuthMethod::Passkey,
            created_at: Timestamp::from_unix_millis(2),
            expires_at: Timestamp::from_unix_millis(i64::MAX / 2),
            user_agent: None,
            ip_address: None,
            auth_context: None,
        };
        let event = crate::store::SecurityEventRecord {
            user_id: "u-1".into(),
            event: passkey_magic_shared::security_events::SecurityEvent {
                id: "e-1".into(),
                kind: passkey_magic_shared::security_events::SecurityEventType::SignIn,
                created_at: Timestamp::from_unix_millis(2),
                method: Some(AuthMethod::Passkey),
                reason: None,
                ip_address: Some("192.0.2.1".into()),
                user_agent: None,
                credential_id: Some("c-1".into()),
                session_id: Some("s-1".into()),
            },
        };
        let (created, appended) = store.create_session_with_event(&session, &event).await;
        assert_eq!((created, appended), (Ok(()), Ok(())));
        assert_eq!(synchronous_commit().await, "on");
        // One statement, so one transaction (one commit, one flush) wrote both rows.
        let store_ref = &store;
        let writer = |table: &'static str, id: &'static str| async move {
            let xmin: String =
                sqlx::query_scalar(&format!("SELECT xmin::text FROM {table} WHERE id = $1"))
                    .bind(id)
                    .fetch_one(&mut *store_ref.connection().await.unwrap())
                    .await
                    .unwrap();
            xmin
        };
        assert_eq!(
            writer("sessions", "s-1").await,
            writer("security_events", "e-1").await
        );
        let events = store
            .security_events_for_user("u-1", None, 10)
            .await
            .unwrap();
        assert_eq!(events, [event]);
        let (stored, _) = store.credential_with_user("c-1").await.unwrap().unwrap();
        assert_eq!((stored.counter, stored.backed_up), (5, true));
        drop_schema(store, &schema).await;
    }

    /// Neither the builder nor the store shows the password of its URL (a store's
    /// `Debug` may end up in a log). The test server trusts every connection, so the
    /// password is accepted and ignored.
    #[tokio::test]
    async fn the_password_is_not_shown() {
        let url = test_url().replacen("postgres://postgres@", "postgres://postgres:hunter2@", 1);
        assert!(
            url.contains("hunter2"),
            "PASSKEY_MAGIC_TEST_POSTGRES_URL in the expected form"
        );
        let schema = format!("pm_debug_{}", std::process::id());
        let builder = PostgresStore::builder(&url).schema(&schema);
        let shown = format!("{builder:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains(&schema), "{shown}");
        let store = builder.connect().await.unwrap();
        let shown = format!("{store:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        drop_schema(store, &schema).await;
    }

    #[tokio::test]
    async fn a_store_needs_a_connection() {
        assert!(matches!(
            PostgresStore::builder(&test_url()).max_connections(0).connect().await,
            Err(StoreError::Internal(message)) if message.to_string().contains("at least one connection")
        ));
        assert!(default_max_connections() >= 4);
    }

    fn test_url() -> String {
        std::env::var("PASSKEY_MAGIC_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
    }

    fn numbered_user(n: u128) -> UserRecord {
        UserRecord {
            id: format!("u-{n}"),
            email: None,
            user_handle: uuid::Uuid::from_u128(n),
            created_at: Timestamp::from_unix_millis(1),
            metadata: None,
        }
    }

    /// A store in a schema of its own (name and process id).
    async fn store_in_schema(prefix: &str) -> (PostgresStore, String) {
        let schema = format!("{prefix}_{}", std::process::id());
        let store = PostgresStore::connect_in_schema(&test_url(), &schema)
            .await
            .unwrap();
        (store, schema)
    }

    /// [`store_in_schema`] with at most `connections` statement connections.
    async fn capped_store_in_schema(prefix: &str, connections: usize) -> (PostgresStore, String) {
        let schema = format!("{prefix}_{}", std::process::id());
        let store = PostgresStore::builder(&test_url())
            .schema(&schema)
            .max_connections(connections)
            .connect()
            .await
            .unwrap();
        (store, schema)
    }

    async fn drop_schema(store: PostgresStore, schema: &str) {
        sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
            .execute(&store.pool)
            .await
            .unwrap();
        store.close().await;
    }

    async fn backend_pid(store: &PostgresStore) -> i32 {
        let mut connection = store.connection().await.unwrap();
        sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(&mut *connection)
            .await
            .unwrap()
    }

    /// A statement whose request is dropped mid-way leaves its connection usable: the
    /// next statement on that same connection gets its own answer, not the rest of the
    /// dropped one's (the pool does not ping connections coming back).
    #[tokio::test]
    async fn a_statement_cut_short_leaves_its_connection_usable() {
        use crate::store::Store as _;
        let (store, schema) = store_in_schema("pm_cut").await;
        let pid = backend_pid(&store).await;
        {
            let mut connection = store.connection().await.unwrap();
            let slow =
                sqlx::query("SELECT pg_sleep(0.2), 'stale' AS id").fetch_one(&mut *connection);
            assert!(
                tokio::time::timeout(Duration::from_millis(20), slow)
                    .await
                    .is_err()
            );
        }
        store.create_user(&numbered_user(1)).await.unwrap();
        let found = store.user_by_id("u-1").await.unwrap().unwrap();
        assert_eq!(found.id, "u-1");
        assert_eq!(
            backend_pid(&store).await,
            pid,
            "the same connection was reused"
        );
        assert_eq!(store.connections.status().size, 1);
        drop_schema(store, &schema).await;
    }

    /// A connection the server dropped fails its statement (503) and is not reused: the
    /// next call opens a new one.
    #[tokio::test]
    async fn a_broken_connection_is_dropped() {
        use crate::store::Store as _;
        let (store, schema) = store_in_schema("pm_broken").await;
        let pid = backend_pid(&store).await;
        let terminated: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert!(terminated);
        assert!(matches!(
            store.user_by_id("u-1").await,
            Err(StoreError::Unavailable(_))
        ));
        assert_eq!(store.user_by_id("u-1").await.unwrap(), None);
        assert_ne!(backend_pid(&store).await, pid);
        drop_schema(store, &schema).await;
    }
}
