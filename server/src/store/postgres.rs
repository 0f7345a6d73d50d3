//! The PostgreSQL store: for production and for several stateless instances sharing one
//! database. Schema from the migrations in `server/migrations/postgres`, run on connect.
//!
//! Atomicity comes from PostgreSQL, so the guarantees hold across instances:
//!
//! - [`Store::take_challenge`] is `DELETE … RETURNING`: of racing takers, one gets the
//!   row and the others find it gone;
//! - emails are unique through a `UNIQUE` column holding their canonical form;
//! - the lock-out guards of [`Store::delete_credential`] and [`Store::set_user_email`]
//!   run in a transaction that first locks the user's row (`SELECT … FOR UPDATE`), so
//!   changes to one user's ways in are serialised — under READ COMMITTED a single
//!   guarded `DELETE` would let two racing deletes both see the other credential;
//! - deleting a user cascades to its credentials and sessions (`ON DELETE CASCADE`).

use super::sql::{corrupt, to_json, to_json_opt};
use super::{
    ChallengeRecord, CredentialRecord, CredentialUsage, Guarded, MagicLinkRecord, QrChange,
    QrSessionRecord, SessionRecord, Store, StoreError, UserRecord,
};
use crate::qr::state::QrSessionState;
use crate::secrets::TokenHash;
use async_trait::async_trait;
use passkey_magic_shared::{AuthMethod, Metadata, Timestamp, email};
use serde::de::DeserializeOwned;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Decode, Postgres, Row, Type};
use std::str::FromStr;
use std::time::Duration;

/// How long a call waits for a free pooled connection before giving up (→ 503).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Statements running longer than this are cancelled by the server.
const STATEMENT_TIMEOUT_MS: &str = "10000";
/// Default pool size per instance.
const MAX_CONNECTIONS: u32 = 16;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

const USER_COLUMNS: &str = "id, email, user_handle, created_at, metadata::text AS metadata";
const CREDENTIAL_COLUMNS: &str = "id, user_id, passkey::text AS passkey, public_key, counter, \
     backup_eligible, backed_up, transports::text AS transports, aaguid, label, created_at, \
     last_used_at, metadata::text AS metadata";
const SESSION_COLUMNS: &str = "id, token_hash, user_id, auth_method, created_at, expires_at, \
     user_agent, ip_address, auth_context::text AS auth_context";
const QR_COLUMNS: &str = "id, status_token_hash, confirmation_hash, state, confirmed, \
     confirmation_attempts, user_id, session_id, authenticated_at, created_at, expires_at";

/// A [`Store`] in a PostgreSQL database. Clones share the same connection pool.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:5432/database`) and brings the
    /// schema up to date.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the server cannot be reached;
    /// [`StoreError::Internal`] for a malformed URL or a failed migration.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::open(url, None).await
    }

    /// Like [`PostgresStore::connect`], with every table in the schema `schema` (created
    /// if missing): several deployments or test runs can share one database.
    ///
    /// # Errors
    /// As [`PostgresStore::connect`]; [`StoreError::Internal`] for a schema name that is
    /// not `[A-Za-z_][A-Za-z0-9_]*`.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        let valid = schema
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && schema
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid || schema.len() > 63 {
            return Err(StoreError::Internal(format!(
                "invalid schema name {schema:?}"
            )));
        }
        Self::open(url, Some(schema)).await
    }

    async fn open(url: &str, schema: Option<&str>) -> Result<Self, StoreError> {
        let base = PgConnectOptions::from_str(url)
            .map_err(|error| StoreError::Internal(format!("invalid PostgreSQL URL: {error}")))?;
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
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(base.options(options))
            .await
            .map_err(map_error)?;
        MIGRATOR.run(&pool).await.map_err(|error| match error {
            sqlx::migrate::MigrateError::Execute(error) => map_error(error),
            other => StoreError::Internal(format!("PostgreSQL migration failed: {other}")),
        })?;
        Ok(Self { pool })
    }

    /// Closes every connection, waiting for calls in progress.
    pub async fn close(&self) {
        self.pool.close().await;
    }
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
                c if c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03" | "53300") => {
                    StoreError::Unavailable(error.to_string())
                }
                _ => StoreError::Internal(error.to_string()),
            }
        }
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error.to_string()),
        _ => StoreError::Internal(error.to_string()),
    }
}

/// The field a unique constraint (`users_email_key_key`, ...) is about.
fn conflict_field(constraint: Option<&str>) -> &'static str {
    match constraint.unwrap_or_default() {
        "users_email_key_key" => "email",
        "sessions_token_hash_key" | "magic_links_pkey" => "token_hash",
        "users_user_handle_key" => "user_handle",
        _ => "id",
    }
}

super::sql::record_decoders!(PgRow, Postgres);

fn state_names(states: &[QrSessionState]) -> Vec<&'static str> {
    states.iter().map(|state| state.as_str()).collect()
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
    /// Locks a user's row for the rest of `transaction`; its email, or `None` when the
    /// user does not exist.
    async fn lock_user(
        transaction: &mut sqlx::Transaction<'_, Postgres>,
        id: &str,
    ) -> Result<Option<Option<String>>, StoreError> {
        let row = sqlx::query("SELECT email FROM users WHERE id = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut **transaction)
            .await
            .map_err(map_error)?;
        row.map(|row| column::<Option<String>>(&row, "email"))
            .transpose()
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO users (id, email, email_key, user_handle, created_at, metadata) \
             VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
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
        sqlx::query(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
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
            "SELECT {USER_COLUMNS} FROM users WHERE email_key = $1"
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
        let mut transaction = self.pool.begin().await.map_err(map_error)?;
        if Self::lock_user(&mut transaction, id).await?.is_none() {
            return finish(transaction, Guarded::NotFound).await;
        }
        match new_email {
            // The UNIQUE email_key column refuses another user's address.
            Some(address) => {
                sqlx::query("UPDATE users SET email = $2, email_key = $3 WHERE id = $1")
                    .bind(id)
                    .bind(address)
                    .bind(email::canonical(address))
                    .execute(&mut *transaction)
                    .await
                    .map_err(map_error)?;
            }
            None => {
                let has_passkey: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM credentials WHERE user_id = $1)",
                )
                .bind(id)
                .fetch_one(&mut *transaction)
                .await
                .map_err(map_error)?;
                if !has_passkey {
                    return finish(transaction, Guarded::WouldLockOut).await;
                }
                sqlx::query("UPDATE users SET email = NULL, email_key = NULL WHERE id = $1")
                    .bind(id)
                    .execute(&mut *transaction)
                    .await
                    .map_err(map_error)?;
            }
        }
        transaction.commit().await.map_err(map_error)?;
        Ok(Guarded::Done)
    }

    async fn set_user_metadata(
        &self,
        id: &str,
        metadata: Option<&Metadata>,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query("UPDATE users SET metadata = $2::jsonb WHERE id = $1")
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
        let deleted = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(map_error)?
            .rows_affected();
        Ok(deleted > 0)
    }

    async fn create_credential(&self, credential: &CredentialRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO credentials (id, user_id, passkey, public_key, counter, \
             backup_eligible, backed_up, transports, aaguid, label, created_at, last_used_at, \
             metadata) VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12, \
             $13::jsonb)",
        )
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
        .map_err(map_error)?;
        Ok(())
    }

    async fn credential_by_id(&self, id: &str) -> Result<Option<CredentialRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = $1"
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
            "SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE user_id = $1 \
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
            "UPDATE credentials SET passkey = $2::jsonb, counter = $3, backed_up = $4, \
             last_used_at = $5 WHERE id = $1",
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
            "UPDATE credentials SET label = COALESCE($3, label), \
             metadata = COALESCE($4::jsonb, metadata) WHERE id = $1 AND user_id = $2",
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
        let mut transaction = self.pool.begin().await.map_err(map_error)?;
        let Some(email) = Self::lock_user(&mut transaction, user_id).await? else {
            return finish(transaction, Guarded::NotFound).await;
        };
        let row = sqlx::query(
            "SELECT EXISTS (SELECT 1 FROM credentials WHERE id = $1 AND user_id = $2) AS mine, \
             (SELECT COUNT(*) FROM credentials WHERE user_id = $2) AS total",
        )
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
        sqlx::query("DELETE FROM credentials WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&mut *transaction)
            .await
            .map_err(map_error)?;
        transaction.commit().await.map_err(map_error)?;
        Ok(Guarded::Done)
    }

    async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, user_id, auth_method, created_at, expires_at, \
             user_agent, ip_address, auth_context) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)",
        )
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
        .map_err(map_error)?;
        Ok(())
    }

    async fn session_by_token_hash(
        &self,
        token_hash: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<SessionRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1 AND expires_at > $2"
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
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = $1 AND expires_at > $2 \
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
        let deleted = sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&self.pool)
            .await
            .map_err(map_error)?
            .rows_affected();
        Ok(deleted > 0)
    }

    async fn delete_sessions_for_user(&self, user_id: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
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
            "SELECT {QR_COLUMNS} FROM qr_sessions WHERE id = $1"
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
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // One array parameter, however many ids: one round trip per re-check.
        sqlx::query(&format!(
            "SELECT {QR_COLUMNS} FROM qr_sessions WHERE id = ANY($1)"
        ))
        .bind(ids)
        .fetch_all(&self.pool)
        .await
        .map_err(map_error)?
        .iter()
        .map(qr_from_row)
        .collect()
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
        // Compare and set in one statement. A racing UPDATE of the same row waits for the
        // first to commit, then re-checks the WHERE on the new row: one winner.
        sqlx::query(&format!(
            "UPDATE qr_sessions SET state = $3, confirmed = (confirmed OR $4), \
             user_id = COALESCE($5, user_id), session_id = COALESCE($6, session_id), \
             authenticated_at = COALESCE($7, authenticated_at), \
             expires_at = COALESCE($8, expires_at) \
             WHERE id = $1 AND expires_at > $2 AND state = ANY($9) RETURNING {QR_COLUMNS}"
        ))
        .bind(id)
        .bind(now.as_unix_millis())
        .bind(change.transition.to.as_str())
        .bind(change.confirm)
        .bind(&change.user_id)
        .bind(&change.session_id)
        .bind(change.authenticated_at.map(Timestamp::as_unix_millis))
        .bind(change.expires_at.map(Timestamp::as_unix_millis))
        .bind(state_names(from))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?
        .as_ref()
        .map(qr_from_row)
        .transpose()
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
        let row = sqlx::query(
            "UPDATE qr_sessions SET confirmation_attempts = confirmation_attempts + 1 \
             WHERE id = $1 AND expires_at > $2 AND NOT confirmed \
             AND confirmation_attempts < $3 AND state = ANY($4) \
             RETURNING confirmation_attempts",
        )
        .bind(id)
        .bind(now.as_unix_millis())
        .bind(i64::from(max_attempts))
        .bind(state_names(states))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let attempts: i64 = column(&row, "confirmation_attempts")?;
        u32::try_from(attempts)
            .map(Some)
            .map_err(|error| corrupt("confirmation_attempts", error))
    }

    async fn put_challenge(&self, challenge: &ChallengeRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO challenges (challenge, ceremony, expires_at) VALUES ($1, $2::jsonb, $3) \
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
        // row. An expired row is removed too, but nobody gets it.
        let row = sqlx::query(
            "DELETE FROM challenges WHERE challenge = $1 \
             RETURNING ceremony::text AS ceremony, expires_at",
        )
        .bind(challenge)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let expires_at = timestamp_column(&row, "expires_at")?;
        if expires_at <= now {
            return Ok(None);
        }
        Ok(Some(ChallengeRecord {
            challenge: challenge.to_owned(),
            ceremony: json_column(&row, "ceremony")?,
            expires_at,
        }))
    }

    async fn put_magic_link(&self, link: &MagicLinkRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO magic_links (token_hash, email, created_at, expires_at) \
             VALUES ($1, $2, $3, $4)",
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
        // As `take_challenge`: one DELETE … RETURNING, one winner among racing takers.
        let row = sqlx::query(
            "DELETE FROM magic_links WHERE token_hash = $1 \
             RETURNING email, created_at, expires_at",
        )
        .bind(token_hash.as_bytes().as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(map_error)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let expires_at = timestamp_column(&row, "expires_at")?;
        if expires_at <= now {
            return Ok(None);
        }
        Ok(Some(MagicLinkRecord {
            token_hash: *token_hash,
            email: column(&row, "email")?,
            created_at: timestamp_column(&row, "created_at")?,
            expires_at,
        }))
    }

    async fn delete_magic_link(&self, token_hash: &TokenHash) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM magic_links WHERE token_hash = $1")
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
            "DELETE FROM sessions WHERE expires_at <= $1",
            "DELETE FROM challenges WHERE expires_at <= $1",
            "DELETE FROM magic_links WHERE expires_at <= $1",
            "DELETE FROM qr_sessions WHERE expires_at <= $1",
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
        assert_eq!(conflict_field(Some("users_email_key_key")), "email");
        assert_eq!(conflict_field(Some("users_pkey")), "id");
        assert_eq!(
            conflict_field(Some("sessions_token_hash_key")),
            "token_hash"
        );
        assert_eq!(conflict_field(None), "id");
    }

    #[tokio::test]
    async fn schema_names_are_checked_before_use() {
        for bad in ["", "1abc", "a-b", "x\"; DROP TABLE users; --"] {
            assert!(matches!(
                PostgresStore::connect_in_schema("postgres://127.0.0.1:1/db", bad).await,
                Err(StoreError::Internal(message)) if message.starts_with("invalid schema")
            ));
        }
    }
}
