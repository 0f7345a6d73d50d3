//! WebAuthn ceremonies: JSON options → `navigator.credentials.create/get` → JSON answer,
//! and v0.4's error mapping (§6 of the client API spec).
//!
//! The browser's `PublicKeyCredential.parse*OptionsFromJSON` and `toJSON()` are used
//! when present; when they are missing *or throw* (password-manager extensions replace
//! them) the same conversion is done here. A missing required binary field is an error.
//! One ceremony runs at a time: starting one aborts a pending one (e.g. an autofill
//! sign-in waiting in the background), as v0.4's WebAuthn library does.

use alloc::vec::Vec;

use super::abort::Abort;
use super::value::{
    call_method, concat, function, get, global, named_error, object, read, set, text, type_error,
};
use crate::base64url;
use core::cell::RefCell;
use js_sys::{Array, ArrayBuffer, Object, Promise, Uint8Array};
use wasm_bindgen::prelude::*;

/// Which ceremony.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    /// `navigator.credentials.create`: a new passkey.
    Create,
    /// `navigator.credentials.get`: sign in with a passkey.
    Get,
    /// `get` with `mediation: "conditional"`: the passkey offered in form autofill.
    Autofill,
}

/// The `AbortController` of the pending ceremony, if any. wasm-bindgen's own
/// single-thread cell (what its `thread_local_v2` statics use; the version is pinned
/// exactly in Cargo.toml): std's `thread_local!` is not there in the `no_std` package.
static PENDING: wasm_bindgen::__rt::LazyCell<RefCell<Option<JsValue>>> =
    wasm_bindgen::__rt::LazyCell::new(|| RefCell::new(None));

/// `PublicKeyCredential`, if this browser has WebAuthn.
pub(crate) fn public_key_credential() -> Option<JsValue> {
    Some(get(&global(), "PublicKeyCredential")).filter(JsValue::is_function)
}

/// base64url text → `ArrayBuffer`; a missing or malformed value is a `TypeError`.
fn decode(value: &JsValue, field: &str) -> Result<JsValue, JsValue> {
    let bytes = value
        .as_string()
        .and_then(|text| base64url::decode(&text))
        .ok_or_else(|| {
            type_error(
                &concat(&[&text("Invalid or missing base64url field: "), &text(field)])
                    .as_string()
                    .unwrap_or_default(),
            )
        })?;
    Ok(Uint8Array::from(bytes.as_slice()).buffer().into())
}

/// `ArrayBuffer` or view → base64url; a missing value is a `TypeError`.
fn encode(value: &JsValue, field: &str) -> Result<JsValue, JsValue> {
    if !(value.is_instance_of::<ArrayBuffer>() || ArrayBuffer::is_view(value)) {
        return Err(type_error(
            &concat(&[
                &text("Missing binary field in the passkey response: "),
                &text(field),
            ])
            .as_string()
            .unwrap_or_default(),
        ));
    }
    Ok(text(&base64url::encode(&Uint8Array::new(value).to_vec())))
}

/// A shallow copy of an object (`{ ...value }`).
fn copy(value: &JsValue) -> Result<JsValue, JsValue> {
    let source = value
        .dyn_ref::<Object>()
        .ok_or_else(|| type_error("Expected an object"))?;
    Ok(Object::assign(&Object::new(), source).into())
}

/// Copies of credential descriptors with their `id` decoded.
fn descriptors(list: &JsValue) -> Result<JsValue, JsValue> {
    let out = Array::new();
    for descriptor in Array::from(list).iter() {
        let copied = copy(&descriptor)?;
        set(&copied, "id", &decode(&get(&descriptor, "id"), "id")?);
        out.push(&copied);
    }
    Ok(out.into())
}

/// WebAuthn JSON options → the `publicKey` that `navigator.credentials` takes, by hand.
#[doc(hidden)]
pub fn parse_options_manually(options: &JsValue, create: bool) -> Result<JsValue, JsValue> {
    let challenge = read(options, "challenge")?;
    let public_key = copy(options)?;
    set(&public_key, "challenge", &decode(&challenge, "challenge")?);
    if create {
        let user = copy(&read(options, "user")?)?;
        set(&user, "id", &decode(&get(&user, "id"), "user.id")?);
        set(&public_key, "user", &user);
        let exclude = get(options, "excludeCredentials");
        if Array::is_array(&exclude) {
            set(&public_key, "excludeCredentials", &descriptors(&exclude)?);
        }
    } else {
        let allow = get(options, "allowCredentials");
        if Array::is_array(&allow) {
            let value = if Array::from(&allow).length() == 0 {
                JsValue::UNDEFINED
            } else {
                descriptors(&allow)?
            };
            set(&public_key, "allowCredentials", &value);
        }
    }
    Ok(public_key)
}

/// The browser's parser when it works, else [`parse_options_manually`].
#[doc(hidden)]
pub fn parse_options(options: &JsValue, create: bool) -> Result<JsValue, JsValue> {
    read(options, "challenge")?;
    let parser = if create {
        "parseCreationOptionsFromJSON"
    } else {
        "parseRequestOptionsFromJSON"
    };
    if let Some(class) = public_key_credential()
        && let Some(parse) = function(&class, parser)
        && let Ok(parsed) = parse.call1(&class, options)
    {
        return Ok(parsed);
    }
    parse_options_manually(options, create)
}

/// A credential's WebAuthn JSON, by hand (what `toJSON()` returns).
#[doc(hidden)]
pub fn credential_json_manually(credential: &JsValue, create: bool) -> Result<JsValue, JsValue> {
    let response = read(credential, "response")?;
    let client_data = encode(&get(&response, "clientDataJSON"), "clientDataJSON")?;
    let optional = |name: &str| -> JsValue {
        function(&response, name)
            .and_then(|method| method.call0(&response).ok())
            .unwrap_or(JsValue::UNDEFINED)
    };
    let optional_binary = |name: &str| -> JsValue {
        let value = optional(name);
        encode(&value, name).unwrap_or(JsValue::UNDEFINED)
    };
    let encoded = if create {
        object(&[
            (
                "attestationObject",
                &encode(&get(&response, "attestationObject"), "attestationObject")?,
            ),
            ("clientDataJSON", &client_data),
            ("transports", &optional("getTransports")),
            ("publicKeyAlgorithm", &optional("getPublicKeyAlgorithm")),
            ("publicKey", &optional_binary("getPublicKey")),
            (
                "authenticatorData",
                &optional_binary("getAuthenticatorData"),
            ),
        ])
    } else {
        let handle = get(&response, "userHandle");
        let handle = if handle.is_null() || handle.is_undefined() {
            JsValue::UNDEFINED
        } else {
            encode(&handle, "userHandle")?
        };
        object(&[
            (
                "authenticatorData",
                &encode(&get(&response, "authenticatorData"), "authenticatorData")?,
            ),
            ("clientDataJSON", &client_data),
            (
                "signature",
                &encode(&get(&response, "signature"), "signature")?,
            ),
            ("userHandle", &handle),
        ])
    };
    let extensions = function(credential, "getClientExtensionResults")
        .and_then(|results| results.call0(credential).ok())
        .unwrap_or_else(|| Object::new().into());
    let attachment = get(credential, "authenticatorAttachment");
    let attachment = match attachment.as_string().as_deref() {
        Some("platform" | "cross-platform") => attachment,
        _ => JsValue::UNDEFINED,
    };
    Ok(object(&[
        ("id", &get(credential, "id")),
        ("rawId", &encode(&get(credential, "rawId"), "rawId")?),
        ("response", &encoded),
        ("type", &get(credential, "type")),
        ("clientExtensionResults", &extensions),
        ("authenticatorAttachment", &attachment),
    ]))
}

/// `toJSON()` when it works, else [`credential_json_manually`].
#[doc(hidden)]
pub fn credential_json(credential: &JsValue, create: bool) -> Result<JsValue, JsValue> {
    if let Some(to_json) = function(credential, "toJSON")
        && let Ok(json) = to_json.call0(credential)
        && json.is_object()
    {
        return Ok(json);
    }
    credential_json_manually(credential, create)
}

/// `name` is a valid domain for WebAuthn (`localhost` included), as v0.4 checks it.
fn is_valid_domain(name: &str) -> bool {
    if name == "localhost" {
        return true;
    }
    // Bytes and slice splitting only: no string slicing in the bundle.
    let labels: Vec<&[u8]> = name.as_bytes().split(|&b| b == b'.').collect();
    let Some((last, rest)) = labels.split_last() else {
        return false;
    };
    let punycode = |label: &[u8]| label.len() > 4 && label.starts_with(b"xn--");
    let label_ok = |label: &[u8]| {
        let chars_ok = label
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'-');
        chars_ok
            && (punycode(label)
                || (!label.is_empty() && !label.starts_with(b"-") && !label.ends_with(b"-")))
    };
    let tld_ok = (last.len() >= 2 && last.iter().all(u8::is_ascii_alphabetic))
        || (punycode(last) && label_ok(last));
    !rest.is_empty() && tld_ok && rest.iter().all(|label| label_ok(label))
}

/// v0.4's mapping of a browser error to a WebAuthn error (`name` kept, `code` added,
/// `cause` = the browser error); errors it does not know are returned as they are.
#[doc(hidden)]
pub fn map_error(error: &JsValue, create: bool, options: &JsValue) -> JsValue {
    let name = get(error, "name").as_string().unwrap_or_default();
    let selection = get(options, "authenticatorSelection");
    let (code, message): (&str, JsValue) = match name.as_str() {
        "AbortError" => (
            "ERROR_CEREMONY_ABORTED",
            text(if create {
                "Registration ceremony was sent an abort signal"
            } else {
                "Authentication ceremony was sent an abort signal"
            }),
        ),
        "NotAllowedError" => (
            "ERROR_PASSTHROUGH_SEE_CAUSE_PROPERTY",
            get(error, "message"),
        ),
        "InvalidStateError" if create => (
            "ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED",
            text("The authenticator was previously registered"),
        ),
        "ConstraintError" if create && get(&selection, "requireResidentKey") == JsValue::TRUE => (
            "ERROR_AUTHENTICATOR_MISSING_DISCOVERABLE_CREDENTIAL_SUPPORT",
            text(
                "Discoverable credentials were required but no available authenticator supported it",
            ),
        ),
        "ConstraintError"
            if create
                && get(&selection, "userVerification").as_string().as_deref()
                    == Some("required") =>
        {
            (
                "ERROR_AUTHENTICATOR_MISSING_USER_VERIFICATION_SUPPORT",
                text("User verification was required but no available authenticator supported it"),
            )
        }
        "NotSupportedError" if create => {
            let params = get(options, "pubKeyCredParams");
            let has_public_key = Array::is_array(&params)
                && Array::from(&params)
                    .iter()
                    .any(|param| get(&param, "type").as_string().as_deref() == Some("public-key"));
            if has_public_key {
                (
                    "ERROR_AUTHENTICATOR_NO_SUPPORTED_PUBKEYCREDPARAMS_ALG",
                    text(
                        "No available authenticator supported any of the specified pubKeyCredParams algorithms",
                    ),
                )
            } else {
                (
                    "ERROR_MALFORMED_PUBKEYCREDPARAMS",
                    text("No entry in pubKeyCredParams was of type \"public-key\""),
                )
            }
        }
        "SecurityError" => {
            let hostname = get(&get(&global(), "location"), "hostname");
            let host = hostname.as_string().unwrap_or_default();
            let rp_id = if create {
                get(&get(options, "rp"), "id")
            } else {
                get(options, "rpId")
            };
            if !is_valid_domain(&host) {
                (
                    "ERROR_INVALID_DOMAIN",
                    concat(&[&hostname, &text(" is an invalid domain")]).into(),
                )
            } else if rp_id.as_string().as_deref() != Some(host.as_str()) {
                (
                    "ERROR_INVALID_RP_ID",
                    concat(&[
                        &text("The RP ID \""),
                        &rp_id,
                        &text("\" is invalid for this domain"),
                    ])
                    .into(),
                )
            } else {
                return error.clone();
            }
        }
        "TypeError" if create => {
            let length = get(&get(options, "user"), "id")
                .as_string()
                .and_then(|id| base64url::decode(&id))
                .map_or(0, |bytes| bytes.len());
            if (1..=64).contains(&length) {
                return error.clone();
            }
            (
                "ERROR_INVALID_USER_ID_LENGTH",
                text("User ID was not between 1 and 64 characters"),
            )
        }
        "UnknownError" => (
            "ERROR_AUTHENTICATOR_GENERAL_ERROR",
            text(if create {
                "The authenticator was unable to process the specified options, or could not create a new credential"
            } else {
                "The authenticator was unable to process the specified options, or could not create a new assertion signature"
            }),
        ),
        _ => return error.clone(),
    };
    let mapped = named_error(&name, &message.as_string().unwrap_or_default());
    set(&mapped, "code", &text(code));
    set(&mapped, "cause", error);
    mapped
}

/// Aborts the pending ceremony (if any) and makes `controller` the pending one.
fn take_turn(controller: &JsValue) {
    let previous = PENDING.replace(Some(controller.clone()));
    if let Some(previous) = previous {
        let reason = named_error(
            "AbortError",
            "Cancelling existing WebAuthn API call for new one",
        );
        let _ = call_method(&previous, "abort", &[&reason]);
    }
}

/// Clears the pending ceremony if it is still `controller`.
fn end_turn(controller: &JsValue) {
    let mut pending = PENDING.borrow_mut();
    if pending.as_ref() == Some(controller) {
        *pending = None;
    }
}

/// Aborts the pending ceremony, if any (a modal ceremony starting, or the app).
pub(crate) fn cancel_pending() {
    let previous = PENDING.borrow_mut().take();
    if let Some(previous) = previous {
        let reason = named_error(
            "AbortError",
            "Cancelling existing WebAuthn API call for new one",
        );
        let _ = call_method(&previous, "abort", &[&reason]);
    }
}

/// Runs one ceremony with the server's WebAuthn JSON `options` and returns the browser's
/// answer as WebAuthn JSON. The caller's signal reaches the prompt; its abort rejects
/// with the signal's reason.
pub(crate) async fn ceremony(
    kind: Ceremony,
    options: &JsValue,
    abort: &Abort,
) -> Result<JsValue, JsValue> {
    let create = kind == Ceremony::Create;
    if public_key_credential().is_none() {
        return Err(super::value::error(
            "WebAuthn is not supported in this browser",
        ));
    }
    let mut public_key = parse_options(options, create)?;
    if kind == Ceremony::Autofill {
        // Autofill offers every discoverable passkey of the site.
        public_key = copy(&public_key)?;
        set(&public_key, "allowCredentials", &Array::new());
    }
    abort.check()?;
    let controller = super::value::construct("AbortController", &[])?;
    take_turn(&controller);
    let own_signal = get(&controller, "signal");
    let signal = if abort.signal().is_undefined() {
        own_signal
    } else {
        // Both the caller's signal and the next ceremony stop this prompt.
        let any = function(&get(&global(), "AbortSignal"), "any");
        any.and_then(|any| {
            any.call1(&JsValue::NULL, &Array::of2(abort.signal(), &own_signal))
                .ok()
        })
        .unwrap_or(own_signal)
    };
    let request = object(&[("publicKey", &public_key), ("signal", &signal)]);
    if kind == Ceremony::Autofill {
        set(&request, "mediation", &text("conditional"));
    }
    let credentials = get(&get(&global(), "navigator"), "credentials");
    let started = call_method(
        &credentials,
        if create { "create" } else { "get" },
        &[&request],
    )
    .and_then(|value| {
        value
            .dyn_into::<Promise>()
            .map_err(|_| type_error("navigator.credentials did not return a promise"))
    });
    let outcome = match started {
        Ok(promise) => abort.settle(promise).await,
        Err(error) => Err(error),
    };
    end_turn(&controller);
    match outcome {
        Err(_) if abort.aborted() => Err(abort.reason()),
        Err(error) => Err(map_error(&error, create, options)),
        Ok(credential) if credential.is_null() || credential.is_undefined() => {
            Err(super::value::error(if create {
                "Registration was not completed"
            } else {
                "Authentication was not completed"
            }))
        }
        Ok(credential) => credential_json(&credential, create),
    }
}
