//! Capability checks of v0.4 §11, plus the synchronous helpers: QR rendering and the
//! magic-link token of a URL.

use super::value::{call_method, function};
use super::webauthn::public_key_credential;
use js_sys::Promise;
use wasm_bindgen::prelude::*;

/// `typeof PublicKeyCredential === "function"`.
pub(crate) fn supports_passkeys() -> bool {
    public_key_credential().is_some()
}

/// The promise of `PublicKeyCredential.isConditionalMediationAvailable()` itself, or one
/// resolving `false` when passkeys or the check are missing.
pub(crate) fn supports_autofill() -> Result<JsValue, JsValue> {
    static_check("isConditionalMediationAvailable")
}

/// The promise of `isUserVerifyingPlatformAuthenticatorAvailable()`, or `false`.
pub(crate) fn has_platform_authenticator() -> Result<JsValue, JsValue> {
    static_check("isUserVerifyingPlatformAuthenticatorAvailable")
}

fn static_check(name: &str) -> Result<JsValue, JsValue> {
    match public_key_credential() {
        Some(class) if function(&class, name).is_some() => call_method(&class, name, &[]),
        _ => Ok(Promise::resolve(&JsValue::FALSE).into()),
    }
}

/// The synchronous members, numbered as the ESM entry calls them.
const RENDER: u32 = 0;
const RENDER_TEXT: u32 = 1;
const EXTRACT_TOKEN: u32 = 2;
const SUPPORTS_PASSKEYS: u32 = 3;
const SUPPORTS_AUTOFILL: u32 = 4;
const HAS_PLATFORM_AUTHENTICATOR: u32 = 5;
const NORMALIZE: u32 = 6;
const CANCEL_AUTOFILL: u32 = 7;

/// Runs synchronous member `op`; errors are thrown synchronously, as v0.4 throws them.
#[wasm_bindgen]
pub fn sync(op: u32, a: JsValue, b: JsValue) -> Result<JsValue, JsValue> {
    match op {
        RENDER | RENDER_TEXT => super::render::render(&a, &b, op == RENDER),
        EXTRACT_TOKEN => super::magic_link::extract_token(&a),
        SUPPORTS_PASSKEYS => Ok(JsValue::from_bool(supports_passkeys())),
        SUPPORTS_AUTOFILL => supports_autofill(),
        HAS_PLATFORM_AUTHENTICATOR => has_platform_authenticator(),
        NORMALIZE => match b.dyn_into::<js_sys::Function>() {
            Ok(class) => Ok(super::transport::normalize(&a, &class)),
            Err(_) => Err(super::value::type_error("AuthClientError class missing")),
        },
        CANCEL_AUTOFILL => {
            super::webauthn::cancel_pending();
            Ok(JsValue::UNDEFINED)
        }
        _ => Err(super::value::type_error("Unknown operation")),
    }
}
