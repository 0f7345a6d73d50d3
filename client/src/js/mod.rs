//! The JavaScript API, exported with wasm-bindgen. Only translation lives here: names in
//! camelCase, Rust errors into JS `Error`s, Promises for async work. The npm package's
//! ESM wrapper (`pkg-template/index.js`) re-exports these and re-throws errors as
//! `AuthClientError`.

mod client;

pub use client::{AuthClient, create_client};

use crate::ClientError;
use crate::capabilities;
use js_sys::Reflect;
use passkey_magic_shared::magic_link;
use wasm_bindgen::prelude::*;

/// The one conversion of a [`ClientError`] into a thrown JS value: an `Error` named
/// `AuthClientError` carrying `status` and `code`.
pub(crate) fn to_js_error(error: ClientError) -> JsValue {
    let js_error = js_sys::Error::new(&error.message);
    js_error.set_name("AuthClientError");
    let code = JsValue::from_str(error.code.as_str());
    // Setting properties on a fresh Error object cannot fail.
    let _ = Reflect::set(&js_error, &"status".into(), &error.status.into());
    let _ = Reflect::set(&js_error, &"code".into(), &code);
    js_error.into()
}

/// `true` when WebAuthn passkeys are available in this browser.
#[wasm_bindgen(js_name = supportsPasskeys)]
pub fn supports_passkeys() -> bool {
    capabilities::supports_passkeys()
}

/// Resolves to `true` when passkeys can be offered in form autofill.
#[wasm_bindgen(js_name = supportsAutofill)]
pub async fn supports_autofill() -> bool {
    capabilities::supports_autofill().await
}

/// Resolves to `true` when the device has a user-verifying platform authenticator.
#[wasm_bindgen(js_name = hasPlatformAuthenticator)]
pub async fn has_platform_authenticator() -> bool {
    capabilities::has_platform_authenticator().await
}

/// The magic-link token of a URL (absolute or relative), e.g. `window.location.href`.
/// Throws an `AuthClientError` when the URL has no usable token.
#[wasm_bindgen(js_name = extractMagicLinkToken)]
pub fn extract_magic_link_token(url: &str) -> Result<String, JsValue> {
    magic_link::extract_token(url)
        .map_err(|error| to_js_error(ClientError::invalid(error.to_string())))
}
