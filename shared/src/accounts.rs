//! Bodies of the account routes (17–29).

use crate::entities::{Credential, Metadata, User};
use crate::error::RequestError;
use crate::limits::{MAX_EMAIL_LEN, MAX_LABEL_LEN};
use crate::request::{Fields, FromJsonObject, metadata};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Routes 17, 18, 26, 27 response: `{user}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountResponse<M = Metadata> {
    /// The caller's account.
    pub user: User<M>,
}

/// Route 18 request: `{metadata?}`. Without `metadata` nothing changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateAccountRequest<M = Metadata> {
    /// Replaces the user's metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<M>,
}

impl<M: DeserializeOwned> FromJsonObject for UpdateAccountRequest<M> {
    fn from_object(fields: &Fields<'_>) -> Result<Self, RequestError> {
        Ok(UpdateAccountRequest {
            metadata: metadata(fields)?,
        })
    }
}

/// Route 23 response: `{credentials}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialsResponse<C = Metadata> {
    /// The caller's passkeys.
    pub credentials: Vec<Credential<C>>,
}

/// Route 24 request: `{label?, metadata?}`, at least one of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateCredentialRequest<C = Metadata> {
    /// New label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Replaces the passkey's metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<C>,
}

impl<C: DeserializeOwned> FromJsonObject for UpdateCredentialRequest<C> {
    fn from_object(fields: &Fields<'_>) -> Result<Self, RequestError> {
        let request = UpdateCredentialRequest {
            label: fields.optional_string("label", MAX_LABEL_LEN)?,
            metadata: metadata(fields)?,
        };
        if request.label.is_none() && request.metadata.is_none() {
            return Err(RequestError::MissingEither("label", "metadata"));
        }
        Ok(request)
    }
}

/// Routes 26, 28 and 29 request: `{email}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailRequest {
    /// The email address.
    pub email: String,
}

impl FromJsonObject for EmailRequest {
    fn from_object(fields: &Fields<'_>) -> Result<Self, RequestError> {
        Ok(EmailRequest {
            email: fields.required_string("email", MAX_EMAIL_LEN)?,
        })
    }
}

/// Why an email cannot be linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CannotLinkReason {
    /// Not an email address.
    InvalidEmail,
    /// Another user has it.
    EmailInUse,
}

/// Route 28 response: `{ok: true}` or `{ok: false, reason}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CanLinkEmailResponse {
    /// Whether the caller may link the email.
    pub ok: bool,
    /// Why not, when `ok` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<CannotLinkReason>,
}

impl CanLinkEmailResponse {
    /// `{ok: true}`.
    pub const YES: CanLinkEmailResponse = CanLinkEmailResponse {
        ok: true,
        reason: None,
    };

    /// `{ok: false, reason}`.
    pub const fn no(reason: CannotLinkReason) -> Self {
        CanLinkEmailResponse {
            ok: false,
            reason: Some(reason),
        }
    }
}

/// Route 29 response: `{available}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailAvailableResponse {
    /// False when the email is taken or not valid syntax.
    pub available: bool,
}
