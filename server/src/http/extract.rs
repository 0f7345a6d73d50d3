//! Extractors that turn requests into engine inputs, failing with the protocol's errors:
//! [`JsonBody`] (strict body parsing), [`NoInput`] (the body of an endpoint that takes
//! none), [`SignedIn`] (bearer session), [`Client`] (user agent and address), [`IdParam`]
//! (the `{id}` path segment).

use crate::Error;
use crate::auth::{Auth, MetadataType};
use crate::sessions::{Authenticated, ClientInfo};
use axum::body::{Bytes, HttpBody as _};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::header;
use axum::http::request::Parts;
use passkey_magic_shared::RequestError;
use passkey_magic_shared::limits::MAX_ID_LEN;
use passkey_magic_shared::request::{Empty, FromJsonObject, parse_body};
use std::net::{IpAddr, SocketAddr};

/// The longest `User-Agent` recorded on a session.
const MAX_USER_AGENT_LEN: usize = 512;

/// A request body parsed and validated by its [`FromJsonObject`] impl.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: FromJsonObject> FromRequest<S> for JsonBody<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| Error::Request(RequestError::TooLarge))?;
        Ok(JsonBody(parse_body(&bytes)?))
    }
}

/// The body of an endpoint that reads no input: none, or a JSON object whose fields are
/// ignored (clients send `{}` with `POST`). Any other body is refused like every request
/// body of the protocol (`400`: not JSON, or not an object), instead of being ignored.
#[derive(Debug)]
pub struct NoInput;

impl<S: Send + Sync> FromRequest<S> for NoInput {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        // The common case (a GET): nothing to read.
        if request.body().is_end_stream() {
            return Ok(NoInput);
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| Error::Request(RequestError::TooLarge))?;
        if !bytes.is_empty() {
            parse_body::<Empty>(&bytes)?;
        }
        Ok(NoInput)
    }
}

/// The caller's session, from `Authorization: Bearer <token>` (or the session cookie when
/// mounted with cookies by [`crate::axum::PasskeyMagic`]); `401` without one.
#[derive(Debug)]
pub struct SignedIn<U>(pub Authenticated<U>);

impl<U: MetadataType, C: MetadataType> FromRequestParts<Auth<U, C>> for SignedIn<U> {
    type Rejection = Error;

    async fn from_request_parts(
        parts: &mut Parts,
        auth: &Auth<U, C>,
    ) -> Result<Self, Self::Rejection> {
        crate::axum::resolve_for_router(parts, auth)
            .await?
            .map(SignedIn)
            .ok_or(Error::Unauthorized)
    }
}

/// Who is calling: the `User-Agent` and the socket peer's address.
#[derive(Debug)]
pub struct Client(pub ClientInfo);

impl<U: MetadataType, C: MetadataType> FromRequestParts<Auth<U, C>> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        auth: &Auth<U, C>,
    ) -> Result<Self, Self::Rejection> {
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|agent| agent.chars().take(MAX_USER_AGENT_LEN).collect());
        let ip_address = client_ip(parts, auth).map(|address| address.to_string());
        Ok(Client(ClientInfo {
            user_agent,
            ip_address,
        }))
    }
}

/// The client address of a request (see [`super::client_address`]).
pub(crate) fn client_ip<U, C>(parts: &Parts, auth: &Auth<U, C>) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    super::client_address::client_address(
        peer,
        &parts.headers,
        &auth.inner.trusted_proxies,
        auth.inner.forwarded_header,
    )
}

/// The `{id}` path segment, at most [`MAX_ID_LEN`] characters.
#[derive(Debug)]
pub struct IdParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdParam {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| Error::Request(RequestError::InvalidField("id")))?;
        if id.is_empty() || id.chars().count() > MAX_ID_LEN {
            return Err(Error::Request(RequestError::InvalidField("id")));
        }
        Ok(IdParam(id))
    }
}
