//! The SQLite store: the embedded default. One file on disk (or a private in-memory
//! database), WAL journal, schema created by the migrations in `server/migrations/sqlite`.
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

use super::sql::queries;
use super::sql::{record_decoders, sql_store};
use super::{
    ChallengeRecord, CredentialRecord, CredentialUsage, EmailLinkRecord, Guarded, MagicLinkRecord,
    QrChange, QrSessionRecord, SessionRecord, StoreCause, StoreError, UserRecord,
};
use crate::qr::state::QrSessionState;
use crate::secrets::TokenHash;
use passkey_magic_shared::{AuthMethod, Metadata, Timestamp, email};
use serde::de::DeserializeOwned;
use sqlx::error::ErrorKind;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::types::Json;
use sqlx::{Decode, Row, Sqlite, Type};
use std::str::FromStr;
use std::time::Duration;

/// How long a statement waits for another connection's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a call waits for a free pooled connection before giving up.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Pool size for a database file: SQLite has one writer at a time, so a few connections
/// are enough to overlap reads with it.
const MAX_CONNECTIONS: u32 = 4;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Values per `IN (…)` list (SQLite allows 32 766 parameters; stay modest).
const LIST_BATCH: usize = 500;

/// Whether a credential exists and is the user's (after a refused guarded delete).
const CREDENTIAL_EXISTS: &str =
    "SELECT EXISTS (SELECT 1 FROM credentials WHERE id = $1 AND user_id = $2)";

/// A [`Store`](super::Store) in a SQLite database. Clones share the same connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` and brings its schema up to date.
    ///
    /// `url` is a sqlx SQLite URL: `sqlite://path/to/file.db` (relative to the working
    /// directory), `sqlite:///absolute/path.db`, or `sqlite::memory:` for a private
    /// in-memory database that lives as long as the store. Files are opened in WAL mode
    /// with foreign keys on and a 5 s busy timeout, through a pool of 4 connections (1 for
    /// an in-memory database, which exists only while a connection holds it).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the file cannot be opened or is locked;
    /// [`StoreError::Internal`] for a malformed URL or a failed migration (for example a
    /// database written by a newer version).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|error| StoreError::Internal(format!("invalid SQLite URL: {error}").into()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL is durable across application crashes in WAL mode; only a power loss
            // can drop the last commits, never corrupt the file.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true);
        let pool_options = if is_in_memory(url) {
            // Keep exactly one connection forever: the database dies with its last one.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS)
        };
        let pool = pool_options
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(map_error)?;
        Self::migrate(&pool).await?;
        Ok(Self { pool })
    }
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

// ---- errors ----

/// Sorts a sqlx error into the [`StoreError`] a caller can act on.
fn map_error(error: sqlx::Error) -> StoreError {
    match &error {
        sqlx::Error::Database(database) => {
            match database.kind() {
                ErrorKind::UniqueViolation => {
                    return StoreError::Conflict(conflict_field(database.message()));
                }
                ErrorKind::ForeignKeyViolation => {
                    return StoreError::Internal("record for unknown user".into());
                }
                _ => {}
            }
            // Primary result codes (the low byte of the extended code) that mean "not now"
            // rather than "wrong": BUSY, LOCKED, IOERR, FULL, CANTOPEN.
            let primary = database
                .code()
                .and_then(|code| code.parse::<i32>().ok())
                .map(|code| code & 0xff);
            if matches!(primary, Some(5 | 6 | 10 | 13 | 14)) {
                StoreError::Unavailable(StoreCause::new(error))
            } else {
                StoreError::Internal(StoreCause::new(error))
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(StoreCause::new(error)),
        _ => StoreError::Internal(StoreCause::new(error)),
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

record_decoders!(SqliteRow, Sqlite);

type DbPool = SqlitePool;
type DbQuery<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;
type DbRow = SqliteRow;

/// `IN ($first, $first+1, …)` for `count` values.
fn list_condition(first: usize, count: usize) -> String {
    let placeholders: Vec<String> = (first..first + count)
        .map(|index| format!("${index}"))
        .collect();
    format!("IN ({})", placeholders.join(", "))
}

/// Binds each value of an `IN (…)` list.
fn bind_list<'q>(mut query: DbQuery<'q>, values: Vec<&'q str>) -> DbQuery<'q> {
    for value in values {
        query = query.bind(value);
    }
    query
}

sql_store!(SqliteStore, {
    async fn set_user_email(
        &self,
        id: &str,
        new_email: Option<&str>,
    ) -> Result<Guarded, StoreError> {
        // Clearing is guarded in the same statement: only while a passkey remains.
        let guarded_clear = format!(
            "{} AND EXISTS (SELECT 1 FROM credentials WHERE user_id = $1)",
            queries::CLEAR_USER_EMAIL
        );
        let statement = match new_email {
            // The UNIQUE email_key column refuses another user's address.
            Some(address) => sqlx::query(queries::SET_USER_EMAIL)
                .bind(id)
                .bind(address)
                .bind(email::canonical(address)),
            None => sqlx::query(&guarded_clear).bind(id),
        };
        let changed = self.changed(statement).await?;
        if changed > 0 {
            return Ok(Guarded::Done);
        }
        // Nothing changed: tell a missing user from a refused change.
        Ok(
            if new_email.is_none() && self.user_by_id(id).await?.is_some() {
                Guarded::WouldLockOut
            } else {
                Guarded::NotFound
            },
        )
    }

    async fn delete_credential(&self, user_id: &str, id: &str) -> Result<Guarded, StoreError> {
        // The lock-out guard is part of the DELETE, so two racing deletes of a user's last
        // two passkeys cannot both pass it.
        let guarded = format!(
            "{} AND (EXISTS (SELECT 1 FROM users WHERE id = $2 AND email IS NOT NULL) \
             OR EXISTS (SELECT 1 FROM credentials WHERE user_id = $2 AND id <> $1))",
            queries::DELETE_CREDENTIAL
        );
        let deleted = self
            .changed(sqlx::query(&guarded).bind(id).bind(user_id))
            .await?;
        if deleted > 0 {
            return Ok(Guarded::Done);
        }
        // Nothing deleted: tell a missing (or someone else's) credential from a refusal.
        let exists: bool = sqlx::query_scalar(CREDENTIAL_EXISTS)
            .bind(id)
            .bind(user_id)
            .fetch_one(&self.pool)
            .await
            .map_err(map_error)?;
        Ok(if exists {
            Guarded::WouldLockOut
        } else {
            Guarded::NotFound
        })
    }
});

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
    fn memory_urls_are_recognised() {
        assert!(is_in_memory("sqlite::memory:"));
        assert!(is_in_memory("sqlite://x.db?mode=memory"));
        assert!(!is_in_memory("sqlite://x.db?mode=rwc"));
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

    #[tokio::test]
    async fn backend_errors_are_kept_as_the_source() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        store.close().await;
        let error = store.user_by_id("u-1").await.unwrap_err();
        let source = std::error::Error::source(&error).expect("a source");
        // The cause is sqlx's own error, not a copy of its text.
        assert_eq!(source.to_string(), sqlx::Error::PoolClosed.to_string());
        assert_eq!(error.to_string(), "storage unavailable");
    }

    #[tokio::test]
    async fn a_closed_store_is_unavailable() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        store.close().await;
        assert!(matches!(
            store.user_by_id("u-1").await,
            Err(StoreError::Unavailable(_))
        ));
    }
}
