//! The browser transport: `window.fetch`, with JSON through `JSON.stringify`/`JSON.parse`
//! and serde-wasm-bindgen (no `serde_json` in the bundle).

use super::{Request, Transport, join_url};
use crate::ClientError;
use js_sys::JSON;
use passkey_magic_shared::{ErrorBody, ErrorCode, Method};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, RequestInit, Response};

/// Calls a server with `fetch`. Relative base URLs (`/auth`) resolve against the page.
#[derive(Debug, Clone)]
pub struct FetchTransport {
    base_url: String,
}

impl FetchTransport {
    /// A transport for the API mounted at `base_url` (`/auth`, `https://id.example/auth`).
    pub fn new(base_url: impl Into<String>) -> Self {
        FetchTransport {
            base_url: base_url.into(),
        }
    }
}

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`, present on windows and workers alike.
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(input: &str, init: &RequestInit) -> js_sys::Promise;
}

/// The text of a thrown JS value, for error messages.
pub(crate) fn describe(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|error| String::from(error.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}

/// `{error, code?}` read field by field: no serde decoding in the browser bundle for the
/// one body every failure carries.
fn error_body(value: &JsValue) -> Option<ErrorBody> {
    let field = |name: &str| js_sys::Reflect::get(value, &JsValue::from_str(name)).ok();
    let error = field("error")?.as_string()?;
    let code = field("code")
        .and_then(|code| code.as_string())
        .and_then(|name| ErrorCode::from_name(&name));
    Some(ErrorBody { error, code })
}

/// A Rust value as a plain JS object (maps as objects, as `JSON.stringify` expects).
pub(crate) fn to_js<B: Serialize>(body: &B) -> Result<JsValue, ClientError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    body.serialize(&serializer)
        .map_err(|error| ClientError::invalid(format!("cannot encode request: {error}")))
}

impl FetchTransport {
    /// Sends one request whose body is already a JS value and returns the parsed JSON
    /// answer as a JS value: WebAuthn payloads stay opaque (no decoding in wasm).
    ///
    /// # Errors
    /// The server's error body as a [`ClientError`], or a transport failure (status 0).
    pub async fn call_js(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&JsValue>,
    ) -> Result<JsValue, ClientError> {
        self.call_js_with_signal(method, path, bearer, body, None)
            .await
    }

    /// [`FetchTransport::call_js`] that an `AbortSignal` can cancel.
    ///
    /// # Errors
    /// As [`FetchTransport::call_js`]; an aborted call fails with status 0.
    pub async fn call_js_with_signal(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&JsValue>,
        signal: Option<&web_sys::AbortSignal>,
    ) -> Result<JsValue, ClientError> {
        let headers = Headers::new().map_err(|e| ClientError::transport(describe(&e)))?;
        let init = RequestInit::new();
        init.set_signal(signal);
        init.set_method(method.as_str());
        if let Some(token) = bearer {
            headers
                .set("Authorization", &format!("Bearer {token}"))
                .map_err(|e| ClientError::transport(describe(&e)))?;
        }
        if let Some(body) = body {
            headers
                .set("Content-Type", "application/json")
                .map_err(|e| ClientError::transport(describe(&e)))?;
            let text = JSON::stringify(body).map_err(|e| ClientError::invalid(describe(&e)))?;
            init.set_body(&text);
        }
        init.set_headers(&headers);
        let url = join_url(&self.base_url, path);
        let response: Response = JsFuture::from(global_fetch(&url, &init))
            .await
            .map_err(|error| ClientError::transport(describe(&error)))?
            .unchecked_into();
        let status = response.status();
        let text = JsFuture::from(
            response
                .text()
                .map_err(|e| ClientError::transport(describe(&e)))?,
        )
        .await
        .map_err(|e| ClientError::transport(describe(&e)))?
        .as_string()
        .unwrap_or_default();
        let parsed = JSON::parse(&text).ok();
        if !response.ok() {
            return Err(ClientError::from_response(
                status,
                parsed.as_ref().and_then(error_body),
            ));
        }
        parsed.ok_or_else(|| ClientError::transport("response is not JSON"))
    }
}

impl Transport for FetchTransport {
    async fn call<B, R>(&self, request: Request<'_, B>) -> Result<R, ClientError>
    where
        B: Serialize,
        R: DeserializeOwned,
    {
        let body = request.body.map(to_js).transpose()?;
        let value = self
            .call_js(request.method, &request.path, request.bearer, body.as_ref())
            .await?;
        serde_wasm_bindgen::from_value(value)
            .map_err(|error| ClientError::transport(format!("unexpected response: {error}")))
    }
}
