//! Bodies of the session routes (15, 16) and the sign-in result shared by every method.

use crate::entities::{AuthMethod, Metadata, Session, User};
use serde::{Deserialize, Serialize};

/// A successful sign-in: `{method, user, session}` (routes 2, 4 and 13). The session
/// carries its token.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(bound = ""))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignInResponse<M = Metadata> {
    /// How the user signed in.
    pub method: AuthMethod,
    #[cfg_attr(feature = "openapi", schema(value_type = User))]
    /// The signed-in user.
    pub user: User<M>,
    /// The new session, with its token.
    pub session: Session,
}

/// `GET /session`: the caller's user and session (without token).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(bound = ""))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionResponse<M = Metadata> {
    #[cfg_attr(feature = "openapi", schema(value_type = User))]
    /// The signed-in user.
    pub user: User<M>,
    /// The current session.
    pub session: Session,
}

/// `GET /account/sessions`: the caller's sessions (never with tokens).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionsResponse {
    /// Active sessions, newest first.
    pub sessions: Vec<Session>,
}

/// `{ok: true}`: the acknowledgement of routes that return nothing else.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OkResponse {
    /// Always `true` on success.
    pub ok: bool,
}

impl OkResponse {
    /// `{ok: true}`.
    pub const OK: OkResponse = OkResponse { ok: true };
}
