//! Bodies of the magic-link routes (7, 8).

use crate::entities::{AuthMethod, Metadata, Session, User};
use crate::error::RequestError;
use crate::limits::{MAX_EMAIL_LEN, MAX_TOKEN_LEN};
use crate::request::{Fields, FromJsonObject};
use crate::secret::BearerToken;
use serde::{Deserialize, Serialize};

/// Route 7 request: `{email}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMagicLinkRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 254))]
    /// Where to send the link.
    pub email: String,
}

impl FromJsonObject for SendMagicLinkRequest {
    fn from_object(fields: &Fields<'_>) -> Result<Self, RequestError> {
        Ok(SendMagicLinkRequest {
            email: fields.required_string("email", MAX_EMAIL_LEN)?,
        })
    }
}

/// Route 7 response: `{sent: true}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendMagicLinkResponse {
    /// Always `true` on success.
    pub sent: bool,
}

/// Route 8 request: `{token}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyMagicLinkRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 1, max_length = 1024))]
    /// The token from the link (see [`crate::magic_link::extract_token`]).
    pub token: BearerToken,
}

impl FromJsonObject for VerifyMagicLinkRequest {
    fn from_object(fields: &Fields<'_>) -> Result<Self, RequestError> {
        Ok(VerifyMagicLinkRequest {
            token: fields.required_string("token", MAX_TOKEN_LEN)?.into(),
        })
    }
}

/// Route 8 response: `{method: "magic-link", user, session, isNewUser}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(bound = ""))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyMagicLinkResponse<M = Metadata> {
    /// Always [`AuthMethod::MagicLink`].
    pub method: AuthMethod,
    #[cfg_attr(feature = "openapi", schema(value_type = User))]
    /// The signed-in (possibly new) user.
    pub user: User<M>,
    /// The new session, with its token.
    pub session: Session,
    /// Whether the user was created by this verification.
    pub is_new_user: bool,
}
