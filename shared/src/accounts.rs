//! Bodies of the account routes (17–29).

use crate::entities::{Credential, Metadata, User};
use crate::error::RequestError;
use crate::limits::{MAX_EMAIL_LEN, MAX_LABEL_LEN};
use crate::request::{Fields, FromJsonObject, metadata};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Routes 17, 18, 26, 27 response: `{user}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(bound = ""))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountResponse<M = Metadata> {
    #[cfg_attr(feature = "openapi", schema(value_type = User))]
    /// The caller's account.
    pub user: User<M>,
}

/// Route 18 request: `{metadata?}`. Without `metadata` nothing changes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(bound = ""))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateAccountRequest<M = Metadata> {
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(bound = ""))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialsResponse<C = Metadata> {
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Credential>))]
    /// The caller's passkeys.
    pub credentials: Vec<Credential<C>>,
}

/// Route 24 request: `{label?, metadata?}`, at least one of them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(bound = ""))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateCredentialRequest<C = Metadata> {
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    /// New label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 254))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CannotLinkReason {
    /// Not an email address.
    InvalidEmail,
    /// Another user has it.
    EmailInUse,
}

/// Route 28 response: `{ok: true}` or `{ok: false, reason}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailAvailableResponse {
    /// False when the email is taken or not valid syntax.
    pub available: bool,
}
