//! WebAuthn JSON ↔ `navigator.credentials`. The options the server sends and the answers
//! it expects are the standard WebAuthn JSON; the browser's
//! `PublicKeyCredential.parse*OptionsFromJSON` and `toJSON()` convert them where present,
//! and the same conversions are done here by hand for browsers without them (binary
//! fields are base64url strings in JSON and `ArrayBuffer`s for the browser API).

use crate::ClientError;
use crate::transport::describe;
use js_sys::{Array, ArrayBuffer, Function, JSON, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn set(target: &JsValue, key: &str, value: &JsValue) -> Result<(), ClientError> {
    Reflect::set(target, &JsValue::from_str(key), value)
        .map(|_| ())
        .map_err(|e| ClientError::invalid(describe(&e)))
}

fn function(target: &JsValue, key: &str) -> Option<Function> {
    get(target, key).dyn_into::<Function>().ok()
}

/// Calls the global `atob`/`btoa` (base64 in the browser itself, no extra code).
fn global_call(name: &str, argument: &str) -> Result<String, ClientError> {
    let global = js_sys::global();
    let call = function(&global, name)
        .ok_or_else(|| ClientError::invalid(format!("{name} is not available")))?;
    call.call1(&global, &JsValue::from_str(argument))
        .map_err(|e| ClientError::invalid(describe(&e)))?
        .as_string()
        .ok_or_else(|| ClientError::invalid(format!("{name} returned no string")))
}

/// base64url text → `ArrayBuffer`.
pub(crate) fn buffer_from_base64url(text: &str) -> Result<ArrayBuffer, ClientError> {
    let mut standard: String = text
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    while !standard.len().is_multiple_of(4) {
        standard.push('=');
    }
    let binary = global_call("atob", &standard)?;
    let bytes: Vec<u8> = binary.chars().map(|c| c as u32 as u8).collect();
    Ok(Uint8Array::from(bytes.as_slice()).buffer())
}

/// `ArrayBuffer` (or view) → base64url text without padding.
pub(crate) fn base64url_from_buffer(buffer: &JsValue) -> Result<String, ClientError> {
    let bytes = Uint8Array::new(buffer).to_vec();
    let binary: String = bytes.iter().map(|&b| char::from(b)).collect();
    let standard = global_call("btoa", &binary)?;
    Ok(standard
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            other => other,
        })
        .collect())
}

/// Replaces a base64url string field with its `ArrayBuffer`.
fn decode_field(target: &JsValue, key: &str) -> Result<(), ClientError> {
    if let Some(text) = get(target, key).as_string() {
        set(target, key, &buffer_from_base64url(&text)?.into())?;
    }
    Ok(())
}

fn decode_descriptors(options: &JsValue, key: &str) -> Result<(), ClientError> {
    let list = get(options, key);
    if Array::is_array(&list) {
        for descriptor in Array::from(&list).iter() {
            decode_field(&descriptor, "id")?;
        }
    }
    Ok(())
}

fn public_key_credential() -> Result<JsValue, ClientError> {
    let class = get(&js_sys::global(), "PublicKeyCredential");
    if class.is_function() {
        Ok(class)
    } else {
        Err(ClientError::invalid(
            "Passkeys are not supported in this browser",
        ))
    }
}

/// A deep copy of plain JSON data.
fn json_copy(value: &JsValue) -> Result<JsValue, ClientError> {
    let text = JSON::stringify(value).map_err(|e| ClientError::invalid(describe(&e)))?;
    JSON::parse(&String::from(text)).map_err(|e| ClientError::invalid(describe(&e)))
}

/// WebAuthn JSON options → what `navigator.credentials` takes.
fn parse_options(options: &JsValue, creation: bool) -> Result<JsValue, ClientError> {
    let class = public_key_credential()?;
    let parser = if creation {
        "parseCreationOptionsFromJSON"
    } else {
        "parseRequestOptionsFromJSON"
    };
    if let Some(parse) = function(&class, parser) {
        return parse
            .call1(&class, options)
            .map_err(|e| ClientError::invalid(describe(&e)));
    }
    let copy = json_copy(options)?;
    decode_field(&copy, "challenge")?;
    if creation {
        decode_field(&get(&copy, "user"), "id")?;
        decode_descriptors(&copy, "excludeCredentials")?;
    } else {
        decode_descriptors(&copy, "allowCredentials")?;
    }
    Ok(copy)
}

/// A credential → its WebAuthn JSON (`toJSON()` where the browser has it).
fn credential_json(credential: &JsValue, creation: bool) -> Result<JsValue, ClientError> {
    if let Some(to_json) = function(credential, "toJSON") {
        return to_json
            .call0(credential)
            .map_err(|e| ClientError::invalid(describe(&e)));
    }
    let json = Object::new();
    let response = get(credential, "response");
    let encoded = Object::new();
    let binary_fields: &[&str] = if creation {
        &["clientDataJSON", "attestationObject"]
    } else {
        &["clientDataJSON", "authenticatorData", "signature"]
    };
    for field in binary_fields {
        let value = get(&response, field);
        set(&encoded, field, &base64url_from_buffer(&value)?.into())?;
    }
    if creation {
        if let Some(transports) = function(&response, "getTransports") {
            let list = transports.call0(&response).unwrap_or(JsValue::UNDEFINED);
            set(&encoded, "transports", &list)?;
        }
    } else {
        let handle = get(&response, "userHandle");
        let handle = if handle.is_null() || handle.is_undefined() {
            JsValue::NULL
        } else {
            base64url_from_buffer(&handle)?.into()
        };
        set(&encoded, "userHandle", &handle)?;
    }
    set(&json, "id", &get(credential, "id"))?;
    set(
        &json,
        "rawId",
        &base64url_from_buffer(&get(credential, "rawId"))?.into(),
    )?;
    set(&json, "type", &get(credential, "type"))?;
    set(
        &json,
        "authenticatorAttachment",
        &get(credential, "authenticatorAttachment"),
    )?;
    let extensions = function(credential, "getClientExtensionResults")
        .and_then(|results| results.call0(credential).ok())
        .unwrap_or_else(|| Object::new().into());
    set(&json, "clientExtensionResults", &extensions)?;
    set(&json, "response", &encoded)?;
    Ok(json.into())
}

/// Runs `navigator.credentials.create` or `.get` with WebAuthn JSON options and returns
/// the WebAuthn JSON answer. A refusal (user cancelled, no passkey) is a `ClientError`
/// with the browser's message.
pub(crate) async fn ceremony(
    options: &JsValue,
    creation: bool,
    signal: Option<&JsValue>,
) -> Result<JsValue, ClientError> {
    let public_key = parse_options(options, creation)?;
    let credentials = get(&get(&js_sys::global(), "navigator"), "credentials");
    let method = if creation { "create" } else { "get" };
    let call = function(&credentials, method)
        .ok_or_else(|| ClientError::invalid("Passkeys are not supported in this browser"))?;
    let request = Object::new();
    set(&request, "publicKey", &public_key)?;
    if let Some(signal) = signal {
        set(&request, "signal", signal)?;
    }
    let promise: Promise = call
        .call1(&credentials, &request)
        .map_err(|e| ClientError::invalid(describe(&e)))?
        .dyn_into()
        .map_err(|_| ClientError::invalid("navigator.credentials did not return a promise"))?;
    let credential = JsFuture::from(promise)
        .await
        .map_err(|e| ClientError::invalid(describe(&e)))?;
    if credential.is_null() {
        return Err(ClientError::invalid("No passkey was selected"));
    }
    credential_json(&credential, creation)
}
