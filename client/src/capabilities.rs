//! What the browser can do: passkeys at all, passkey autofill (conditional mediation), a
//! built-in platform authenticator. Each check degrades to `false` in older browsers
//! instead of throwing.

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn public_key_credential() -> Option<JsValue> {
    Reflect::get(&js_sys::global(), &JsValue::from_str("PublicKeyCredential"))
        .ok()
        .filter(|value| value.is_function())
}

fn has_credentials_container() -> bool {
    let global = js_sys::global();
    Reflect::get(&global, &JsValue::from_str("navigator"))
        .ok()
        .filter(|navigator| navigator.is_object())
        .and_then(|navigator| Reflect::get(&navigator, &JsValue::from_str("credentials")).ok())
        .is_some_and(|credentials| credentials.is_object())
}

/// Whether WebAuthn passkeys can be used here (`PublicKeyCredential` and
/// `navigator.credentials` exist; the page must be a secure context).
pub fn supports_passkeys() -> bool {
    public_key_credential().is_some() && has_credentials_container()
}

/// Calls a static boolean-returning async check of `PublicKeyCredential`, if present.
async fn static_check(name: &str) -> bool {
    let Some(class) = public_key_credential() else {
        return false;
    };
    let Some(check) = Reflect::get(&class, &JsValue::from_str(name))
        .ok()
        .and_then(|value| value.dyn_into::<Function>().ok())
    else {
        return false;
    };
    let Ok(promise) = check
        .call0(&class)
        .and_then(|value| value.dyn_into::<Promise>())
    else {
        return false;
    };
    JsFuture::from(promise)
        .await
        .ok()
        .and_then(|value| value.as_bool())
        .unwrap_or(false)
}

/// Whether passkeys can be offered in form autofill (`mediation: "conditional"`).
pub async fn supports_autofill() -> bool {
    static_check("isConditionalMediationAvailable").await
}

/// Whether this device has a user-verifying platform authenticator (Touch ID, Windows
/// Hello, Android screen lock, ...).
pub async fn has_platform_authenticator() -> bool {
    static_check("isUserVerifyingPlatformAuthenticatorAvailable").await
}
