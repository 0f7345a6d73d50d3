//! Records → wire entities, with the app's metadata types.

use crate::auth::MetadataType;
use crate::error::{Error, InternalError, Result};
use crate::secrets::{BearerToken, base64url};
use crate::store::{CredentialRecord, SessionRecord, UserRecord};
use passkey_magic_shared::{Credential, DeviceType, Metadata, RequestError, Session, User};
use serde_json::Value;

/// Stored JSON-object metadata as the app's type.
pub(crate) fn metadata_from_store<M: MetadataType>(stored: &Option<Metadata>) -> Result<Option<M>> {
    stored
        .as_ref()
        .map(|map| {
            serde_json::from_value(Value::Object(map.clone()))
                .map_err(|error| Error::Internal(InternalError::Metadata(error)))
        })
        .transpose()
}

/// The app's metadata as the JSON object that is stored.
pub(crate) fn metadata_to_store<M: MetadataType>(metadata: &M) -> Result<Metadata> {
    match serde_json::to_value(metadata) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::Request(RequestError::WrongType {
            name: "metadata",
            expected: "object",
        })),
        Err(error) => Err(Error::Internal(InternalError::Metadata(error))),
    }
}

/// A user as the app sees it.
pub(crate) fn user<U: MetadataType>(record: &UserRecord) -> Result<User<U>> {
    Ok(User {
        id: record.id.clone(),
        email: record.email.clone(),
        created_at: record.created_at,
        metadata: metadata_from_store(&record.metadata)?,
    })
}

/// A user with untyped metadata (for hooks).
pub(crate) fn plain_user(record: &UserRecord) -> User {
    User {
        id: record.id.clone(),
        email: record.email.clone(),
        created_at: record.created_at,
        metadata: record.metadata.clone(),
    }
}

/// A credential as the app sees it.
pub(crate) fn credential<C: MetadataType>(record: &CredentialRecord) -> Result<Credential<C>> {
    Ok(Credential {
        id: record.id.clone(),
        user_id: record.user_id.clone(),
        public_key: base64url(&record.public_key),
        counter: record.counter,
        device_type: if record.backup_eligible {
            DeviceType::MultiDevice
        } else {
            DeviceType::SingleDevice
        },
        backed_up: record.backed_up,
        transports: (!record.transports.is_empty()).then(|| record.transports.clone()),
        label: record.label.clone(),
        created_at: record.created_at,
        metadata: metadata_from_store(&record.metadata)?,
        // All zeros means "no model given" (attestation "none" or a privacy-minded
        // authenticator): no provider to name.
        aaguid: record
            .aaguid
            .filter(|aaguid| !aaguid.is_nil())
            .map(|aaguid| aaguid.hyphenated().to_string()),
        last_used_at: record.last_used_at,
    })
}

/// The session as hooks see it: never with a token, whatever path created it.
pub(crate) fn without_token(session: &Session) -> Session {
    Session {
        token: None,
        ..session.clone()
    }
}

/// A session; `token` only in the response that created it.
pub(crate) fn session(record: &SessionRecord, token: Option<&BearerToken>) -> Session {
    Session {
        id: record.id.clone(),
        token: token.cloned(),
        user_id: record.user_id.clone(),
        auth_method: record.auth_method,
        expires_at: record.expires_at,
        created_at: record.created_at,
        user_agent: record.user_agent.clone(),
        ip_address: record.ip_address.clone(),
        auth_context: record.auth_context.clone(),
    }
}
