//! Routes 9–14: QR cross-device login. The status token travels in the query (route 10)
//! or the body (route 14), never in logs.

use super::extract::{Client, IdParam, JsonBody};
use crate::auth::{Auth, MetadataType};
use crate::{Error, Result};
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use passkey_magic_shared::QrStatus;
use passkey_magic_shared::RequestError;
use passkey_magic_shared::qr::{
    CancelQrRequest, CompleteQrRequest, ConfirmQrRequest, CreateQrResponse, QrStatusQuery,
};
use passkey_magic_shared::request::Empty;
use passkey_magic_shared::sessions::{OkResponse, SignInResponse};
use std::time::Duration;

pub(super) async fn create<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    JsonBody(Empty {}): JsonBody<Empty>,
) -> Result<Json<CreateQrResponse>> {
    Ok(Json(auth.qr().create().await?))
}

/// `?token=…[&wait=N]`: without a token → 401; a `wait` that is not a number → 400.
pub(super) async fn status<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    Client(client): Client,
    IdParam(id): IdParam,
    query: std::result::Result<Query<QrStatusQuery>, QueryRejection>,
) -> Result<Json<QrStatus>> {
    let Query(query) = query.map_err(|_| Error::Request(RequestError::InvalidField("wait")))?;
    let token = query.token.as_ref().map_or("", |token| token.expose());
    let wait = Duration::from_secs(u64::from(query.wait_seconds()));
    Ok(Json(auth.qr().status(&id, token, wait, &client).await?))
}

pub(super) async fn scanned<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    IdParam(id): IdParam,
    JsonBody(Empty {}): JsonBody<Empty>,
) -> Result<Json<OkResponse>> {
    auth.qr().mark_scanned(&id).await?;
    Ok(Json(OkResponse::OK))
}

pub(super) async fn confirm<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    IdParam(id): IdParam,
    JsonBody(request): JsonBody<ConfirmQrRequest>,
) -> Result<Json<OkResponse>> {
    auth.qr().confirm(&id, &request.confirmation_code).await?;
    Ok(Json(OkResponse::OK))
}

pub(super) async fn complete<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    IdParam(id): IdParam,
    Client(client): Client,
    JsonBody(request): JsonBody<CompleteQrRequest>,
) -> Result<Json<SignInResponse<U>>> {
    Ok(Json(
        auth.qr()
            .with_client(&client)
            .complete(&id, &request.response)
            .await?,
    ))
}

pub(super) async fn cancel<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    IdParam(id): IdParam,
    JsonBody(request): JsonBody<CancelQrRequest>,
) -> Result<Json<OkResponse>> {
    auth.qr().cancel(&id, request.status_token.expose()).await?;
    Ok(Json(OkResponse::OK))
}
