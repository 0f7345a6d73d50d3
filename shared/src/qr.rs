//! Bodies of the QR cross-device login routes (9–14).
//!
//! The QR code holds only the session id. The status token never leaves the desktop: it
//! authorises polling (route 10) and cancelling (route 14).

use crate::error::RequestError;
use crate::limits::{MAX_CONFIRMATION_CODE_LEN, MAX_QR_WAIT_SECONDS, MAX_TOKEN_LEN};
use crate::request::{Fields, FromJsonObject};
use crate::secret::BearerToken;
use crate::webauthn::AuthenticationResponse;
use serde::{Deserialize, Serialize};

/// Route 9 response: `{sessionId, statusToken, confirmationCode?}`. `Debug` hides the
/// status token and the confirmation code.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateQrResponse {
    /// Goes into the QR code.
    pub session_id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    /// Desktop-only secret for polling and cancelling.
    pub status_token: BearerToken,
    /// Digits the desktop shows and the phone must enter, when confirmation is enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmation_code: Option<String>,
}

impl std::fmt::Debug for CreateQrResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateQrResponse")
            .field("session_id", &self.session_id)
            .field("status_token", &self.status_token)
            .field(
                "confirmation_code",
                &self.confirmation_code.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Route 10 query: `?token=STATUS_TOKEN[&wait=SECONDS]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrStatusQuery {
    /// The status token from route 9.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<BearerToken>,
    /// Long-poll: answer as soon as the state changes, or after this many seconds
    /// (at most [`MAX_QR_WAIT_SECONDS`]). Absent: answer at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<u32>,
}

impl QrStatusQuery {
    /// The long-poll wait, capped at [`MAX_QR_WAIT_SECONDS`].
    pub fn wait_seconds(&self) -> u32 {
        self.wait.unwrap_or(0).min(MAX_QR_WAIT_SECONDS)
    }
}

/// Route 12 request: `{confirmationCode}`. `Debug` hides the code.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfirmQrRequest {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 16))]
    /// The digits shown on the desktop.
    pub confirmation_code: String,
}

impl std::fmt::Debug for ConfirmQrRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfirmQrRequest")
            .field("confirmation_code", &"<redacted>")
            .finish()
    }
}

impl FromJsonObject for ConfirmQrRequest {
    fn from_object(fields: &Fields<'_>) -> Result<Self, RequestError> {
        Ok(ConfirmQrRequest {
            confirmation_code: fields
                .required_string("confirmationCode", MAX_CONFIRMATION_CODE_LEN)?,
        })
    }
}

/// Route 13 request: `{response}`, a passkey assertion of the phone's user.
pub type CompleteQrRequest<R = AuthenticationResponse> = crate::passkeys::ResponseRequest<R>;

/// Route 14 request: `{statusToken}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelQrRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = String, min_length = 1, max_length = 1024))]
    /// The status token from route 9.
    pub status_token: BearerToken,
}

impl FromJsonObject for CancelQrRequest {
    fn from_object(fields: &Fields<'_>) -> Result<Self, RequestError> {
        Ok(CancelQrRequest {
            status_token: fields.required_string("statusToken", MAX_TOKEN_LEN)?.into(),
        })
    }
}
