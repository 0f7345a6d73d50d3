//! Routes 1–6: passkey sign-up, sign-in and adding passkeys.

use super::extract::{Client, JsonBody, SignedIn};
use crate::Result;
use crate::auth::{Auth, MetadataType};
use axum::Json;
use axum::extract::State;
use passkey_magic_shared::passkeys::{
    AddPasskeyOptionsRequest, AddPasskeyOptionsResponse, AddPasskeyVerifyRequest,
    AddPasskeyVerifyResponse, AuthenticateOptionsRequest, AuthenticateOptionsResponse,
    AuthenticateVerifyRequest, RegisterOptionsRequest, RegisterOptionsResponse,
    RegisterVerifyRequest, RegisterVerifyResponse,
};
use passkey_magic_shared::sessions::SignInResponse;

pub(super) async fn register_options<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    JsonBody(request): JsonBody<RegisterOptionsRequest>,
) -> Result<Json<RegisterOptionsResponse>> {
    Ok(Json(auth.passkeys().start_registration(&request).await?))
}

pub(super) async fn register_verify<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    Client(client): Client,
    JsonBody(request): JsonBody<RegisterVerifyRequest>,
) -> Result<Json<RegisterVerifyResponse<U, C>>> {
    Ok(Json(
        auth.passkeys()
            .finish_registration(&request, &client)
            .await?,
    ))
}

pub(super) async fn authenticate_options<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    JsonBody(request): JsonBody<AuthenticateOptionsRequest>,
) -> Result<Json<AuthenticateOptionsResponse>> {
    Ok(Json(auth.passkeys().start_sign_in(&request).await?))
}

pub(super) async fn authenticate_verify<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    Client(client): Client,
    JsonBody(request): JsonBody<AuthenticateVerifyRequest>,
) -> Result<Json<SignInResponse<U>>> {
    Ok(Json(
        auth.passkeys()
            .finish_sign_in(&request.response, &client)
            .await?,
    ))
}

pub(super) async fn add_options<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    SignedIn(current): SignedIn<U>,
    JsonBody(request): JsonBody<AddPasskeyOptionsRequest>,
) -> Result<Json<AddPasskeyOptionsResponse>> {
    Ok(Json(
        auth.passkeys()
            .start_add(&current.user.id, request.user_name.as_deref())
            .await?,
    ))
}

pub(super) async fn add_verify<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    SignedIn(current): SignedIn<U>,
    Client(client): Client,
    JsonBody(request): JsonBody<AddPasskeyVerifyRequest>,
) -> Result<Json<AddPasskeyVerifyResponse<C>>> {
    let credential = auth
        .passkeys()
        .with_client(&client)
        .finish_add(&current.user.id, &request.response)
        .await?;
    Ok(Json(AddPasskeyVerifyResponse { credential }))
}
