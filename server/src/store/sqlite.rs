//! The SQLite store: the embedded default. One file on disk (or a private in-memory
//! database), WAL journal, schema created by the migrations in `server/migrations/sqlite`.
//!
//! Atomicity comes from SQLite, not from process locks: every change that must be atomic
//! is a single SQL statement (SQLite runs one writer at a time and a statement sees the
//! database as of its start), so the guarantees hold across processes sharing the file:
//!
//! - [`Store::take_challenge`] is `DELETE … RETURNING`: exactly one caller gets the row;
//! - so is [`Store::take_magic_link`] (migration `0003_magic_links.sql`);
//! - the lock-out guards of [`Store::delete_credential`] and [`Store::set_user_email`] are
//!   `WHERE` conditions of the `DELETE`/`UPDATE` itself, not a check before it;
//! - emails are unique through a `UNIQUE` column holding their canonical form;
//! - deleting a user cascades to its credentials and sessions (`ON DELETE CASCADE`, with
//!   foreign keys switched on for every connection).
//! - QR transitions are `UPDATE … WHERE state IN (…) AND expires_at > now RETURNING …`:
//!   the compare and the set are one statement, so one racing request wins.

use super::MagicLinkRecord;
use super::sql::{corrupt, to_json, to_json_opt};
use super::{
    ChallengeRecord, CredentialRecord, CredentialUsage, Guarded, SessionRecord, Store, StoreError,
    UserRecord,
};
use super::{QrChange, QrSessionRecord};
use crate::qr::state::QrSessionState;
use crate::secrets::TokenHash;
use async_trait::async_trait;
use passkey_magic_shared::{AuthMethod, Metadata, Timestamp, email};
use serde::de::DeserializeOwned;
use sqlx::error::ErrorKind;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
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

const USER_COLUMNS: &str = "id, email, user_handle, created_at, metadata";
const CREDENTIAL_COLUMNS: &str = "id, user_id, passkey, public_key, counter, backup_eligible, \
     backed_up, transports, aaguid, label, created_at, last_used_at, metadata";
const SESSION_COLUMNS: &str = "id, token_hash, user_id, auth_method, created_at, expires_at, \
     user_agent, ip_address, auth_context";
const QR_COLUMNS: &str = "id, status_token_hash, confirmation_hash, state, confirmed, \
     confirmation_attempts, user_id, session_id, authenticated_at, created_at, expires_at";
/// Ids per `IN (…)` of a batch read (SQLite allows 32 766 parameters; stay modest).
const QR_BATCH: usize = 500;

/// A [`Store`] in a SQLite database. Clones share the same connection pool.
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
            .map_err(|error| StoreError::Internal(format!("invalid SQLite URL: {error}")))?
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
        MIGRATOR.run(&pool).await.map_err(|error| match error {
            sqlx::migrate::MigrateError::Execute(error) => map_error(error),
            other => StoreError::Internal(format!("SQLite migration failed: {other}")),
        })?;
        Ok(Self { pool })
    }

    /// Closes every connection, waiting for calls in progress. Later calls fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(&self) {
        self.pool.close().await;
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
            if database.kind() == ErrorKind::UniqueViolation {
                return StoreError::Conflict(conflict_field(database.message()));
            }
            // Primary result codes (the low byte of the extended code) that mean "not now"
            // rather than "wrong": BUSY, LOCKED, IOERR, FULL, CANTOPEN.
            let primary = database
                .code()
                .and_then(|code| code.parse::<i32>().ok())
                .map(|code| code & 0xff);
            if matches!(primary, Some(5 | 6 | 10 | 13 | 14)) {
                StoreError::Unavailable(error.to_string())
            } else {
                StoreError::Internal(error.to_string())
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error.to_string()),
        _ => StoreError::Internal(error.to_string()),
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

super::sql::record_decoders!(SqliteRow, Sqlite);

/// `?first, ?first+1, …` for `count` parameters.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|index| format!("?{index}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, email, email_key, user_handle, created_at, metadata) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(&user.id)
        .bind(&user.email)
        .bind(user.email.as_deref().map(email::canonical))
        .bind(user.user_handle.as_bytes().as_slice())
        .bind(user.created_at.as_unix_millis())
        .bind(to_json_opt(user.metadata.as_ref())?)
        .execute(&self.pool)
        .await
        .map_err(map_error)?;
        Ok(())
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_error)?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn user_by_email(&self, address: &str) -> Result<Option<UserRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email_key = ?1"
        ))
        .bind(email::canonical(address))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?
        .as_ref()
        .map(user_from_row)
        .transpose()
    }

    async fn set_user_email(
        &self,
        id: &str,
        new_email: Option<&str>,
    ) -> Result<Guarded, StoreError> {
        let changed = match new_email {
            // The UNIQUE email_key column refuses another user's address.
            Some(address) => {
                sqlx::query("UPDATE users SET email = ?2, email_key = ?3 WHERE id = ?1")
                    .bind(id)
                    .bind(address)
                    .bind(email::canonical(address))
                    .execute(&self.pool)
                    .await
            }
            // Clearing is guarded in the same statement: only while a passkey remains.
            None => {
                sqlx::query(
                    "UPDATE users SET email = NULL, email_key = NULL WHERE id = ?1 \
                     AND EXISTS (SELECT 1 FROM credentials WHERE user_id = ?1)",
                )
                .bind(id)
                .execute(&self.pool)
                .await
            }
        }
        .map_err(map_error)?
        .rows_affected();
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

    async fn set_user_metadata(
        &self,
        id: &str,
        metadata: Option<&Metadata>,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query("UPDATE users SET metadata = ?2 WHERE id = ?1")
            .bind(id)
            .bind(to_json_opt(metadata)?)
            .execute(&self.pool)
            .await
            .map_err(map_error)?
            .rows_affected();
        Ok(changed > 0)
    }

    async fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
        // Credentials and sessions go with it: ON DELETE CASCADE.
        let deleted = sqlx::query("DELETE FROM users WHERE id = ?1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(map_error)?
            .rows_affected();
        Ok(deleted > 0)
    }

    async fn create_credential(&self, credential: &CredentialRecord) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO credentials ({CREDENTIAL_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        ))
        .bind(&credential.id)
        .bind(&credential.user_id)
        .bind(to_json(&credential.passkey)?)
        .bind(credential.public_key.as_slice())
        .bind(i64::from(credential.counter))
        .bind(credential.backup_eligible)
        .bind(credential.backed_up)
        .bind(to_json(&credential.transports)?)
        .bind(credential.aaguid.as_ref().map(|id| id.as_bytes().to_vec()))
        .bind(&credential.label)
        .bind(credential.created_at.as_unix_millis())
        .bind(credential.last_used_at.map(Timestamp::as_unix_millis))
        .bind(to_json_opt(credential.metadata.as_ref())?)
        .execute(&self.pool)
        .await
        .map_err(|error| match map_error(error) {
            StoreError::Internal(message) if message.contains("FOREIGN KEY") => {
                StoreError::Internal("credential for unknown user".into())
            }
            other => other,
        })?;
        Ok(())
    }

    async fn credential_by_id(&self, id: &str) -> Result<Option<CredentialRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = ?1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?
        .as_ref()
        .map(credential_from_row)
        .transpose()
    }

    async fn credentials_for_user(
        &self,
        user_id: &str,
    ) -> Result<Vec<CredentialRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE user_id = ?1 \
             ORDER BY created_at, id"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_error)?
        .iter()
        .map(credential_from_row)
        .collect()
    }

    async fn record_credential_use(&self, usage: &CredentialUsage) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE credentials SET passkey = ?2, counter = ?3, backed_up = ?4, \
             last_used_at = ?5 WHERE id = ?1",
        )
        .bind(&usage.id)
        .bind(to_json(&usage.passkey)?)
        .bind(i64::from(usage.counter))
        .bind(usage.backed_up)
        .bind(usage.used_at.as_unix_millis())
        .execute(&self.pool)
        .await
        .map_err(map_error)?;
        Ok(())
    }

    async fn update_credential(
        &self,
        user_id: &str,
        id: &str,
        label: Option<&str>,
        metadata: Option<&Metadata>,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query(
            "UPDATE credentials SET label = COALESCE(?3, label), \
             metadata = COALESCE(?4, metadata) WHERE id = ?1 AND user_id = ?2",
        )
        .bind(id)
        .bind(user_id)
        .bind(label)
        .bind(to_json_opt(metadata)?)
        .execute(&self.pool)
        .await
        .map_err(map_error)?
        .rows_affected();
        Ok(changed > 0)
    }

    async fn delete_credential(&self, user_id: &str, id: &str) -> Result<Guarded, StoreError> {
        // The lock-out guard is part of the DELETE, so two racing deletes of a user's last
        // two passkeys cannot both pass it.
        let deleted = sqlx::query(
            "DELETE FROM credentials WHERE id = ?1 AND user_id = ?2 AND ( \
                 EXISTS (SELECT 1 FROM users WHERE id = ?2 AND email IS NOT NULL) \
                 OR EXISTS (SELECT 1 FROM credentials WHERE user_id = ?2 AND id <> ?1))",
        )
        .bind(id)
        .bind(user_id)
        .execute(&self.pool)
        .await
        .map_err(map_error)?
        .rows_affected();
        if deleted > 0 {
            return Ok(Guarded::Done);
        }
        // Nothing deleted: tell a missing (or someone else's) credential from a refusal.
        let exists: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM credentials WHERE id = ?1 AND user_id = ?2)",
        )
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

    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO sessions ({SESSION_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
        ))
        .bind(&session.id)
        .bind(session.token_hash.as_bytes().as_slice())
        .bind(&session.user_id)
        .bind(session.auth_method.as_str())
        .bind(session.created_at.as_unix_millis())
        .bind(session.expires_at.as_unix_millis())
        .bind(&session.user_agent)
        .bind(&session.ip_address)
        .bind(to_json_opt(session.auth_context.as_ref())?)
        .execute(&self.pool)
        .await
        .map_err(|error| match map_error(error) {
            StoreError::Internal(message) if message.contains("FOREIGN KEY") => {
                StoreError::Internal("session for unknown user".into())
            }
            other => other,
        })?;
        Ok(())
    }

    async fn session_by_token_hash(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = ?1 AND expires_at > ?2"
        ))
        .bind(token_hash.as_bytes().as_slice())
        .bind(now.as_unix_millis())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?
        .as_ref()
        .map(session_from_row)
        .transpose()
    }

    async fn sessions_for_user(
        &self,
        user_id: &str,
        now: Timestamp,
    ) -> Result<Vec<SessionRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = ?1 AND expires_at > ?2 \
             ORDER BY created_at DESC, id DESC"
        ))
        .bind(user_id)
        .bind(now.as_unix_millis())
        .fetch_all(&self.pool)
        .await
        .map_err(map_error)?
        .iter()
        .map(session_from_row)
        .collect()
    }

    async fn delete_session(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM sessions WHERE id = ?1 AND user_id = ?2")
            .bind(id)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(map_error)?
            .rows_affected();
        Ok(deleted > 0)
    }

    async fn delete_sessions_for_user(&self, user_id: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM sessions WHERE user_id = ?1")
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(map_error)?
            .rows_affected())
    }

    // ---- QR logins ----

    async fn create_qr_session(&self, qr: &QrSessionRecord) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO qr_sessions ({QR_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
        ))
        .bind(&qr.id)
        .bind(qr.status_token_hash.as_bytes().as_slice())
        .bind(qr.confirmation_hash.map(|hash| hash.as_bytes().to_vec()))
        .bind(qr.state.as_str())
        .bind(qr.confirmed)
        .bind(i64::from(qr.confirmation_attempts))
        .bind(&qr.user_id)
        .bind(&qr.session_id)
        .bind(qr.authenticated_at.map(Timestamp::as_unix_millis))
        .bind(qr.created_at.as_unix_millis())
        .bind(qr.expires_at.as_unix_millis())
        .execute(&self.pool)
        .await
        .map_err(map_error)?;
        Ok(())
    }

    async fn qr_session_by_id(&self, id: &str) -> Result<Option<QrSessionRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {QR_COLUMNS} FROM qr_sessions WHERE id = ?1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?
        .as_ref()
        .map(qr_from_row)
        .transpose()
    }

    async fn qr_sessions_by_ids(&self, ids: &[String]) -> Result<Vec<QrSessionRecord>, StoreError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(QR_BATCH) {
            let sql = format!(
                "SELECT {QR_COLUMNS} FROM qr_sessions WHERE id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            for row in query.fetch_all(&self.pool).await.map_err(map_error)? {
                found.push(qr_from_row(&row)?);
            }
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
        // Compare and set in one statement; `fetch_all` runs it to completion.
        let sql = format!(
            "UPDATE qr_sessions SET state = ?3, confirmed = (confirmed OR ?4), \
             user_id = COALESCE(?5, user_id), session_id = COALESCE(?6, session_id), \
             authenticated_at = COALESCE(?7, authenticated_at), \
             expires_at = COALESCE(?8, expires_at) \
             WHERE id = ?1 AND expires_at > ?2 AND state IN ({}) RETURNING {QR_COLUMNS}",
            placeholders(9, from.len())
        );
        let mut query = sqlx::query(&sql)
            .bind(id)
            .bind(now.as_unix_millis())
            .bind(change.transition.to.as_str())
            .bind(change.confirm)
            .bind(&change.user_id)
            .bind(&change.session_id)
            .bind(change.authenticated_at.map(Timestamp::as_unix_millis))
            .bind(change.expires_at.map(Timestamp::as_unix_millis));
        for state in from {
            query = query.bind(state.as_str());
        }
        let rows = query.fetch_all(&self.pool).await.map_err(map_error)?;
        rows.first().map(qr_from_row).transpose()
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
            "UPDATE qr_sessions SET confirmation_attempts = confirmation_attempts + 1 \
             WHERE id = ?1 AND expires_at > ?2 AND confirmed = 0 \
             AND confirmation_attempts < ?3 AND state IN ({}) \
             RETURNING confirmation_attempts",
            placeholders(4, states.len())
        );
        let mut query = sqlx::query(&sql)
            .bind(id)
            .bind(now.as_unix_millis())
            .bind(i64::from(max_attempts));
        for state in states {
            query = query.bind(state.as_str());
        }
        let rows = query.fetch_all(&self.pool).await.map_err(map_error)?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let attempts: i64 = column(row, "confirmation_attempts")?;
        u32::try_from(attempts)
            .map(Some)
            .map_err(|error| corrupt("confirmation_attempts", error))
    }

    async fn put_challenge(&self, challenge: &ChallengeRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO challenges (challenge, ceremony, expires_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (challenge) DO UPDATE \
             SET ceremony = excluded.ceremony, expires_at = excluded.expires_at",
        )
        .bind(&challenge.challenge)
        .bind(to_json(&challenge.ceremony)?)
        .bind(challenge.expires_at.as_unix_millis())
        .execute(&self.pool)
        .await
        .map_err(map_error)?;
        Ok(())
    }

    async fn take_challenge(
        &self,
        challenge: &str,
        now: Timestamp,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        // Delete-and-return in one statement: of all racing takers exactly one gets the
        // row. An expired row is removed too, but nobody gets it. `fetch_all` runs the
        // statement to completion (at most one row: `challenge` is the primary key).
        let rows = sqlx::query(
            "DELETE FROM challenges WHERE challenge = ?1 RETURNING ceremony, expires_at",
        )
        .bind(challenge)
        .fetch_all(&self.pool)
        .await
        .map_err(map_error)?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let expires_at = timestamp_column(row, "expires_at")?;
        if expires_at <= now {
            return Ok(None);
        }
        Ok(Some(ChallengeRecord {
            challenge: challenge.to_owned(),
            ceremony: json_column(row, "ceremony")?,
            expires_at,
        }))
    }

    // ---- magic links ----

    async fn put_magic_link(&self, link: &MagicLinkRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO magic_links (token_hash, email, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(link.token_hash.as_bytes().as_slice())
        .bind(&link.email)
        .bind(link.created_at.as_unix_millis())
        .bind(link.expires_at.as_unix_millis())
        .execute(&self.pool)
        .await
        .map_err(map_error)?;
        Ok(())
    }

    async fn take_magic_link(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<MagicLinkRecord>, StoreError> {
        // As `take_challenge`: one DELETE … RETURNING, so of all racing takers exactly one
        // gets the row; an expired row is removed but handed to nobody.
        let rows = sqlx::query(
            "DELETE FROM magic_links WHERE token_hash = ?1 \
             RETURNING email, created_at, expires_at",
        )
        .bind(token_hash.as_bytes().as_slice())
        .fetch_all(&self.pool)
        .await
        .map_err(map_error)?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let expires_at = timestamp_column(row, "expires_at")?;
        if expires_at <= now {
            return Ok(None);
        }
        Ok(Some(MagicLinkRecord {
            token_hash: *token_hash,
            email: column(row, "email")?,
            created_at: timestamp_column(row, "created_at")?,
            expires_at,
        }))
    }

    async fn delete_magic_link(&self, token_hash: &TokenHash) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM magic_links WHERE token_hash = ?1")
            .bind(token_hash.as_bytes().as_slice())
            .execute(&self.pool)
            .await
            .map_err(map_error)?
            .rows_affected();
        Ok(deleted > 0)
    }

    async fn purge_expired(&self, now: Timestamp) -> Result<u64, StoreError> {
        let mut purged = 0;
        for statement in [
            "DELETE FROM sessions WHERE expires_at <= ?1",
            "DELETE FROM challenges WHERE expires_at <= ?1",
            "DELETE FROM magic_links WHERE expires_at <= ?1",
            "DELETE FROM qr_sessions WHERE expires_at <= ?1",
        ] {
            purged += sqlx::query(statement)
                .bind(now.as_unix_millis())
                .execute(&self.pool)
                .await
                .map_err(map_error)?
                .rows_affected();
        }
        Ok(purged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    async fn a_closed_store_is_unavailable() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        store.close().await;
        assert!(matches!(
            store.user_by_id("u-1").await,
            Err(StoreError::Unavailable(_))
        ));
    }
}
