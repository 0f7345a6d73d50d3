//! How members reach the server: the app's v0.4 transport `request(endpoint, body, opts)`
//! called exactly as v0.4 calls it, or our `fetch` transport for `{ baseUrl }`. Both
//! also keep the session token (in memory, optionally persisted) and tell other tabs
//! when the session changed.

use alloc::string::String;

use super::abort::Abort;
use super::value::{concat, function, get, global, global_fetch, object, read, set, text};
use core::cell::RefCell;
use js_sys::{Function, JSON, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// Where the API lives when neither `request` nor `baseUrl` is given.
const DEFAULT_BASE_URL: &str = "/auth";

/// The name of the `BroadcastChannel` over which tabs of one origin announce sign-in
/// and sign-out.
pub(crate) const CHANNEL: &str = "passkey-magic";

/// What a successful call means for the session token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Nothing.
    None,
    /// The response's `session.token` (if any) is the new session.
    SignIn,
    /// The session ended (logout, all sessions revoked, account deleted).
    SignOut,
    /// `/session`: a 401 means the token is dead.
    Session,
}

/// One client's transport and session token.
pub(crate) struct Transport {
    config: JsValue,
    /// `Some(base)` for our fetch transport, `None` for the app's `request`.
    base_url: Option<JsValue>,
    /// Whether QR polls long-poll with `&wait=` (our server offers it).
    pub(crate) long_poll: bool,
    /// Cookie mode (`credentials: "include"` with `baseUrl`): the server's `HttpOnly`
    /// cookie is the session, and no token is kept in JavaScript.
    pub(crate) cookies: bool,
    token: RefCell<Option<String>>,
    storage: Option<(JsValue, JsValue)>,
    on_change: Option<Function>,
    /// `AuthClientError` of the ESM entry, for [`normalize`].
    pub(crate) error_class: Function,
}

/// `normalizeAuthClientError` of v0.4 (§3): the same object for an `AuthClientError`,
/// else a new one with the `message` and numeric `status` of the value if it has them,
/// the value as `cause`, and our finer `reason`.
pub(crate) fn normalize(error: &JsValue, class: &Function) -> JsValue {
    if let Some(prototype) = get(class, "prototype").dyn_ref::<js_sys::Object>()
        && error.is_object()
        && prototype.is_prototype_of(error)
    {
        return error.clone();
    }
    let is_object = error.is_object();
    let message = if is_object {
        get(error, "message")
    } else {
        JsValue::UNDEFINED
    };
    let message = if message.is_string() {
        message
    } else {
        text("Authentication request failed")
    };
    let status = if is_object {
        get(error, "status")
    } else {
        JsValue::UNDEFINED
    };
    let status = if status.as_f64().is_some() {
        status
    } else {
        JsValue::UNDEFINED
    };
    let options = object(&[
        ("status", &status),
        ("cause", error),
        ("reason", &text(reason_of(error, &status))),
    ]);
    Reflect::construct(class, &js_sys::Array::of2(&message, &options)).unwrap_or(message)
}

/// Our finer category of a failure: the server's `code` when it sent one, else one
/// derived from the status; `network` when no response arrived.
fn reason_of(error: &JsValue, status: &JsValue) -> &'static str {
    if let Some(code) = get(error, "reason").as_string() {
        for known in [
            "invalid_request",
            "unauthorized",
            "not_found",
            "rate_limited",
            "internal",
            "unavailable",
        ] {
            if code == known {
                return known;
            }
        }
    }
    match status.as_f64() {
        Some(401.0 | 403.0) => "unauthorized",
        Some(404.0) => "not_found",
        Some(429.0) => "rate_limited",
        Some(503.0) => "unavailable",
        Some(s) if s >= 500.0 => "internal",
        Some(s) if s >= 400.0 => "invalid_request",
        Some(_) => "internal",
        None if get(error, "name").as_string().as_deref() == Some("TypeError") => "network",
        None => "unknown",
    }
}

impl Transport {
    /// Reads `createClient`'s config: `request` (v0.4 transport) or `baseUrl` (fetch),
    /// `longPoll`, `sessionToken`, `storageKey` + `storage`, `onSessionTokenChange`.
    pub(crate) fn new(config: JsValue, error_class: Function) -> Self {
        let has_request = !get(&config, "request").is_undefined();
        let base_url = (!has_request).then(|| {
            let base = get(&config, "baseUrl");
            let base = if base.is_undefined() || base.is_null() {
                text(DEFAULT_BASE_URL)
            } else {
                concat(&[&base]).into()
            };
            // One slash between the base and the endpoint.
            let mut trimmed = base.as_string().unwrap_or_default();
            while trimmed.ends_with('/') {
                trimmed.pop();
            }
            text(&trimmed)
        });
        let long_poll = match get(&config, "longPoll").as_bool() {
            Some(choice) => choice,
            None => base_url.is_some(),
        };
        let cookies = base_url.is_some()
            && get(&config, "credentials").as_string().as_deref() == Some("include");
        let storage_key = get(&config, "storageKey");
        let storage = (storage_key.is_string() && !cookies).then(|| {
            let chosen = get(&config, "storage");
            let storage = match chosen.as_string().as_deref() {
                Some("session") => get(&global(), "sessionStorage"),
                Some(_) | None if !chosen.is_object() => get(&global(), "localStorage"),
                _ => chosen,
            };
            (storage, storage_key)
        });
        let mut token = get(&config, "sessionToken")
            .as_string()
            .filter(|_| !cookies);
        if let Some((storage, key)) = &storage
            && token.is_none()
        {
            token = call(storage, "getItem", &[key])
                .ok()
                .and_then(|t| t.as_string());
        }
        Transport {
            on_change: function(&config, "onSessionTokenChange"),
            config,
            base_url,
            long_poll,
            cookies,
            token: RefCell::new(token),
            storage,
            error_class,
        }
    }

    /// The session token this client holds.
    pub(crate) fn token(&self) -> Option<String> {
        self.token.borrow().clone()
    }

    /// Replaces the token: persists it, tells the app and the other tabs when it changed.
    pub(crate) fn set_token(&self, token: Option<String>) {
        if *self.token.borrow() == token {
            return;
        }
        self.token.replace(token.clone());
        let value = token.as_deref().map_or(JsValue::NULL, text);
        if let Some((storage, key)) = &self.storage {
            let _ = match &token {
                Some(_) => call(storage, "setItem", &[key, &value]),
                None => call(storage, "removeItem", &[key]),
            };
        }
        if let Some(listener) = &self.on_change {
            let _ = listener.call1(&JsValue::NULL, &value);
        }
        announce();
    }

    /// Re-reads a persisted token another tab changed (`storage` event).
    pub(crate) fn reload_token(&self, key: &JsValue) -> bool {
        let Some((storage, own_key)) = &self.storage else {
            return false;
        };
        if !key.is_null() && key != own_key {
            return false;
        }
        let stored = call(storage, "getItem", &[own_key])
            .ok()
            .and_then(|t| t.as_string());
        self.token.replace(stored);
        true
    }

    /// The storage key, when the token is persisted.
    pub(crate) fn storage_key(&self) -> Option<&JsValue> {
        self.storage.as_ref().map(|(_, key)| key)
    }

    /// One call: `endpoint` with `body` (`undefined` for reads), handing `opts` to the
    /// app's transport as the third argument. Failures are normalized to
    /// `AuthClientError`; an abort rejects with the signal's reason.
    pub(crate) async fn request(
        &self,
        endpoint: &JsValue,
        body: &JsValue,
        opts: &JsValue,
        abort: &Abort,
        effect: Effect,
    ) -> Result<JsValue, JsValue> {
        abort.check()?;
        let sent = match &self.base_url {
            None => self.call_app(endpoint, body, opts),
            Some(base) => self.fetch(base, endpoint, body, abort.signal()),
        };
        let result = match sent {
            Ok(promise) => abort.settle(promise).await,
            Err(error) => Err(error),
        };
        match result {
            Ok(value) => {
                match effect {
                    Effect::SignIn | Effect::SignOut if self.cookies => announce(),
                    Effect::SignIn => {
                        if let Some(token) = get(&get(&value, "session"), "token").as_string() {
                            self.set_token(Some(token));
                        }
                    }
                    Effect::SignOut => self.set_token(None),
                    Effect::None | Effect::Session => {}
                }
                Ok(value)
            }
            Err(_) if abort.aborted() => Err(abort.reason()),
            Err(error) => {
                if effect == Effect::Session && get(&error, "status").as_f64() == Some(401.0) {
                    self.set_token(None);
                }
                Err(normalize(&error, &self.error_class))
            }
        }
    }

    /// `config.request(endpoint, body, opts)`, looked up now, called as a method of the
    /// config with exactly three arguments; a synchronous throw becomes a rejection.
    fn call_app(
        &self,
        endpoint: &JsValue,
        body: &JsValue,
        opts: &JsValue,
    ) -> Result<Promise, JsValue> {
        let request = read(&self.config, "request")?
            .dyn_into::<Function>()
            .map_err(|_| super::value::type_error("config.request is not a function"))?;
        let value = request.call3(&self.config, endpoint, body, opts)?;
        Ok(Promise::resolve(&value))
    }

    /// Our transport: `GET` without a body, else `POST` with JSON; the token as a bearer;
    /// a non-2xx answer throws `{ message, status, reason }` from the error body.
    fn fetch(
        &self,
        base: &JsValue,
        endpoint: &JsValue,
        body: &JsValue,
        signal: &JsValue,
    ) -> Result<Promise, JsValue> {
        let headers = object(&[]);
        let init = object(&[("headers", &headers)]);
        if body.is_undefined() {
            set(&init, "method", &text("GET"));
        } else {
            set(&init, "method", &text("POST"));
            set(&headers, "Content-Type", &text("application/json"));
            set(&init, "body", &JSON::stringify(body)?.into());
        }
        if let Some(token) = self.token() {
            set(
                &headers,
                "Authorization",
                &concat(&[&text("Bearer "), &text(&token)]).into(),
            );
        }
        if !signal.is_undefined() {
            set(&init, "signal", signal);
        }
        if self.cookies {
            set(&init, "credentials", &text("include"));
        }
        let url = concat(&[base, endpoint]);
        let response = global_fetch(&url.into(), &init)?;
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let response = JsFuture::from(response).await?;
            let body = JsFuture::from(call(&response, "text", &[])?.dyn_into::<Promise>()?).await?;
            let body_text = body.as_string().unwrap_or_default();
            let parsed = if body_text.is_empty() {
                Ok(JsValue::UNDEFINED)
            } else {
                JSON::parse(&body_text)
            };
            if get(&response, "ok").is_truthy() {
                return parsed;
            }
            let status = get(&response, "status");
            let parsed = parsed.unwrap_or(JsValue::UNDEFINED);
            let message = get(&parsed, "error");
            let message = if message.is_string() {
                message
            } else {
                concat(&[&text("HTTP "), &status]).into()
            };
            let failure = super::value::error(&message.as_string().unwrap_or_default());
            set(&failure, "status", &status);
            set(&failure, "reason", &get(&parsed, "code"));
            Err(failure)
        }))
    }
}

/// `target[name](...args)`.
fn call(target: &JsValue, name: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
    super::value::call_method(target, name, args)
}

/// Tells the other tabs of this origin that the session changed.
pub(crate) fn announce() {
    if get(&global(), "document").is_undefined() {
        return; // Not a page (Node, workers): no other tabs.
    }
    if let Ok(channel) = super::value::construct("BroadcastChannel", &[&text(CHANNEL)]) {
        let _ = call(&channel, "postMessage", &[&text("session")]);
        let _ = call(&channel, "close", &[]);
    }
}
