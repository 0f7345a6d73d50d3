//! Target `request_body`: any bytes as the body of every route that takes one.

use crate::Error;
use crate::http::extract::JsonBody;
use axum::body::Body;
use axum::extract::{FromRequest, Request};
use passkey_magic_shared::Metadata;
use passkey_magic_shared::accounts::{EmailRequest, UpdateAccountRequest, UpdateCredentialRequest};
use passkey_magic_shared::magic_links::{SendMagicLinkRequest, VerifyMagicLinkRequest};
use passkey_magic_shared::passkeys::{
    AddPasskeyOptionsRequest, AddPasskeyVerifyRequest, AuthenticateOptionsRequest,
    AuthenticateVerifyRequest, RegisterOptionsRequest, RegisterVerifyRequest,
};
use passkey_magic_shared::qr::{CancelQrRequest, CompleteQrRequest, ConfirmQrRequest};
use passkey_magic_shared::request::{Empty, FromJsonObject, parse_body};
use serde::Serialize;

/// Parses `data` as the body of every route (`JsonBody<T>`, the extractor the router
/// uses, for each `T`), and checks each outcome:
///
/// - a refusal is a 4xx with the protocol's error body, never a 5xx;
/// - an accepted body serialises back to JSON that parses to the same value (the JSON
///   the client SDK sends for a value is read back as that value).
///
/// # Panics
/// When a property fails (that is the fuzzer's signal).
pub fn request_body(data: &[u8]) {
    super::block_on(async {
        check::<RegisterOptionsRequest>(data).await;
        check::<RegisterVerifyRequest>(data).await;
        check::<AuthenticateOptionsRequest>(data).await;
        check::<AuthenticateVerifyRequest>(data).await;
        check::<AddPasskeyOptionsRequest>(data).await;
        check::<AddPasskeyVerifyRequest>(data).await;
        check::<SendMagicLinkRequest>(data).await;
        check::<VerifyMagicLinkRequest>(data).await;
        check::<Empty>(data).await;
        check::<ConfirmQrRequest>(data).await;
        check::<CompleteQrRequest>(data).await;
        check::<CancelQrRequest>(data).await;
        check::<UpdateAccountRequest<Metadata>>(data).await;
        check::<UpdateCredentialRequest<Metadata>>(data).await;
        check::<EmailRequest>(data).await;
    });
}

async fn check<T: FromJsonObject + Serialize>(data: &[u8]) {
    let name = std::any::type_name::<T>();
    let request = Request::new(Body::from(data.to_vec()));
    let parsed = match JsonBody::<T>::from_request(request, &()).await {
        Ok(JsonBody(parsed)) => parsed,
        Err(error) => return check_refusal(name, error),
    };
    let first = serde_json::to_value(&parsed)
        .unwrap_or_else(|error| panic!("{name}: an accepted body does not serialise: {error}"));
    let bytes = serde_json::to_vec(&first).expect("a JSON value serialises");
    let again: T = parse_body(&bytes)
        .unwrap_or_else(|error| panic!("{name}: its own serialisation is refused: {error}"));
    let second = serde_json::to_value(&again).expect("a parsed body serialises");
    assert_eq!(
        first, second,
        "{name}: parse → serialise → parse changed the value"
    );
}

fn check_refusal(name: &str, error: Error) {
    let status = error.status();
    assert!(
        status.is_client_error(),
        "{name}: a bad body must be a 4xx, got {status} for {error}"
    );
    assert!(
        matches!(error, Error::Request(_)),
        "{name}: a body refusal is a request error, got {error:?}"
    );
}
