//! Host session systems: after a sign-in through passkey-magic, the user goes into the
//! session system your app already has; signing out clears it.
//!
//! [`HostSessions`] is the hook; [`TowerSessions`] (feature `tower-sessions`) is the
//! ready-made implementation for [`tower-sessions`](https://docs.rs/tower-sessions), the
//! session middleware of the axum ecosystem (axum-login is built on it).
//!
//! Why tower-sessions: it is the session layer the axum ecosystem settled on. Its
//! predecessor `axum-sessions` moved its development there; axum-login (the ecosystem's
//! login crate) keeps its user in a tower-sessions session; tower-sessions ships an
//! axum `Session` extractor and stores for memory, SQL, Redis and MongoDB (docs.rs:
//! `tower-sessions`, `axum-login`, and the `axum-sessions` README).
//!
//! axum-login is not wrapped here: its `AuthSession` logs users in through the app's
//! `AuthnBackend` and `AuthUser` types (the user type, its id and its session hash), which
//! this crate cannot know. It fits as a few lines of the app's own [`HostSessions`]: take
//! `AuthSession<YourBackend>` from [`HostRequest::extensions`] (axum-login keeps it
//! there), load your user by the passkey-magic user id and call `login(&user)`; call
//! `logout()` in `signed_out`.

use crate::auth::MetadataType;
use crate::sessions::Authenticated;
use axum::http::{Extensions, HeaderMap};

/// An app's failure in a [`HostSessions`] hook (logged; the client gets a `500`).
pub type HostError = Box<dyn std::error::Error + Send + Sync>;

/// The request a sign-in or sign-out happened in: its headers and its extensions (where
/// session middleware such as tower-sessions keeps the request's session).
#[derive(Debug, Clone, Copy)]
pub struct HostRequest<'a> {
    /// The request's headers.
    pub headers: &'a HeaderMap,
    /// The request's extensions, as your layers left them.
    pub extensions: &'a Extensions,
}

/// Puts passkey-magic sign-ins into your app's own sessions.
///
/// [`super::PasskeyMagic::host_sessions`] calls `signed_in` after each successful
/// sign-in (passkey registration and sign-in, magic link, and the desktop of a QR login
/// once the phone approved), and `signed_out` after a sign-out or revocation ended the
/// caller's passkey-magic session. Both may add headers (such as your own `Set-Cookie`)
/// to the response.
#[async_trait::async_trait]
pub trait HostSessions<U: MetadataType = crate::auth::Metadata>: Send + Sync + 'static {
    /// `signed_in` is now signed in: start (or upgrade) your session.
    ///
    /// # Errors
    /// Any failure; the client gets a `500` and no session cookie.
    async fn signed_in(
        &self,
        request: HostRequest<'_>,
        signed_in: &Authenticated<U>,
        response: &mut HeaderMap,
    ) -> Result<(), HostError>;

    /// The caller's passkey-magic session ended: end yours.
    ///
    /// # Errors
    /// Any failure; the client gets a `500`.
    async fn signed_out(
        &self,
        request: HostRequest<'_>,
        response: &mut HeaderMap,
    ) -> Result<(), HostError>;
}

#[cfg(feature = "tower-sessions")]
pub use tower::{SessionUser, TowerSessions};

#[cfg(feature = "tower-sessions")]
mod tower {
    use super::{HostError, HostRequest, HostSessions};
    use crate::auth::MetadataType;
    use crate::sessions::Authenticated;
    use axum::http::HeaderMap;
    use passkey_magic_shared::AuthMethod;
    use serde::{Deserialize, Serialize};

    /// What [`TowerSessions`] stores in the app's session.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct SessionUser {
        /// The passkey-magic user id.
        pub user_id: String,
        /// The user's email, if linked.
        pub email: Option<String>,
        /// How they signed in.
        pub method: AuthMethod,
        /// The passkey-magic session it came from.
        pub session_id: String,
    }

    /// Writes the signed-in user into the request's `tower_sessions::Session` (under
    /// [`TowerSessions::KEY`] by default) and removes it on sign-out. The session id is
    /// cycled on both, against session fixation.
    ///
    /// The passkey-magic routes must run inside your `SessionManagerLayer`: add it after
    /// [`super::super::PasskeyMagic::mount`].
    #[derive(Debug, Clone)]
    pub struct TowerSessions {
        key: &'static str,
    }

    impl Default for TowerSessions {
        fn default() -> Self {
            TowerSessions { key: Self::KEY }
        }
    }

    impl TowerSessions {
        /// The default session key.
        pub const KEY: &'static str = "passkey-magic.user";

        /// Stores the user under [`Self::KEY`].
        pub fn new() -> Self {
            Self::default()
        }

        /// Stores the user under `key`.
        pub fn with_key(key: &'static str) -> Self {
            TowerSessions { key }
        }

        /// The signed-in user of `session`, if any.
        ///
        /// # Errors
        /// The session store failed.
        pub async fn user(
            &self,
            session: &tower_sessions::Session,
        ) -> Result<Option<SessionUser>, tower_sessions::session::Error> {
            session.get(self.key).await
        }

        fn session<'a>(
            request: &HostRequest<'a>,
        ) -> Result<&'a tower_sessions::Session, HostError> {
            request
                .extensions
                .get::<tower_sessions::Session>()
                .ok_or_else(|| {
                    "no tower-sessions SessionManagerLayer around the auth routes".into()
                })
        }
    }

    #[async_trait::async_trait]
    impl<U: MetadataType> HostSessions<U> for TowerSessions {
        async fn signed_in(
            &self,
            request: HostRequest<'_>,
            signed_in: &Authenticated<U>,
            _response: &mut HeaderMap,
        ) -> Result<(), HostError> {
            let session = Self::session(&request)?;
            session.cycle_id().await?;
            let user = SessionUser {
                user_id: signed_in.user.id.clone(),
                email: signed_in.user.email.clone(),
                method: signed_in.session.auth_method,
                session_id: signed_in.session.id.clone(),
            };
            session.insert(self.key, user).await?;
            Ok(())
        }

        async fn signed_out(
            &self,
            request: HostRequest<'_>,
            _response: &mut HeaderMap,
        ) -> Result<(), HostError> {
            let session = Self::session(&request)?;
            session.remove::<SessionUser>(self.key).await?;
            session.cycle_id().await?;
            Ok(())
        }
    }
}
