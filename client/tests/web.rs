//! Browser tests of the wasm build, run in headless Chromium by wasm-bindgen-test
//! (`cargo test --target wasm32-unknown-unknown` in `client/`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking
#![cfg(target_arch = "wasm32")]

use js_sys::{JSON, Reflect};
use passkey_magic_client::shared::{Endpoint, ErrorCode, webauthn};
use passkey_magic_client::transport::FetchTransport;
use passkey_magic_client::{Client, capabilities, js};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const CREATION_OPTIONS: &str =
    include_str!("../../shared/tests/fixtures/webauthn/creation-options.webauthn-rs.json");
const REQUEST_OPTIONS: &str = include_str!(
    "../../shared/tests/fixtures/webauthn/request-options-discoverable.webauthn-rs.json"
);

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap()
}

/// Calls `PublicKeyCredential.<parser>(json)` like a page would, returning the parsed
/// options or the thrown error.
fn browser_parse(parser: &str, json: &str) -> Result<JsValue, JsValue> {
    let class = get(&js_sys::global(), "PublicKeyCredential");
    let function: js_sys::Function = get(&class, parser).dyn_into()?;
    function.call1(&class, &JSON::parse(json)?)
}

#[wasm_bindgen_test]
fn chromium_supports_passkeys() {
    assert!(capabilities::supports_passkeys());
    assert!(js::supports_passkeys());
}

#[wasm_bindgen_test]
async fn capability_checks_resolve_to_booleans() {
    // Headless Chromium has no platform authenticator, but the checks must not throw.
    let _ = capabilities::supports_autofill().await;
    let _ = capabilities::has_platform_authenticator().await;
}

#[wasm_bindgen_test]
fn creation_options_we_send_parse_in_the_browser() {
    let options: webauthn::CreationOptions = serde_json::from_str(CREATION_OPTIONS).unwrap();
    let sent = serde_json::to_string(&options).unwrap();
    let parsed = browser_parse("parseCreationOptionsFromJSON", &sent)
        .unwrap_or_else(|e| panic!("Chromium rejected our options: {e:?}"));
    let challenge: js_sys::ArrayBuffer = get(&parsed, "challenge").dyn_into().unwrap();
    assert_eq!(challenge.byte_length() as usize, options.challenge.len());
    let user_id: js_sys::ArrayBuffer = get(&get(&parsed, "user"), "id").dyn_into().unwrap();
    assert_eq!(user_id.byte_length(), 16);
}

#[wasm_bindgen_test]
fn request_options_we_send_parse_in_the_browser() {
    let options: webauthn::RequestOptions = serde_json::from_str(REQUEST_OPTIONS).unwrap();
    let sent = serde_json::to_string(&options).unwrap();
    let parsed = browser_parse("parseRequestOptionsFromJSON", &sent)
        .unwrap_or_else(|e| panic!("Chromium rejected our options: {e:?}"));
    assert_eq!(
        get(&parsed, "rpId").as_string().as_deref(),
        Some("localhost")
    );
    assert_eq!(
        get(&parsed, "userVerification").as_string().as_deref(),
        Some("required")
    );
}

#[wasm_bindgen_test]
fn the_browser_rejects_broken_options() {
    // Proves the parse check above can fail: a challenge that is not base64url.
    let mut options: serde_json::Value = serde_json::from_str(CREATION_OPTIONS).unwrap();
    options["challenge"] = serde_json::json!("not base64url!");
    assert!(browser_parse("parseCreationOptionsFromJSON", &options.to_string()).is_err());
}

#[wasm_bindgen_test]
fn magic_link_tokens_are_extracted_in_wasm() {
    assert_eq!(
        js::extract_magic_link_token("https://app.example/verify?token=a%2Bb").unwrap(),
        "a+b"
    );
    let error = js::extract_magic_link_token("/verify?token=").unwrap_err();
    let error: js_sys::Error = error.dyn_into().unwrap();
    assert_eq!(String::from(error.name()), "AuthClientError");
    assert_eq!(String::from(error.message()), "The link's token is empty");
    assert_eq!(get(&error, "status").as_f64(), Some(0.0));
    assert_eq!(
        get(&error, "code").as_string().as_deref(),
        Some("invalid_request")
    );
}

#[wasm_bindgen_test]
async fn fetch_transport_reports_http_errors() {
    // The test runner's own server answers unknown paths with a non-JSON 404.
    let client = Client::new(FetchTransport::new("/no-such-api"));
    let error = client
        .call::<(), serde_json::Value>(Endpoint::QrStatus, Some("x"), Some("token=t"), None)
        .await
        .unwrap_err();
    assert_eq!(error.status, 404);
    assert_eq!(error.code, ErrorCode::NotFound);
}

#[wasm_bindgen_test]
async fn session_routes_need_a_session_token() {
    let client = Client::new(FetchTransport::new("/no-such-api"));
    let error = client
        .call::<(), serde_json::Value>(Endpoint::GetSession, None, None, None)
        .await
        .unwrap_err();
    assert_eq!((error.status, error.code), (401, ErrorCode::Unauthorized));
}
