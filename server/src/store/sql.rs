//! What the SQL stores share: encoding records as rows and rows back as records.
//!
//! SQLite and PostgreSQL keep the same columns (times as integer milliseconds, JSON as
//! text on the way in and out, hashes and UUIDs as bytes), so one definition of each
//! record's decoding serves both; [`record_decoders!`] stamps it for a backend's row type.

use crate::secrets::TokenHash;
use crate::store::StoreError;
use serde::Serialize;
use uuid::Uuid;

/// A value in the database that cannot be what the schema says.
pub(crate) fn corrupt(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("corrupt {what} in the database: {error}"))
}

/// JSON text of a value.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value)
        .map_err(|error| StoreError::Internal(format!("cannot encode JSON: {error}")))
}

/// JSON text of an optional value.
pub(crate) fn to_json_opt<T: Serialize>(value: Option<&T>) -> Result<Option<String>, StoreError> {
    value.map(to_json).transpose()
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

        fn json_column<T: DeserializeOwned>(row: &$row, name: &str) -> Result<T, StoreError> {
            let text: String = column(row, name)?;
            serde_json::from_str(&text).map_err(|error| $crate::store::sql::corrupt(name, error))
        }

        fn json_column_opt<T: DeserializeOwned>(
            row: &$row,
            name: &str,
        ) -> Result<Option<T>, StoreError> {
            let text: Option<String> = column(row, name)?;
            text.map(|text| {
                serde_json::from_str(&text)
                    .map_err(|error| $crate::store::sql::corrupt(name, error))
            })
            .transpose()
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

pub(crate) use record_decoders;
