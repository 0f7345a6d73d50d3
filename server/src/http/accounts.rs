//! Routes 17–19 and 23–30: the caller's account, passkeys, email and security log.

use super::extract::{Client, IdParam, JsonBody, NoInput, SignedIn};
use super::magic_links::ClientIp;
use crate::auth::{Auth, MetadataType};
use crate::{Error, Result};
use axum::Json;
use axum::extract::{RawQuery, State};
use passkey_magic_shared::RateLimitRule;
use passkey_magic_shared::accounts::{
    AccountResponse, CanLinkEmailResponse, CredentialsResponse, EmailAvailableResponse,
    EmailRequest, UpdateAccountRequest, UpdateCredentialRequest,
};
use passkey_magic_shared::security_events::{EventsPage, SecurityEventsResponse};
use passkey_magic_shared::sessions::OkResponse;
use std::net::IpAddr;

pub(super) async fn get_account<U: MetadataType>(
    SignedIn(current): SignedIn<U>,
    _: NoInput,
) -> Json<AccountResponse<U>> {
    Json(AccountResponse { user: current.user })
}

pub(super) async fn update_account<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    SignedIn(current): SignedIn<U>,
    JsonBody(request): JsonBody<UpdateAccountRequest<U>>,
) -> Result<Json<AccountResponse<U>>> {
    let user = auth
        .accounts()
        .update_metadata(&current.user.id, request.metadata.as_ref())
        .await?;
    Ok(Json(AccountResponse { user }))
}

pub(super) async fn delete_account<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    SignedIn(current): SignedIn<U>,
    Client(client): Client,
    _: NoInput,
) -> Result<Json<OkResponse>> {
    auth.accounts()
        .with_client(&client)
        .delete(&current.user.id)
        .await?;
    Ok(Json(OkResponse::OK))
}

pub(super) async fn list_credentials<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    SignedIn(current): SignedIn<U>,
    _: NoInput,
) -> Result<Json<CredentialsResponse<C>>> {
    let credentials = auth.passkeys().list(&current.user.id).await?;
    Ok(Json(CredentialsResponse { credentials }))
}

pub(super) async fn update_credential<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    SignedIn(current): SignedIn<U>,
    IdParam(credential_id): IdParam,
    Client(client): Client,
    JsonBody(request): JsonBody<UpdateCredentialRequest<C>>,
) -> Result<Json<OkResponse>> {
    auth.passkeys()
        .with_client(&client)
        .update(
            &current.user.id,
            &credential_id,
            request.label.as_deref(),
            request.metadata.as_ref(),
        )
        .await?;
    Ok(Json(OkResponse::OK))
}

pub(super) async fn remove_credential<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    SignedIn(current): SignedIn<U>,
    IdParam(credential_id): IdParam,
    Client(client): Client,
    _: NoInput,
) -> Result<Json<OkResponse>> {
    auth.passkeys()
        .with_client(&client)
        .remove(&current.user.id, &credential_id)
        .await?;
    Ok(Json(OkResponse::OK))
}

/// `can-link-email` and `link-email` tell whether an address has an account, like the
/// public `email-available`: they are counted under the same `email.available` budget,
/// per client address and per user, so a signed-in user cannot probe addresses freely.
async fn check_probe_budget<U: MetadataType, C: MetadataType>(
    auth: &Auth<U, C>,
    address: Option<IpAddr>,
    user_id: &str,
) -> Result<()> {
    let limits = auth.rate_limits();
    limits
        .check(RateLimitRule::EmailAvailable, address, None, auth.now())
        .await?;
    limits
        .check(
            RateLimitRule::EmailAvailable,
            None,
            Some(&format!("user:{user_id}")),
            auth.now(),
        )
        .await?;
    Ok(())
}

pub(super) async fn link_email<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    SignedIn(current): SignedIn<U>,
    ClientIp(address): ClientIp,
    Client(client): Client,
    JsonBody(request): JsonBody<EmailRequest>,
) -> Result<Json<AccountResponse<U>>> {
    check_probe_budget(&auth, address, &current.user.id).await?;
    let user = auth
        .accounts()
        .with_client(&client)
        .link_email(&current.user.id, &request.email)
        .await?;
    Ok(Json(AccountResponse { user }))
}

pub(super) async fn unlink_email<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    SignedIn(current): SignedIn<U>,
    Client(client): Client,
    _: NoInput,
) -> Result<Json<AccountResponse<U>>> {
    let user = auth
        .accounts()
        .with_client(&client)
        .unlink_email(&current.user.id)
        .await?;
    Ok(Json(AccountResponse { user }))
}

pub(super) async fn can_link_email<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    SignedIn(current): SignedIn<U>,
    ClientIp(address): ClientIp,
    JsonBody(request): JsonBody<EmailRequest>,
) -> Result<Json<CanLinkEmailResponse>> {
    check_probe_budget(&auth, address, &current.user.id).await?;
    Ok(Json(
        auth.accounts()
            .can_link_email(&current.user.id, &request.email)
            .await?,
    ))
}

pub(super) async fn email_available<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    JsonBody(request): JsonBody<EmailRequest>,
) -> Result<Json<EmailAvailableResponse>> {
    if !auth.config().email_available_route {
        return Err(Error::NotFound);
    }
    let available = auth.accounts().is_email_available(&request.email).await?;
    Ok(Json(EmailAvailableResponse { available }))
}

/// Route 30: a page of the caller's security log. `?limit=` and `?cursor=` are checked
/// (a bad one is `400`) before anything is read.
pub(super) async fn events<U: MetadataType, C: MetadataType>(
    State(auth): State<Auth<U, C>>,
    SignedIn(current): SignedIn<U>,
    RawQuery(query): RawQuery,
) -> Result<Json<SecurityEventsResponse>> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let page = EventsPage::from_query(
        pairs
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str())),
    )?;
    Ok(Json(auth.accounts().events(&current.user.id, &page).await?))
}
