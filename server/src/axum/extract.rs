//! [`CurrentSession`] and [`CurrentUser`]: the caller's session in your own handlers,
//! resolved once per request from `Authorization: Bearer` or the session cookie.

use super::MountSettings;
use super::cookies::cookie_allowed;
use crate::auth::{Auth, MetadataType};
use crate::error::{Error, Result};
use crate::sessions::Authenticated;
use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use passkey_magic_shared::{Metadata, Session, User};
use std::sync::Arc;

/// The caller's validated session and user. `401 {"error":"Unauthorized"}` when the
/// request has no valid session; use `Option<CurrentSession>` for optional sign-in.
///
/// Needs the extension that [`super::PasskeyMagic::mount`] (or
/// [`super::PasskeyMagic::layer`]) adds; without it the extractor answers `500`.
#[derive(Debug, Clone)]
pub struct CurrentSession<U = Metadata>(pub Authenticated<U>);

impl<U> CurrentSession<U> {
    /// The signed-in user.
    pub fn user(&self) -> &User<U> {
        &self.0.user
    }

    /// The session (without its token).
    pub fn session(&self) -> &Session {
        &self.0.session
    }
}

/// The signed-in user alone; like [`CurrentSession`] otherwise.
#[derive(Debug, Clone)]
pub struct CurrentUser<U = Metadata>(pub User<U>);

/// The request's session lookup, cached in the request's extensions so several
/// extractors in one request cost one lookup.
#[derive(Clone)]
struct Resolved<U>(Option<Authenticated<U>>);

/// The caller's session: the cached answer, or one lookup (bearer first, then the cookie
/// under the CSRF rule of [`super::cookies`]).
pub(crate) async fn resolve<U: MetadataType>(
    parts: &mut Parts,
    shared: &MountSettings<U>,
) -> Result<Option<Authenticated<U>>> {
    if let Some(Resolved(cached)) = parts.extensions.get::<Resolved<U>>() {
        return Ok(cached.clone());
    }
    let found = match presented_token(parts, shared) {
        Some(token) => shared.source.validate(&token).await?,
        None => None,
    };
    parts.extensions.insert(Resolved(found.clone()));
    Ok(found)
}

/// The token the request authenticates with: the bearer token, else the cookie's when the
/// request passes the origin check.
pub(crate) fn presented_token<U>(parts: &Parts, shared: &MountSettings<U>) -> Option<String> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        // A malformed Authorization header is a failed sign-in, not a reason to fall
        // back to the cookie.
        return bearer(value.to_str().ok()?).map(str::to_owned);
    }
    let cookies = shared.cookies.as_ref()?;
    let token = cookies.token(&parts.headers)?;
    cookie_allowed(&parts.method, &parts.headers, &shared.origins).then(|| token.to_owned())
}

fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|token| !token.is_empty())
}

fn shared<U: MetadataType>(parts: &Parts) -> Result<Arc<MountSettings<U>>> {
    parts
        .extensions
        .get::<Arc<MountSettings<U>>>()
        .cloned()
        .ok_or_else(|| {
            Error::invariant("passkey-magic extractor used on a route without its layer")
        })
}

/// The session for the protocol's own routes: through the mount's settings when mounted
/// by [`super::PasskeyMagic`], bearer only otherwise.
pub(crate) async fn resolve_for_router<U: MetadataType, C: MetadataType>(
    parts: &mut Parts,
    auth: &Auth<U, C>,
) -> Result<Option<Authenticated<U>>> {
    let shared = match parts.extensions.get::<Arc<MountSettings<U>>>() {
        Some(shared) => Arc::clone(shared),
        None => Arc::new(MountSettings::bearer_only(auth.clone())),
    };
    resolve(parts, &shared).await
}

impl<S: Send + Sync, U: MetadataType> FromRequestParts<S> for CurrentSession<U> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        let shared = shared::<U>(parts)?;
        resolve(parts, &shared)
            .await?
            .map(CurrentSession)
            .ok_or(Error::Unauthorized)
    }
}

impl<S: Send + Sync, U: MetadataType> OptionalFromRequestParts<S> for CurrentSession<U> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>> {
        let shared = shared::<U>(parts)?;
        Ok(resolve(parts, &shared).await?.map(CurrentSession))
    }
}

impl<S: Send + Sync, U: MetadataType> FromRequestParts<S> for CurrentUser<U> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self> {
        let shared = shared::<U>(parts)?;
        resolve(parts, &shared)
            .await?
            .map(|current| CurrentUser(current.user))
            .ok_or(Error::Unauthorized)
    }
}

impl<S: Send + Sync, U: MetadataType> OptionalFromRequestParts<S> for CurrentUser<U> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Option<Self>> {
        let shared = shared::<U>(parts)?;
        Ok(resolve(parts, &shared)
            .await?
            .map(|current| CurrentUser(current.user)))
    }
}
