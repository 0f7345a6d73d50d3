//! Routes 15, 16, 20–22: the current session and the caller's sessions.

use super::extract::{Client, IdParam, NoInput, SignedIn};
use crate::Result;
use crate::auth::{Auth, MetadataType};
use axum::Json;
use axum::extract::State;
use passkey_magic_shared::sessions::{OkResponse, SessionResponse, SessionsResponse};

pub(super) async fn get_session<U: MetadataType>(
    SignedIn(current): SignedIn<U>,
    _: NoInput,
) -> Json<SessionResponse<U>> {
    Json(SessionResponse {
        user: current.user,
        session: current.session,
    })
}

pub(super) async fn revoke_session<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    SignedIn(current): SignedIn<U>,
    Client(client): Client,
    _: NoInput,
) -> Result<Json<OkResponse>> {
    auth.sessions()
        .with_client(&client)
        .revoke_by_id(&current.user.id, &current.session.id)
        .await?;
    Ok(Json(OkResponse::OK))
}

pub(super) async fn list_sessions<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    SignedIn(current): SignedIn<U>,
    _: NoInput,
) -> Result<Json<SessionsResponse>> {
    let sessions = auth.sessions().list(&current.user.id).await?;
    Ok(Json(SessionsResponse { sessions }))
}

pub(super) async fn revoke_all_sessions<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    SignedIn(current): SignedIn<U>,
    Client(client): Client,
    _: NoInput,
) -> Result<Json<OkResponse>> {
    auth.sessions()
        .with_client(&client)
        .revoke_all(&current.user.id)
        .await?;
    Ok(Json(OkResponse::OK))
}

pub(super) async fn revoke_session_by_id<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    SignedIn(current): SignedIn<U>,
    IdParam(session_id): IdParam,
    Client(client): Client,
    _: NoInput,
) -> Result<Json<OkResponse>> {
    auth.sessions()
        .with_client(&client)
        .revoke_by_id(&current.user.id, &session_id)
        .await?;
    Ok(Json(OkResponse::OK))
}
