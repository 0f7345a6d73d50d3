//! Routes 7–8: sending and verifying magic links.
//!
//! Both answer `400 Magic link not configured` before looking at the body when the engine
//! has no magic-link URL or email sender. `magicLink.send` is rate limited per client
//! address *and* email, so it is checked here once the body is parsed (the router's
//! per-address middleware skips it); `magicLink.verify` is per address, by the router.

use super::extract::{Client, JsonBody, client_ip};
use crate::auth::{Auth, MetadataType};
use crate::error::Reason;
use crate::{Error, Result};
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use passkey_magic_shared::RateLimitRule;
use passkey_magic_shared::magic_links::{
    SendMagicLinkRequest, SendMagicLinkResponse, VerifyMagicLinkRequest, VerifyMagicLinkResponse,
};
use std::net::IpAddr;

/// Refuses the request unless magic links are configured.
pub(super) struct MagicLinksEnabled;

impl<U: MetadataType, C: MetadataType> FromRequestParts<Auth<U, C>> for MagicLinksEnabled {
    type Rejection = Error;

    async fn from_request_parts(
        _parts: &mut Parts,
        auth: &Auth<U, C>,
    ) -> Result<Self, Self::Rejection> {
        if auth.magic_links().is_enabled() {
            Ok(MagicLinksEnabled)
        } else {
            Err(Error::InvalidRequest(Reason::MagicLinkNotConfigured))
        }
    }
}

/// The client address used for rate limits.
pub(super) struct ClientIp(pub(super) Option<IpAddr>);

impl<U: MetadataType, C: MetadataType> FromRequestParts<Auth<U, C>> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        auth: &Auth<U, C>,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(parts, auth)))
    }
}

pub(super) async fn send<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    _enabled: MagicLinksEnabled,
    ClientIp(address): ClientIp,
    JsonBody(request): JsonBody<SendMagicLinkRequest>,
) -> Result<Json<SendMagicLinkResponse>> {
    let limits = auth.rate_limits();
    // The per-address ceiling first: one client cannot mail many addresses.
    limits
        .check(
            RateLimitRule::MagicLinkSendPerAddress,
            address,
            None,
            auth.now(),
        )
        .await?;
    limits
        .check(
            RateLimitRule::MagicLinkSend,
            address,
            Some(&request.email),
            auth.now(),
        )
        .await?;
    // And a ceiling per email across all addresses (the same budget, counted without
    // the address), so many clients together cannot flood one inbox.
    limits
        .check(
            RateLimitRule::MagicLinkSend,
            None,
            Some(&request.email),
            auth.now(),
        )
        .await?;
    Ok(Json(auth.magic_links().request(&request.email).await?))
}

pub(super) async fn verify<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    _enabled: MagicLinksEnabled,
    Client(client): Client,
    JsonBody(request): JsonBody<VerifyMagicLinkRequest>,
) -> Result<Json<VerifyMagicLinkResponse<U>>> {
    Ok(Json(
        auth.magic_links()
            .verify(request.token.expose(), &client)
            .await?,
    ))
}
