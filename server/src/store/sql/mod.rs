//! What the SQL stores share: the statements ([`queries`]) and small decoding helpers;
//! for PostgreSQL (sqlx) also decoding rows as records (`record_decoders!`) and every
//! [`Store`](crate::store::Store) method (`sql_store!`). The SQLite store runs the same
//! statements through rusqlite (see `store/sqlite.rs` for why).
//!
//! SQLite and PostgreSQL keep the same columns (times as integer milliseconds, JSON as
//! `sqlx::types::Json`, hashes and UUIDs as bytes), so one definition serves both. Each
//! backend keeps by hand only what truly differs: connecting, sorting its errors
//! (`map_error`), its lists (`list_condition`, `bind_list`, `LIST_BATCH`) and the two
//! lock-out guards.

pub(crate) mod queries;

use crate::secrets::TokenHash;
use crate::store::{SecurityEventRecord, StoreError};
use passkey_magic_shared::security_events::{SecurityEvent, SecurityEventType, SignInFailure};
use passkey_magic_shared::{AuthMethod, Timestamp};
use uuid::Uuid;

/// A value in the database that cannot be what the schema says.
pub(crate) fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("corrupt {what} in the database: {error}").into())
}

/// A UUID stored as 16 bytes.
pub(crate) fn uuid_from_bytes(name: &str, bytes: &[u8]) -> Result<Uuid, StoreError> {
    Uuid::from_slice(bytes).map_err(|error| corrupt(name, error))
}

/// A SHA-256 hash stored as 32 bytes.
pub(crate) fn hash_from_bytes(name: &str, bytes: Vec<u8>) -> Result<TokenHash, StoreError> {
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|_| corrupt(name, "not 32 bytes"))?;
    Ok(TokenHash::from_bytes(bytes))
}

/// A row of `security_events`, from its text columns (`text(name)`, `None` for NULL) and
/// its time: both SQL backends decode through this.
pub(crate) fn security_event_from_columns(
    text: impl Fn(&str) -> Result<Option<String>, StoreError>,
    created_at: i64,
) -> Result<SecurityEventRecord, StoreError> {
    let required = |name: &str| text(name)?.ok_or_else(|| corrupt(name, "NULL"));
    let kind = required("type")?;
    let method = text("method")?
        .map(|name| {
            [AuthMethod::Passkey, AuthMethod::MagicLink, AuthMethod::Qr]
                .into_iter()
                .find(|method| method.as_str() == name)
                .ok_or_else(|| corrupt("method", &name))
        })
        .transpose()?;
    let reason = text("reason")?
        .map(|name| SignInFailure::from_name(&name).ok_or_else(|| corrupt("reason", &name)))
        .transpose()?;
    Ok(SecurityEventRecord {
        user_id: required("user_id")?,
        event: SecurityEvent {
            id: required("id")?,
            kind: SecurityEventType::from_name(&kind).ok_or_else(|| corrupt("type", &kind))?,
            created_at: Timestamp::from_unix_millis(created_at),
            method,
            reason,
            ip_address: text("ip_address")?,
            user_agent: text("user_agent")?,
            credential_id: text("credential_id")?,
            session_id: text("session_id")?,
        },
    })
}

#[cfg(feature = "postgres")]
/// Defines `column`, `json_column`, `json_column_opt`, `timestamp_column` and the
/// `*_from_row` decoders of every record for one sqlx row type.
macro_rules! record_decoders {
    ($row:ty, $db:ty) => {
        fn column<'r, T>(row: &'r $row, name: &str) -> Result<T, StoreError>
        where
            T: Decode<'r, $db> + Type<$db>,
        {
            row.try_get(name)
                .map_err(|error| $crate::store::sql::corrupt(name, error))
        }

        fn json_column<T: DeserializeOwned + 'static>(
            row: &$row,
            name: &str,
        ) -> Result<T, StoreError> {
            column::<sqlx::types::Json<T>>(row, name).map(|json| json.0)
        }

        fn json_column_opt<T: DeserializeOwned + 'static>(
            row: &$row,
            name: &str,
        ) -> Result<Option<T>, StoreError> {
            column::<Option<sqlx::types::Json<T>>>(row, name).map(|json| json.map(|json| json.0))
        }

        fn timestamp_column(row: &$row, name: &str) -> Result<Timestamp, StoreError> {
            column::<i64>(row, name).map(Timestamp::from_unix_millis)
        }

        fn user_from_row(row: &$row) -> Result<UserRecord, StoreError> {
            let handle: Vec<u8> = column(row, "user_handle")?;
            Ok(UserRecord {
                id: column(row, "id")?,
                email: column(row, "email")?,
                user_handle: $crate::store::sql::uuid_from_bytes("user_handle", &handle)?,
                created_at: timestamp_column(row, "created_at")?,
                metadata: json_column_opt(row, "metadata")?,
            })
        }

        fn credential_from_row(row: &$row) -> Result<CredentialRecord, StoreError> {
            let counter: i64 = column(row, "counter")?;
            let aaguid: Option<Vec<u8>> = column(row, "aaguid")?;
            let last_used_at: Option<i64> = column(row, "last_used_at")?;
            Ok(CredentialRecord {
                id: column(row, "id")?,
                user_id: column(row, "user_id")?,
                passkey: json_column(row, "passkey")?,
                public_key: column(row, "public_key")?,
                counter: u32::try_from(counter)
                    .map_err(|error| $crate::store::sql::corrupt("counter", error))?,
                backup_eligible: column(row, "backup_eligible")?,
                backed_up: column(row, "backed_up")?,
                transports: json_column(row, "transports")?,
                aaguid: aaguid
                    .map(|bytes| $crate::store::sql::uuid_from_bytes("aaguid", &bytes))
                    .transpose()?,
                label: column(row, "label")?,
                created_at: timestamp_column(row, "created_at")?,
                last_used_at: last_used_at.map(Timestamp::from_unix_millis),
                metadata: json_column_opt(row, "metadata")?,
            })
        }

        fn session_from_row(row: &$row) -> Result<SessionRecord, StoreError> {
            let hash: Vec<u8> = column(row, "token_hash")?;
            let hash: [u8; 32] = hash
                .try_into()
                .map_err(|_| $crate::store::sql::corrupt("token_hash", "not 32 bytes"))?;
            let method: String = column(row, "auth_method")?;
            let auth_method: AuthMethod = serde_json::from_value(serde_json::Value::String(method))
                .map_err(|error| $crate::store::sql::corrupt("auth_method", error))?;
            Ok(SessionRecord {
                id: column(row, "id")?,
                token_hash: TokenHash::from_bytes(hash),
                user_id: column(row, "user_id")?,
                auth_method,
                created_at: timestamp_column(row, "created_at")?,
                expires_at: timestamp_column(row, "expires_at")?,
                user_agent: column(row, "user_agent")?,
                ip_address: column(row, "ip_address")?,
                auth_context: json_column_opt(row, "auth_context")?,
            })
        }

        /// A row of `SESSION_WITH_USER`: the session's columns, then the user's
        /// prefixed `user_` (its id is the session's `user_id`).
        fn session_with_user_from_row(
            row: &$row,
        ) -> Result<(SessionRecord, UserRecord), StoreError> {
            let session = session_from_row(row)?;
            let user = joined_user(row, &session.user_id)?;
            Ok((session, user))
        }

        /// A row of `CREDENTIAL_WITH_USER`: the credential's columns, then the user's.
        fn credential_with_user_from_row(
            row: &$row,
        ) -> Result<(CredentialRecord, UserRecord), StoreError> {
            let credential = credential_from_row(row)?;
            let user = joined_user(row, &credential.user_id)?;
            Ok((credential, user))
        }

        /// The challenge `challenge` of a row with `ceremony` and `expires_at` columns,
        /// if the row holds one (they may be `NULL`) that is live at `now`.
        fn live_challenge_from_row(
            row: &$row,
            challenge: &str,
            now: Timestamp,
        ) -> Result<Option<ChallengeRecord>, StoreError> {
            let expires_at: Option<i64> = column(row, "expires_at")?;
            match expires_at.map(Timestamp::from_unix_millis) {
                Some(expires_at) if expires_at > now => Ok(Some(ChallengeRecord {
                    challenge: challenge.to_owned(),
                    ceremony: json_column(row, "ceremony")?,
                    expires_at,
                })),
                _ => Ok(None),
            }
        }

        /// The user of a joined row (`joined_user_columns!`), whose id is `id`.
        fn joined_user(row: &$row, id: &str) -> Result<UserRecord, StoreError> {
            let handle: Vec<u8> = column(row, "user_handle")?;
            Ok(UserRecord {
                id: id.to_owned(),
                email: column(row, "user_email")?,
                user_handle: $crate::store::sql::uuid_from_bytes("user_handle", &handle)?,
                created_at: timestamp_column(row, "user_created_at")?,
                metadata: json_column_opt(row, "user_metadata")?,
            })
        }

        fn security_event_from_row(
            row: &$row,
        ) -> Result<$crate::store::SecurityEventRecord, StoreError> {
            $crate::store::sql::security_event_from_columns(
                |name| column::<Option<String>>(row, name),
                column(row, "created_at")?,
            )
        }

        fn qr_from_row(row: &$row) -> Result<QrSessionRecord, StoreError> {
            let state: String = column(row, "state")?;
            let attempts: i64 = column(row, "confirmation_attempts")?;
            let confirmation_hash: Option<Vec<u8>> = column(row, "confirmation_hash")?;
            let authenticated_at: Option<i64> = column(row, "authenticated_at")?;
            Ok(QrSessionRecord {
                id: column(row, "id")?,
                status_token_hash: $crate::store::sql::hash_from_bytes(
                    "status_token_hash",
                    column(row, "status_token_hash")?,
                )?,
                confirmation_hash: confirmation_hash
                    .map(|bytes| $crate::store::sql::hash_from_bytes("confirmation_hash", bytes))
                    .transpose()?,
                state: QrSessionState::from_name(&state)
                    .ok_or_else(|| $crate::store::sql::corrupt("state", &state))?,
                confirmed: column(row, "confirmed")?,
                confirmation_attempts: u32::try_from(attempts)
                    .map_err(|error| $crate::store::sql::corrupt("confirmation_attempts", error))?,
                user_id: column(row, "user_id")?,
                session_id: column(row, "session_id")?,
                authenticated_at: authenticated_at.map(Timestamp::from_unix_millis),
                created_at: timestamp_column(row, "created_at")?,
                expires_at: timestamp_column(row, "expires_at")?,
            })
        }
    };
}

#[cfg(feature = "postgres")]
pub(crate) use record_decoders;

#[cfg(feature = "postgres")]
/// `impl Store for $store`: the hand-written methods given in braces, plus every method
/// whose statements are the same on both SQL backends. The backend module provides the
/// statement connections (`self.connection()`, `kept_if_healthy`, `self.connections`),
/// the pool for migrations (`self.pool`), `MIGRATOR`, `RECORD_CREDENTIAL_USE` (the
/// counter compare-and-set), the types `DbPool`, `DbQuery<'q>` and `DbRow`,
/// `map_error`, the
/// `*_from_row` decoders of [`record_decoders!`],
/// `list_condition(first, count)` (the SQL after `… id`/`… state` for a list of `count`
/// values bound from `$first`), `bind_list(query, values)` and `LIST_BATCH` (values per
/// statement).
macro_rules! sql_store {
    ($store:ty, { $($custom:tt)* }) => {
        impl $store {
            /// Closes every connection, waiting for calls in progress. Later calls fail
            /// with [`StoreError::Unavailable`].
            pub async fn close(&self) {
                self.connections.close();
                self.pool.close().await;
            }

            /// Brings the schema of `pool` up to date with the embedded migrations.
            async fn migrate(pool: &DbPool) -> Result<(), StoreError> {
                MIGRATOR.run(pool).await.map_err(|error| match error {
                    sqlx::migrate::MigrateError::Execute(error) => map_error(error),
                    other => StoreError::Internal($crate::store::StoreCause::new(other)),
                })
            }

            /// Runs a statement; how many rows it changed.
            async fn changed(&self, query: DbQuery<'_>) -> Result<u64, StoreError> {
                let mut connection = self.connection().await?;
                let result = query.execute(&mut *connection).await;
                Ok(kept_if_healthy(connection, result)?.rows_affected())
            }

            /// The row a statement returns, if any, decoded.
            async fn one<T>(
                &self,
                query: DbQuery<'_>,
                decode: fn(&DbRow) -> Result<T, StoreError>,
            ) -> Result<Option<T>, StoreError> {
                let mut connection = self.connection().await?;
                let result = query.fetch_optional(&mut *connection).await;
                kept_if_healthy(connection, result)?
                    .as_ref()
                    .map(decode)
                    .transpose()
            }

            /// The rows a statement returns.
            async fn rows(&self, query: DbQuery<'_>) -> Result<Vec<DbRow>, StoreError> {
                let mut connection = self.connection().await?;
                let result = query.fetch_all(&mut *connection).await;
                kept_if_healthy(connection, result)
            }

            /// The row a take (`DELETE … RETURNING …, expires_at`) removed, if it was
            /// unexpired at `now`: of racing takers one gets the row, and an expired row is
            /// removed too but handed to nobody.
            async fn take_live(
                &self,
                query: DbQuery<'_>,
                now: Timestamp,
            ) -> Result<Option<DbRow>, StoreError> {
                let Some(row) = self.rows(query).await?.into_iter().next() else {
                    return Ok(None);
                };
                Ok((timestamp_column(&row, "expires_at")? > now).then_some(row))
            }

            /// Appends a security event with `statement` (an insert of its columns, bound
            /// in [`queries::INSERT_SECURITY_EVENT`]'s order).
            async fn insert_security_event(
                &self,
                statement: &'static str,
                record: &$crate::store::SecurityEventRecord,
            ) -> Result<(), StoreError> {
                self.changed(Self::bind_security_event(sqlx::query(statement), record))
                    .await?;
                Ok(())
            }

            /// `query` with an event's values bound next, in `security_event_columns!`
            /// order.
            fn bind_security_event<'q>(
                query: DbQuery<'q>,
                record: &'q $crate::store::SecurityEventRecord,
            ) -> DbQuery<'q> {
                let event = &record.event;
                query
                    .bind(&event.id)
                    .bind(&record.user_id)
                    .bind(event.kind.as_str())
                    .bind(event.created_at.as_unix_millis())
                    .bind(event.method.map(AuthMethod::as_str))
                    .bind(event.reason.map(|reason| reason.as_str()))
                    .bind(&event.ip_address)
                    .bind(&event.user_agent)
                    .bind(&event.credential_id)
                    .bind(&event.session_id)
            }

            /// `query` with a session's values bound next, in `session_columns!` order.
            fn bind_session<'q>(query: DbQuery<'q>, session: &'q SessionRecord) -> DbQuery<'q> {
                query
                    .bind(&session.id)
                    .bind(session.token_hash.as_bytes().as_slice())
                    .bind(&session.user_id)
                    .bind(session.auth_method.as_str())
                    .bind(session.created_at.as_unix_millis())
                    .bind(session.expires_at.as_unix_millis())
                    .bind(&session.user_agent)
                    .bind(&session.ip_address)
                    .bind(session.auth_context.as_ref().map(Json))
            }

            /// The rows a statement returns, decoded.
            async fn all<T>(
                &self,
                query: DbQuery<'_>,
                decode: fn(&DbRow) -> Result<T, StoreError>,
            ) -> Result<Vec<T>, StoreError> {
                let mut connection = self.connection().await?;
                let result = query.fetch_all(&mut *connection).await;
                kept_if_healthy(connection, result)?
                    .iter()
                    .map(decode)
                    .collect()
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            $($custom)*

            async fn create_user(&self, user: &UserRecord) -> Result<(), StoreError> {
                self.changed(
                    sqlx::query(queries::INSERT_USER)
                        .bind(&user.id)
                        .bind(&user.email)
                        .bind(user.email.as_deref().map(email::canonical))
                        .bind(user.user_handle.as_bytes().as_slice())
                        .bind(user.created_at.as_unix_millis())
                        .bind(user.metadata.as_ref().map(Json)),
                )
                .await?;
                Ok(())
            }

            async fn user_by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
                self.one(sqlx::query(queries::USER_BY_ID).bind(id), user_from_row)
                    .await
            }

            async fn user_by_email(&self, address: &str) -> Result<Option<UserRecord>, StoreError> {
                self.one(
                    sqlx::query(queries::USER_BY_EMAIL).bind(email::canonical(address)),
                    user_from_row,
                )
                .await
            }

            async fn set_user_metadata(
                &self,
                id: &str,
                metadata: Option<&Metadata>,
            ) -> Result<bool, StoreError> {
                let changed = self
                    .changed(
                        sqlx::query(queries::SET_USER_METADATA)
                            .bind(id)
                            .bind(metadata.map(Json)),
                    )
                    .await?;
                Ok(changed > 0)
            }

            async fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
                let deleted = self
                    .changed(sqlx::query(queries::DELETE_USER).bind(id))
                    .await?;
                Ok(deleted > 0)
            }

            async fn create_credential(&self, credential: &CredentialRecord) -> Result<(), StoreError> {
                self.changed(
                    sqlx::query(queries::INSERT_CREDENTIAL)
                        .bind(&credential.id)
                        .bind(&credential.user_id)
                        .bind(Json(&credential.passkey))
                        .bind(credential.public_key.as_slice())
                        .bind(i64::from(credential.counter))
                        .bind(credential.backup_eligible)
                        .bind(credential.backed_up)
                        .bind(Json(&credential.transports))
                        .bind(credential.aaguid.as_ref().map(|id| id.as_bytes().to_vec()))
                        .bind(&credential.label)
                        .bind(credential.created_at.as_unix_millis())
                        .bind(credential.last_used_at.map(Timestamp::as_unix_millis))
                        .bind(credential.metadata.as_ref().map(Json)),
                )
                .await?;
                Ok(())
            }

            async fn credential_by_id(&self, id: &str) -> Result<Option<CredentialRecord>, StoreError> {
                self.one(
                    sqlx::query(queries::CREDENTIAL_BY_ID).bind(id),
                    credential_from_row,
                )
                .await
            }

            async fn credential_with_user(
                &self,
                id: &str,
            ) -> Result<Option<(CredentialRecord, UserRecord)>, StoreError> {
                self.one(
                    sqlx::query(queries::CREDENTIAL_WITH_USER).bind(id),
                    credential_with_user_from_row,
                )
                .await
            }

            async fn credentials_for_user(
                &self,
                user_id: &str,
            ) -> Result<Vec<CredentialRecord>, StoreError> {
                self.all(
                    sqlx::query(queries::CREDENTIALS_FOR_USER).bind(user_id),
                    credential_from_row,
                )
                .await
            }

            async fn record_credential_use(&self, usage: &CredentialUsage) -> Result<bool, StoreError> {
                let changed = self
                    .changed(
                        sqlx::query(RECORD_CREDENTIAL_USE)
                            .bind(&usage.id)
                            .bind(Json(&usage.passkey))
                            .bind(i64::from(usage.counter))
                            .bind(usage.backed_up)
                            .bind(usage.used_at.as_unix_millis()),
                    )
                    .await?;
                Ok(changed > 0)
            }

            async fn update_credential(
                &self,
                user_id: &str,
                id: &str,
                label: Option<&str>,
                metadata: Option<&Metadata>,
            ) -> Result<bool, StoreError> {
                let changed = self
                    .changed(
                        sqlx::query(queries::UPDATE_CREDENTIAL)
                            .bind(id)
                            .bind(user_id)
                            .bind(label)
                            .bind(metadata.map(Json)),
                    )
                    .await?;
                Ok(changed > 0)
            }

            async fn create_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
                self.changed(Self::bind_session(sqlx::query(queries::INSERT_SESSION), session))
                    .await?;
                Ok(())
            }

            async fn session_by_token_hash(
                &self,
                token_hash: &TokenHash,
                now: Timestamp,
            ) -> Result<Option<SessionRecord>, StoreError> {
                self.one(
                    sqlx::query(queries::SESSION_BY_TOKEN_HASH)
                        .bind(token_hash.as_bytes().as_slice())
                        .bind(now.as_unix_millis()),
                    session_from_row,
                )
                .await
            }

            async fn sessions_for_user(
                &self,
                user_id: &str,
                now: Timestamp,
            ) -> Result<Vec<SessionRecord>, StoreError> {
                self.all(
                    sqlx::query(queries::SESSIONS_FOR_USER)
                        .bind(user_id)
                        .bind(now.as_unix_millis()),
                    session_from_row,
                )
                .await
            }

            async fn delete_session(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
                let deleted = self
                    .changed(sqlx::query(queries::DELETE_SESSION).bind(id).bind(user_id))
                    .await?;
                Ok(deleted > 0)
            }

            async fn delete_sessions_for_user(&self, user_id: &str) -> Result<u64, StoreError> {
                Ok(self
                    .changed(sqlx::query(queries::DELETE_SESSIONS_FOR_USER).bind(user_id))
                    .await?)
            }

            async fn create_qr_session(&self, qr: &QrSessionRecord) -> Result<(), StoreError> {
                self.changed(
                    sqlx::query(queries::INSERT_QR)
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
                        .bind(qr.expires_at.as_unix_millis()),
                )
                .await?;
                Ok(())
            }

            async fn qr_sessions_by_ids(&self, ids: &[String]) -> Result<Vec<QrSessionRecord>, StoreError> {
                let mut found = Vec::new();
                for chunk in ids.chunks(LIST_BATCH) {
                    let sql = format!("{}{}", queries::QR_WHERE_ID, list_condition(1, chunk.len()));
                    let values = chunk.iter().map(String::as_str).collect();
                    let rows = self.rows(bind_list(sqlx::query(&sql), values)).await?;
                    for row in &rows {
                        found.push(qr_from_row(row)?);
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
                let sql = format!(
                    "{}{}{}",
                    queries::TRANSITION_QR_WHERE_STATE,
                    list_condition(9, from.len()),
                    queries::QR_RETURNING
                );
                let query = sqlx::query(&sql)
                    .bind(id)
                    .bind(now.as_unix_millis())
                    .bind(change.transition.to.as_str())
                    .bind(change.confirm)
                    .bind(&change.user_id)
                    .bind(&change.session_id)
                    .bind(change.authenticated_at.map(Timestamp::as_unix_millis))
                    .bind(change.expires_at.map(Timestamp::as_unix_millis));
                // `fetch_all` runs the statement to completion (at most one row).
                let rows = self
                    .rows(bind_list(
                        query,
                        from.iter().map(|state| state.as_str()).collect(),
                    ))
                    .await?;
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
                    "{}{}{}",
                    queries::COUNT_ATTEMPT_WHERE_STATE,
                    list_condition(4, states.len()),
                    queries::ATTEMPTS_RETURNING
                );
                let query = sqlx::query(&sql)
                    .bind(id)
                    .bind(now.as_unix_millis())
                    .bind(i64::from(max_attempts));
                let rows = self
                    .rows(bind_list(
                        query,
                        states.iter().map(|state| state.as_str()).collect(),
                    ))
                    .await?;
                let Some(row) = rows.first() else {
                    return Ok(None);
                };
                let attempts: i64 = column(row, "confirmation_attempts")?;
                u32::try_from(attempts)
                    .map(Some)
                    .map_err(|error| $crate::store::sql::corrupt("confirmation_attempts", error))
            }

            async fn take_challenge(
                &self,
                challenge: &str,
                now: Timestamp,
            ) -> Result<Option<ChallengeRecord>, StoreError> {
                let query = sqlx::query(queries::TAKE_CHALLENGE).bind(challenge);
                match self.rows(query).await?.first() {
                    Some(row) => live_challenge_from_row(row, challenge, now),
                    None => Ok(None),
                }
            }

            async fn put_magic_link(&self, link: &MagicLinkRecord) -> Result<(), StoreError> {
                self.changed(
                    sqlx::query(queries::PUT_MAGIC_LINK)
                        .bind(link.token_hash.as_bytes().as_slice())
                        .bind(&link.email)
                        .bind(link.created_at.as_unix_millis())
                        .bind(link.expires_at.as_unix_millis()),
                )
                .await?;
                Ok(())
            }

            async fn take_magic_link(
                &self,
                token_hash: &TokenHash,
                now: Timestamp,
            ) -> Result<Option<MagicLinkRecord>, StoreError> {
                let query =
                    sqlx::query(queries::TAKE_MAGIC_LINK).bind(token_hash.as_bytes().as_slice());
                let Some(row) = self.take_live(query, now).await? else {
                    return Ok(None);
                };
                Ok(Some(MagicLinkRecord {
                    token_hash: *token_hash,
                    email: column(&row, "email")?,
                    created_at: timestamp_column(&row, "created_at")?,
                    expires_at: timestamp_column(&row, "expires_at")?,
                }))
            }

            async fn delete_magic_link(&self, token_hash: &TokenHash) -> Result<bool, StoreError> {
                let deleted = self
                    .changed(sqlx::query(queries::DELETE_MAGIC_LINK).bind(token_hash.as_bytes().as_slice()))
                    .await?;
                Ok(deleted > 0)
            }

            async fn put_email_link(&self, link: &EmailLinkRecord) -> Result<(), StoreError> {
                self.changed(
                    sqlx::query(queries::PUT_EMAIL_LINK)
                        .bind(link.token_hash.as_bytes().as_slice())
                        .bind(&link.user_id)
                        .bind(&link.email)
                        .bind(link.created_at.as_unix_millis())
                        .bind(link.expires_at.as_unix_millis()),
                )
                .await?;
                Ok(())
            }

            async fn take_email_link(
                &self,
                token_hash: &TokenHash,
                now: Timestamp,
            ) -> Result<Option<EmailLinkRecord>, StoreError> {
                let query =
                    sqlx::query(queries::TAKE_EMAIL_LINK).bind(token_hash.as_bytes().as_slice());
                let Some(row) = self.take_live(query, now).await? else {
                    return Ok(None);
                };
                Ok(Some(EmailLinkRecord {
                    token_hash: *token_hash,
                    user_id: column(&row, "user_id")?,
                    email: column(&row, "email")?,
                    created_at: timestamp_column(&row, "created_at")?,
                    expires_at: timestamp_column(&row, "expires_at")?,
                }))
            }

            async fn append_security_event(
                &self,
                record: &$crate::store::SecurityEventRecord,
            ) -> Result<(), StoreError> {
                self.insert_security_event(queries::INSERT_SECURITY_EVENT, record)
                    .await
            }

            async fn security_events_for_user(
                &self,
                user_id: &str,
                after: Option<&passkey_magic_shared::security_events::EventCursor>,
                limit: usize,
            ) -> Result<Vec<$crate::store::SecurityEventRecord>, StoreError> {
                let limit = i64::try_from(limit).unwrap_or(i64::MAX);
                let query = match after {
                    None => sqlx::query(queries::SECURITY_EVENTS_FOR_USER)
                        .bind(user_id)
                        .bind(limit),
                    Some(cursor) => sqlx::query(queries::SECURITY_EVENTS_FOR_USER_AFTER)
                        .bind(user_id)
                        .bind(limit)
                        .bind(cursor.created_at.as_unix_millis())
                        .bind(cursor.id.as_str()),
                };
                self.all(query, security_event_from_row).await
            }

            async fn purge_security_events(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
                self.changed(
                    sqlx::query(queries::PURGE_SECURITY_EVENTS).bind(cutoff.as_unix_millis()),
                )
                .await
            }

            async fn purge_expired(&self, now: Timestamp) -> Result<Purged, StoreError> {
                let expired_qr_logins = self
                    .changed(sqlx::query(queries::PURGE_EXPIRED_QR).bind(now.as_unix_millis()))
                    .await?;
                let mut rows = expired_qr_logins;
                for statement in queries::PURGE {
                    rows += self
                        .changed(sqlx::query(statement).bind(now.as_unix_millis()))
                        .await?;
                }
                Ok(Purged {
                    rows,
                    expired_qr_logins,
                })
            }
        }
    };
}

#[cfg(feature = "postgres")]
pub(crate) use sql_store;
