//! Browser tests of the wasm build, run in headless Chromium by wasm-bindgen-test
//! (`cargo test --target wasm32-unknown-unknown` in `client/`): WebAuthn JSON
//! conversions and their fallbacks, error mapping, poll backoff and jitter, aborts at
//! every step, token persistence and `observeSession`. The transport is a recording
//! v0.4 `request` function (the issue's contract is exactly what it sees).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail by panicking
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, JSON, Promise, Reflect};
use passkey_magic_client::js::{Core, sync, webauthn};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const CREATION_OPTIONS: &str =
    include_str!("../../shared/tests/fixtures/webauthn/creation-options.webauthn-rs.json");
const REQUEST_OPTIONS: &str =
    include_str!("../../shared/tests/fixtures/webauthn/request-options-scoped.webauthn-rs.json");

#[wasm_bindgen(inline_js = r#"
export class TestAuthError extends Error {
  constructor(message, options) { super(message); this.status = options?.status; this.cause = options?.cause; this.reason = options?.reason; }
}
// A v0.4 config whose request records calls; `answer(endpoint, body, opts)` gives the result.
export function testErrorClass() { return TestAuthError; }
export function recorder(answer) {
  const calls = [];
  const config = { request(endpoint, body, options) { calls.push({ endpoint, body, options }); return answer(endpoint, body, options); } };
  return { config, calls };
}
export function answers(map) {
  return recorder((endpoint) => endpoint in map ? Promise.resolve(map[endpoint]) : new Promise(() => {}));
}
export function never() { return recorder(() => new Promise(() => {})); }
// Records the delays the SDK sleeps and runs the timers at once (no wall-clock waits).
export function recordTimers() {
  const delays = [];
  const real = globalThis.setTimeout;
  globalThis.setTimeout = (callback, ms) => { delays.push(ms); return real(callback, 0); };
  return { delays, restore() { globalThis.setTimeout = real; } };
}
export function stubRandom(value) { const real = Math.random; Math.random = () => value; return () => { Math.random = real; }; }
export function fakeCredential(create, withToJson) {
  const bytes = (...b) => new Uint8Array(b).buffer;
  const response = create
    ? { clientDataJSON: bytes(1, 2, 3), attestationObject: bytes(4, 5), getTransports: () => ['internal'], getPublicKeyAlgorithm: () => -7, getPublicKey: () => bytes(9), getAuthenticatorData: () => { throw new Error('extension broke it'); } }
    : { clientDataJSON: bytes(1, 2, 3), authenticatorData: bytes(6), signature: bytes(7, 8), userHandle: null };
  const credential = { id: 'AQI', rawId: bytes(1, 2), type: 'public-key', response, authenticatorAttachment: 'platform', getClientExtensionResults: () => ({}) };
  if (withToJson) credential.toJSON = () => { throw new Error('password manager replaced toJSON'); };
  return credential;
}
export function breakParsers() {
  const saved = [PublicKeyCredential.parseCreationOptionsFromJSON, PublicKeyCredential.parseRequestOptionsFromJSON];
  PublicKeyCredential.parseCreationOptionsFromJSON = () => { throw new Error('broken by an extension'); };
  PublicKeyCredential.parseRequestOptionsFromJSON = () => { throw new Error('broken by an extension'); };
  return () => { [PublicKeyCredential.parseCreationOptionsFromJSON, PublicKeyCredential.parseRequestOptionsFromJSON] = saved; };
}
// navigator.credentials.create/get replaced: `behaviour` is 'hang', 'null' or an error name.
export function stubCredentials(behaviour) {
  const container = navigator.credentials;
  const saved = [container.create, container.get];
  const seen = [];
  const fake = (request) => {
    seen.push(request);
    if (behaviour === 'hang') return new Promise(() => {});
    if (behaviour === 'null') return Promise.resolve(null);
    return Promise.reject(new DOMException('browser says ' + behaviour, behaviour));
  };
  container.create = fake; container.get = fake;
  return { seen, restore() { [container.create, container.get] = saved; } };
}
export function tick() { return new Promise((resolve) => setTimeout(resolve, 0)); }
export function domError(name, message) { return new DOMException(message, name); }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = testErrorClass)]
    fn test_error_class() -> Function;
    fn recorder(answer: &Function) -> JsValue;
    fn answers(map: &JsValue) -> JsValue;
    fn never() -> JsValue;
    #[wasm_bindgen(js_name = recordTimers)]
    fn record_timers() -> JsValue;
    #[wasm_bindgen(js_name = stubRandom)]
    fn stub_random(value: f64) -> Function;
    #[wasm_bindgen(js_name = fakeCredential)]
    fn fake_credential(create: bool, with_to_json: bool) -> JsValue;
    #[wasm_bindgen(js_name = breakParsers)]
    fn break_parsers() -> Function;
    #[wasm_bindgen(js_name = stubCredentials)]
    fn stub_credentials(behaviour: &str) -> JsValue;
    fn tick() -> Promise;
    #[wasm_bindgen(js_name = domError)]
    fn dom_error(name: &str, message: &str) -> JsValue;
}

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap()
}

fn parse(json: &str) -> JsValue {
    JSON::parse(json).unwrap()
}

fn client(mock: &JsValue) -> Core {
    Core::new(get(mock, "config"), test_error_class())
}

fn calls(mock: &JsValue) -> Array {
    get(mock, "calls").into()
}

fn endpoints(mock: &JsValue) -> Vec<String> {
    calls(mock)
        .iter()
        .map(|call| get(&call, "endpoint").as_string().unwrap())
        .collect()
}

async fn settle(promise: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

fn signal_of(controller: &web_sys::AbortController) -> JsValue {
    let opts = js_sys::Object::new();
    Reflect::set(&opts, &"signal".into(), &controller.signal()).unwrap();
    opts.into()
}

const NONE: JsValue = JsValue::UNDEFINED;
// Operation numbers of `Core::run` (as pkg-template/index.js names them).
const REGISTER: u32 = 0;
const LIST: u32 = 3;
const QR_WAIT: u32 = 25;
const LINK_VERIFY: u32 = 11;
const REVOKE: u32 = 22;

#[wasm_bindgen_test]
fn manual_conversion_matches_the_browsers_parser() {
    let options = parse(CREATION_OPTIONS);
    let manual = webauthn::parse_options_manually(&options, true).unwrap();
    let class = get(&js_sys::global(), "PublicKeyCredential");
    let parser: Function = get(&class, "parseCreationOptionsFromJSON")
        .dyn_into()
        .unwrap();
    let browser = parser.call1(&class, &options).unwrap();
    for path in [["challenge", ""], ["user", "id"]] {
        let pick = |value: &JsValue| {
            let field = get(value, path[0]);
            let field = if path[1].is_empty() {
                field
            } else {
                get(&field, path[1])
            };
            js_sys::Uint8Array::new(&field).to_vec()
        };
        assert_eq!(pick(&manual), pick(&browser), "{path:?}");
    }
    let request = parse(REQUEST_OPTIONS);
    let manual = webauthn::parse_options_manually(&request, false).unwrap();
    let allowed = Array::from(&get(&manual, "allowCredentials"));
    assert!(allowed.length() > 0);
    assert!(get(&allowed.get(0), "id").is_instance_of::<js_sys::ArrayBuffer>());
}

#[wasm_bindgen_test]
fn throwing_browser_parsers_fall_back_to_the_manual_conversion() {
    let restore = break_parsers();
    let parsed = webauthn::parse_options(&parse(CREATION_OPTIONS), true);
    restore.call0(&NONE).unwrap();
    let challenge = get(&parsed.unwrap(), "challenge");
    assert_eq!(js_sys::ArrayBuffer::from(challenge).byte_length(), 32);
}

#[wasm_bindgen_test]
fn a_missing_required_binary_field_is_an_error() {
    let options = parse(r#"{"rp":{"id":"localhost"},"user":{"name":"a"},"pubKeyCredParams":[]}"#);
    let error = webauthn::parse_options_manually(&options, true).unwrap_err();
    assert!(error.is_instance_of::<js_sys::TypeError>());
    let credential = fake_credential(false, false);
    Reflect::delete_property(&get(&credential, "response").into(), &"signature".into()).unwrap();
    let error = webauthn::credential_json_manually(&credential, false).unwrap_err();
    assert!(String::from(js_sys::Error::from(error).message()).contains("signature"));
}

#[wasm_bindgen_test]
fn a_throwing_to_json_falls_back_to_the_manual_encoding() {
    let json = webauthn::credential_json(&fake_credential(true, true), true).unwrap();
    let response = get(&json, "response");
    assert_eq!(get(&json, "rawId").as_string().unwrap(), "AQI");
    assert_eq!(
        get(&response, "clientDataJSON").as_string().unwrap(),
        "AQID"
    );
    assert_eq!(
        get(&response, "attestationObject").as_string().unwrap(),
        "BAU"
    );
    assert_eq!(get(&response, "publicKey").as_string().unwrap(), "CQ");
    assert_eq!(get(&response, "publicKeyAlgorithm").as_f64(), Some(-7.0));
    assert!(
        get(&response, "authenticatorData").is_undefined(),
        "a failing getter is swallowed"
    );
    assert_eq!(
        get(&json, "authenticatorAttachment").as_string().unwrap(),
        "platform"
    );
    let assertion = webauthn::credential_json(&fake_credential(false, true), false).unwrap();
    let response = get(&assertion, "response");
    assert_eq!(get(&response, "signature").as_string().unwrap(), "Bwg");
    assert!(get(&response, "userHandle").is_undefined());
}

#[wasm_bindgen_test]
fn browser_errors_map_as_v04_maps_them() {
    let creation = parse(CREATION_OPTIONS);
    let check = |name: &str, create: bool, code: Option<&str>, message: &str| {
        let original = dom_error(name, "browser message");
        let mapped = webauthn::map_error(&original, create, &creation);
        match code {
            None => assert_eq!(mapped, original, "{name} passes through"),
            Some(code) => {
                assert_eq!(get(&mapped, "name").as_string().unwrap(), name);
                assert_eq!(get(&mapped, "code").as_string().unwrap(), code);
                assert_eq!(get(&mapped, "message").as_string().unwrap(), message);
                assert_eq!(get(&mapped, "cause"), original);
                assert!(mapped.is_instance_of::<js_sys::Error>());
            }
        }
    };
    check(
        "NotAllowedError",
        true,
        Some("ERROR_PASSTHROUGH_SEE_CAUSE_PROPERTY"),
        "browser message",
    );
    check(
        "AbortError",
        false,
        Some("ERROR_CEREMONY_ABORTED"),
        "Authentication ceremony was sent an abort signal",
    );
    check(
        "InvalidStateError",
        true,
        Some("ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED"),
        "The authenticator was previously registered",
    );
    check("InvalidStateError", false, None, "");
    check(
        "ConstraintError",
        true,
        Some("ERROR_AUTHENTICATOR_MISSING_DISCOVERABLE_CREDENTIAL_SUPPORT"),
        "Discoverable credentials were required but no available authenticator supported it",
    );
    check(
        "NotSupportedError",
        true,
        Some("ERROR_AUTHENTICATOR_NO_SUPPORTED_PUBKEYCREDPARAMS_ALG"),
        "No available authenticator supported any of the specified pubKeyCredParams algorithms",
    );
    check(
        "UnknownError",
        true,
        Some("ERROR_AUTHENTICATOR_GENERAL_ERROR"),
        "The authenticator was unable to process the specified options, or could not create a new credential",
    );
    // The test page is on 127.0.0.1: not a valid domain for WebAuthn.
    let host = get(&get(&js_sys::global(), "location"), "hostname")
        .as_string()
        .unwrap();
    if host == "localhost" {
        check("SecurityError", true, None, "");
    } else {
        let invalid = format!("{host} is an invalid domain");
        check(
            "SecurityError",
            true,
            Some("ERROR_INVALID_DOMAIN"),
            &invalid,
        );
    }
    check("WeirdError", true, None, "");
}

#[wasm_bindgen_test]
async fn register_asks_options_prompts_and_verifies_with_the_servers_user_id() {
    let stub = stub_credentials("null");
    let options = js_sys::Object::new();
    Reflect::set(&options, &"options".into(), &parse(CREATION_OPTIONS)).unwrap();
    Reflect::set(&options, &"userId".into(), &"server-user".into()).unwrap();
    let map = js_sys::Object::new();
    Reflect::set(&map, &"/passkey/register/options".into(), &options).unwrap();
    let mock = answers(&map.into());
    let error = settle(client(&mock).run(REGISTER, NONE, NONE, NONE))
        .await
        .unwrap_err();
    let _ = Reflect::get(&stub, &"restore".into())
        .unwrap()
        .dyn_into::<Function>()
        .unwrap()
        .call0(&stub);
    assert_eq!(
        String::from(js_sys::Error::from(error).message()),
        "Registration was not completed"
    );
    assert_eq!(endpoints(&mock), ["/passkey/register/options"]);
    let request = Array::from(&get(&stub, "seen")).get(0);
    assert!(get(&request, "signal").is_instance_of::<web_sys::AbortSignal>());
    assert!(get(&get(&request, "publicKey"), "challenge").is_instance_of::<js_sys::ArrayBuffer>());
}

#[wasm_bindgen_test]
async fn an_abort_at_each_step_rejects_with_the_reason() {
    // Before anything: nothing is sent.
    let mock = never();
    let controller = web_sys::AbortController::new().unwrap();
    controller.abort_with_reason(&"early".into());
    let error = settle(client(&mock).run(LIST, signal_of(&controller), NONE, NONE))
        .await
        .unwrap_err();
    assert_eq!(error.as_string().as_deref(), Some("early"));
    assert_eq!(calls(&mock).length(), 0);

    // During a request the transport ignores.
    let mock = never();
    let controller = web_sys::AbortController::new().unwrap();
    let pending = client(&mock).run(LIST, signal_of(&controller), NONE, NONE);
    JsFuture::from(tick()).await.unwrap();
    controller.abort_with_reason(&"during request".into());
    assert_eq!(
        settle(pending).await.unwrap_err().as_string().as_deref(),
        Some("during request")
    );

    // During the passkey prompt.
    let stub = stub_credentials("hang");
    let options = js_sys::Object::new();
    Reflect::set(&options, &"options".into(), &parse(CREATION_OPTIONS)).unwrap();
    Reflect::set(&options, &"userId".into(), &"u".into()).unwrap();
    let map = js_sys::Object::new();
    Reflect::set(&map, &"/passkey/register/options".into(), &options).unwrap();
    let mock = answers(&map.into());
    let controller = web_sys::AbortController::new().unwrap();
    let pending = client(&mock).run(REGISTER, NONE, signal_of(&controller), NONE);
    for _ in 0..3 {
        JsFuture::from(tick()).await.unwrap();
    }
    assert_eq!(
        Array::from(&get(&stub, "seen")).length(),
        1,
        "the prompt is open"
    );
    controller.abort_with_reason(&"during prompt".into());
    let error = settle(pending).await.unwrap_err();
    let _ = Reflect::get(&stub, &"restore".into())
        .unwrap()
        .dyn_into::<Function>()
        .unwrap()
        .call0(&stub);
    assert_eq!(error.as_string().as_deref(), Some("during prompt"));
    assert_eq!(
        endpoints(&mock),
        ["/passkey/register/options"],
        "no verify after an abort"
    );

    // During a poll sleep.
    let map = js_sys::Object::new();
    Reflect::set(
        &map,
        &"/qr/s/status?token=t".into(),
        &parse(r#"{"state":"created"}"#),
    )
    .unwrap();
    let mock = answers(&map.into());
    let controller = web_sys::AbortController::new().unwrap();
    let opts = signal_of(&controller);
    Reflect::set(&opts, &"interval".into(), &JsValue::from(60_000)).unwrap();
    let pending = client(&mock).run(QR_WAIT, "s".into(), "t".into(), opts);
    for _ in 0..3 {
        JsFuture::from(tick()).await.unwrap();
    }
    assert_eq!(calls(&mock).length(), 1, "sleeping after the first status");
    controller.abort_with_reason(&"during sleep".into());
    assert_eq!(
        settle(pending).await.unwrap_err().as_string().as_deref(),
        Some("during sleep")
    );
}

#[wasm_bindgen_test]
async fn poll_delays_follow_backoff_cap_and_jitter() {
    let statuses = r#"[{"state":"created"},{"state":"created"},{"state":"scanned"},{"state":"challenged"},{"state":"created"},{"state":"authenticated","session":{"token":"t","expiresAt":"x"}}]"#;
    let list: Array = parse(statuses).into();
    let answer = Closure::<dyn FnMut(JsValue, JsValue, JsValue) -> Promise>::new(move |_, _, _| {
        Promise::resolve(&list.shift())
    });
    let mock = recorder(answer.as_ref().unchecked_ref());
    let timers = record_timers();
    let opts = parse(r#"{"interval":20,"backoffRate":2,"maxInterval":100}"#);
    let session = settle(client(&mock).run(QR_WAIT, "s".into(), "t".into(), opts))
        .await
        .unwrap();
    assert_eq!(get(&session, "token").as_string().as_deref(), Some("t"));
    let delays: Vec<f64> = Array::from(&get(&timers, "delays"))
        .iter()
        .filter_map(|d| d.as_f64())
        .collect();
    assert_eq!(delays, [20.0, 40.0, 80.0, 100.0, 100.0]);

    // Jitter 0.5 with u = 0.999: ×1.499 after the cap.
    let list: Array = parse(statuses).into();
    let answer = Closure::<dyn FnMut(JsValue, JsValue, JsValue) -> Promise>::new(move |_, _, _| {
        Promise::resolve(&list.shift())
    });
    let mock = recorder(answer.as_ref().unchecked_ref());
    let restore_random = stub_random(0.999);
    Reflect::set(&get(&timers, "delays"), &"length".into(), &JsValue::from(0)).unwrap();
    let opts = parse(r#"{"interval":100,"jitter":0.5}"#);
    settle(client(&mock).run(QR_WAIT, "s".into(), "t".into(), opts))
        .await
        .unwrap();
    restore_random.call0(&NONE).unwrap();
    get(&timers, "restore")
        .dyn_into::<Function>()
        .unwrap()
        .call0(&NONE)
        .unwrap();
    let delays: Vec<f64> = Array::from(&get(&timers, "delays"))
        .iter()
        .filter_map(|d| d.as_f64())
        .collect();
    assert_eq!(delays, [150.0; 5]);
}

#[wasm_bindgen_test]
async fn the_token_is_persisted_under_the_storage_key() {
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    storage.remove_item("pm-test").unwrap();
    let map = parse(
        r#"{"/magic-link/verify":{"method":"magic-link","user":{"id":"u"},"session":{"token":"tok-7"},"isNewUser":true},"/session/revoke":{"ok":true}}"#,
    );
    let mock = answers(&map);
    let config = get(&mock, "config");
    Reflect::set(&config, &"storageKey".into(), &"pm-test".into()).unwrap();
    let core = client(&mock);
    settle(core.run(LINK_VERIFY, parse(r#"{"token":"x"}"#), NONE, NONE))
        .await
        .unwrap();
    assert_eq!(core.get_token().as_deref(), Some("tok-7"));
    assert_eq!(
        storage.get_item("pm-test").unwrap().as_deref(),
        Some("tok-7")
    );
    assert_eq!(
        client(&mock).get_token().as_deref(),
        Some("tok-7"),
        "a new client restores it"
    );
    settle(core.run(REVOKE, NONE, NONE, NONE)).await.unwrap();
    assert_eq!(core.get_token(), None);
    assert_eq!(storage.get_item("pm-test").unwrap(), None);
}

#[wasm_bindgen(inline_js = r#"
export function observeHarness(core) {
  const seen = [];
  const client = { getSession: () => Promise.resolve('tick ' + seen.length) };
  let wake;
  const stop = core.observe(client, (value) => { seen.push(value); wake?.(); }, { intervalMs: 1e9 });
  const next = () => new Promise((resolve) => { wake = resolve; });
  return { seen, stop, next };
}
export function announce() { const channel = new BroadcastChannel('passkey-magic'); channel.postMessage('session'); channel.close(); }
export function becomeVisible() { document.dispatchEvent(new Event('visibilitychange')); }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = observeHarness)]
    fn observe_harness(core: JsValue) -> JsValue;
    fn announce();
    #[wasm_bindgen(js_name = becomeVisible)]
    fn become_visible();
}

#[wasm_bindgen_test]
async fn observe_session_ticks_now_and_on_visibility_and_other_tabs() {
    let core: JsValue = client(&never()).into();
    let harness = observe_harness(core);
    let seen = || Array::from(&get(&harness, "seen")).length();
    let next = || {
        get(&harness, "next")
            .dyn_into::<Function>()
            .unwrap()
            .call0(&NONE)
            .unwrap()
            .dyn_into::<Promise>()
            .unwrap()
    };
    if seen() == 0 {
        JsFuture::from(next()).await.unwrap();
    }
    assert_eq!(seen(), 1, "an immediate tick");
    let waiting = next();
    become_visible();
    JsFuture::from(waiting).await.unwrap();
    assert_eq!(seen(), 2, "the tab became visible");
    let waiting = next();
    announce();
    JsFuture::from(waiting).await.unwrap();
    assert_eq!(seen(), 3, "another tab signed in or out");
    get(&harness, "stop")
        .dyn_into::<Function>()
        .unwrap()
        .call0(&NONE)
        .unwrap();
    become_visible();
    for _ in 0..3 {
        JsFuture::from(tick()).await.unwrap();
    }
    assert_eq!(seen(), 3, "no tick after unsubscribe");
}

#[wasm_bindgen_test]
fn qr_render_and_tokens_are_synchronous() {
    let svg = sync(0, "hi".into(), NONE).unwrap().as_string().unwrap();
    assert!(svg.starts_with(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 250 250">"#));
    let error = sync(0, JsValue::from(3), NONE).unwrap_err();
    assert!(String::from(js_sys::Error::from(error).message()).ends_with("got: number"));
    assert_eq!(
        sync(2, "/v?token=a%2Bb".into(), NONE)
            .unwrap()
            .as_string()
            .as_deref(),
        Some("a+b")
    );
    assert_eq!(
        sync(3, NONE, NONE).unwrap(),
        JsValue::TRUE,
        "Chromium has WebAuthn"
    );
}
