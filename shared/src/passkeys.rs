//! Bodies of the passkey routes (1–6).
//!
//! WebAuthn payloads are type parameters defaulting to the `webauthn-rs-proto` types; a
//! browser client may substitute an opaque JS value.

use crate::entities::{Credential, Metadata};
use crate::error::RequestError;
use crate::limits::{MAX_EMAIL_LEN, MAX_ID_LEN, MAX_USER_NAME_LEN};
use crate::request::{Fields, FromJsonObject};
use crate::webauthn::{
    AuthenticationResponse, CreationOptions, RegistrationResponse, RequestOptions,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Route 1 request: `{userId?, email?, userName?}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterOptionsRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    /// Use this id for the new user (must not exist yet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    /// Email hint: stored on the new user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    /// Name shown by the authenticator (defaults to the email or the user id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
}

impl FromJsonObject for RegisterOptionsRequest {
    fn from_object(fields: &Fields<'_>) -> Result<Self, RequestError> {
        Ok(RegisterOptionsRequest {
            user_id: fields.optional_string("userId", MAX_ID_LEN)?,
            email: fields.optional_string("email", MAX_EMAIL_LEN)?,
            user_name: fields.optional_string("userName", MAX_USER_NAME_LEN)?,
        })
    }
}

/// Route 1 response: `{options, userId}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(bound = ""))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterOptionsResponse<O = CreationOptions> {
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    /// WebAuthn `PublicKeyCredentialCreationOptionsJSON` (W3C).
    pub options: O,
    /// The id the new user will get; send it back with the response.
    pub user_id: String,
}

/// Route 2 request: `{userId, response}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(bound = ""))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterVerifyRequest<R = RegistrationResponse> {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 256))]
    /// The `userId` of the options response.
    pub user_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    /// WebAuthn `PublicKeyCredential` JSON (W3C): the attestation of
    /// `navigator.credentials.create()`, as `toJSON()` gives it.
    pub response: R,
}

impl<R: DeserializeOwned> FromJsonObject for RegisterVerifyRequest<R> {
    fn from_object(fields: &Fields<'_>) -> Result<Self, RequestError> {
        Ok(RegisterVerifyRequest {
            user_id: fields.required_string("userId", MAX_ID_LEN)?,
            response: fields.required_object("response")?,
        })
    }
}

/// Route 2 response: the sign-in result plus the new credential.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(bound = ""))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisterVerifyResponse<M = Metadata, C = Metadata> {
    /// Always [`crate::AuthMethod::Passkey`].
    pub method: crate::entities::AuthMethod,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::entities::User))]
    /// The new user.
    pub user: crate::entities::User<M>,
    /// The new session, with its token.
    pub session: crate::entities::Session,
    #[cfg_attr(feature = "openapi", schema(value_type = Credential))]
    /// The new passkey.
    pub credential: Credential<C>,
}

/// Route 3 request: `{userId?, qrSessionId?}`. Without `userId` the sign-in is
/// discoverable (usernameless); with it, only that user's passkeys are accepted.
///
/// `qrSessionId` is our extension (v0.4 servers ignore it): a phone completing a QR login
/// names it, the QR session moves to `challenged`, and the challenge can only complete
/// that QR login (route 13), not an ordinary sign-in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticateOptionsRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    /// Restrict the sign-in to this user's passkeys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    /// Bind the challenge to this QR login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qr_session_id: Option<String>,
}

impl FromJsonObject for AuthenticateOptionsRequest {
    fn from_object(fields: &Fields<'_>) -> Result<Self, RequestError> {
        Ok(AuthenticateOptionsRequest {
            user_id: fields.optional_string("userId", MAX_ID_LEN)?,
            qr_session_id: fields.optional_string("qrSessionId", MAX_ID_LEN)?,
        })
    }
}

/// Route 3 and 5 response: `{options}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(bound = ""))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptionsResponse<O> {
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    /// WebAuthn options JSON (W3C): `PublicKeyCredentialRequestOptionsJSON` to sign in,
    /// `PublicKeyCredentialCreationOptionsJSON` to add a passkey.
    pub options: O,
}

/// Route 3 response.
pub type AuthenticateOptionsResponse<O = RequestOptions> = OptionsResponse<O>;
/// Route 5 response.
pub type AddPasskeyOptionsResponse<O = CreationOptions> = OptionsResponse<O>;

/// Routes 4, 6 and 13 request: `{response}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(bound = ""))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseRequest<R> {
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    /// WebAuthn `PublicKeyCredential` JSON (W3C), as `toJSON()` gives it: an assertion
    /// to sign in, an attestation to add a passkey.
    pub response: R,
}

impl<R: DeserializeOwned> FromJsonObject for ResponseRequest<R> {
    fn from_object(fields: &Fields<'_>) -> Result<Self, RequestError> {
        Ok(ResponseRequest {
            response: fields.required_object("response")?,
        })
    }
}

/// Route 4 request.
pub type AuthenticateVerifyRequest<R = AuthenticationResponse> = ResponseRequest<R>;
/// Route 6 request.
pub type AddPasskeyVerifyRequest<R = RegistrationResponse> = ResponseRequest<R>;

/// Route 5 request: `{userName?}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AddPasskeyOptionsRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 256))]
    /// Name shown by the authenticator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
}

impl FromJsonObject for AddPasskeyOptionsRequest {
    fn from_object(fields: &Fields<'_>) -> Result<Self, RequestError> {
        Ok(AddPasskeyOptionsRequest {
            user_name: fields.optional_string("userName", MAX_USER_NAME_LEN)?,
        })
    }
}

/// Route 6 response: `{credential}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(bound = ""))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AddPasskeyVerifyResponse<C = Metadata> {
    #[cfg_attr(feature = "openapi", schema(value_type = Credential))]
    /// The new passkey.
    pub credential: Credential<C>,
}
