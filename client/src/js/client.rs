//! `createClient`: the browser client object. Methods return Promises; failures reject
//! with an `AuthClientError`-named `Error` (see [`super::to_js_error`]).

use super::to_js_error;
use crate::ClientError;
use crate::transport::FetchTransport;
use crate::webauthn::ceremony;
use js_sys::{Object, Promise, Reflect};
use passkey_magic_shared::Endpoint;
use passkey_magic_shared::limits::MAX_QR_WAIT_SECONDS;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use web_sys::AbortSignal;

/// Where the API lives when `baseUrl` is not given.
const DEFAULT_BASE_URL: &str = "/auth";

struct Inner {
    transport: FetchTransport,
    // Browser code is single-threaded; the RefCell is never held across an await.
    session_token: RefCell<Option<String>>,
}

/// A client of one passkey-magic server (create it with `createClient`).
#[wasm_bindgen]
pub struct AuthClient {
    inner: Rc<Inner>,
}

fn field(target: &JsValue, key: &str) -> JsValue {
    if target.is_object() {
        Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

fn text_field(target: &JsValue, key: &str) -> Option<String> {
    field(target, key).as_string()
}

/// `{signal}` of a call's options, if it is an `AbortSignal`-like object.
fn signal_of(options: &JsValue) -> Option<JsValue> {
    Some(field(options, "signal")).filter(|signal| signal.is_object())
}

/// A request body: the caller's plain object, or `{}`.
fn body_of(input: &JsValue) -> JsValue {
    if input.is_object() {
        input.clone()
    } else {
        Object::new().into()
    }
}

/// Creates a client. `options.baseUrl` is where the API is mounted (default `/auth`);
/// `options.sessionToken` restores a session saved earlier.
#[wasm_bindgen(js_name = createClient)]
pub fn create_client(options: JsValue) -> AuthClient {
    let base_url = text_field(&options, "baseUrl").unwrap_or_else(|| DEFAULT_BASE_URL.into());
    AuthClient {
        inner: Rc::new(Inner {
            transport: FetchTransport::new(base_url),
            session_token: RefCell::new(text_field(&options, "sessionToken")),
        }),
    }
}

impl Inner {
    fn token(&self) -> Option<String> {
        self.session_token.borrow().clone()
    }

    fn set_token(&self, token: Option<String>) {
        *self.session_token.borrow_mut() = token;
    }

    async fn post(&self, endpoint: Endpoint, body: &JsValue) -> Result<JsValue, ClientError> {
        let route = endpoint.client_route();
        let bearer = self.token();
        self.transport
            .call_js(route.method, route.path, bearer.as_deref(), Some(body))
            .await
    }

    /// Keeps the token of a sign-in result for later calls.
    fn remember_session(&self, result: &JsValue) {
        if let Some(token) = text_field(&field(result, "session"), "token") {
            self.set_token(Some(token));
        }
    }

    /// Asks `start` for WebAuthn options, runs the browser's passkey prompt with them and
    /// returns the options response and the verify body `{response}` to send next.
    async fn passkey_ceremony(
        &self,
        start: Endpoint,
        request: &JsValue,
        creation: bool,
        options: &JsValue,
    ) -> Result<(JsValue, Object), ClientError> {
        let started = self.post(start, request).await?;
        let answer = ceremony(
            &field(&started, "options"),
            creation,
            signal_of(options).as_ref(),
        )
        .await?;
        let body = Object::new();
        Reflect::set(&body, &"response".into(), &answer).ok();
        Ok((started, body))
    }

    async fn register(&self, input: JsValue, options: JsValue) -> Result<JsValue, ClientError> {
        let (started, body) = self
            .passkey_ceremony(Endpoint::RegisterOptions, &body_of(&input), true, &options)
            .await?;
        Reflect::set(&body, &"userId".into(), &field(&started, "userId")).ok();
        let result = self.post(Endpoint::RegisterVerify, &body.into()).await?;
        self.remember_session(&result);
        Ok(result)
    }

    async fn sign_in(&self, input: JsValue, options: JsValue) -> Result<JsValue, ClientError> {
        let (_, body) = self
            .passkey_ceremony(
                Endpoint::AuthenticateOptions,
                &body_of(&input),
                false,
                &options,
            )
            .await?;
        let result = self
            .post(Endpoint::AuthenticateVerify, &body.into())
            .await?;
        self.remember_session(&result);
        Ok(result)
    }

    async fn session(&self) -> Result<JsValue, ClientError> {
        let Some(token) = self.token() else {
            return Ok(JsValue::NULL);
        };
        let route = Endpoint::GetSession.client_route();
        match self
            .transport
            .call_js(route.method, route.path, Some(&token), None)
            .await
        {
            Ok(current) => Ok(current),
            Err(error) if error.status == 401 => {
                self.set_token(None);
                Ok(JsValue::NULL)
            }
            Err(error) => Err(error),
        }
    }

    /// Calls an endpoint whose path has an `{id}`, optionally with a query.
    async fn call_id(
        &self,
        endpoint: Endpoint,
        id: &str,
        query: Option<String>,
        body: Option<&JsValue>,
        signal: Option<&AbortSignal>,
    ) -> Result<JsValue, ClientError> {
        if id.is_empty() {
            return Err(ClientError::invalid("a QR session id is required"));
        }
        let route = endpoint.client_route();
        let mut path = route.path_with_id(id);
        if let Some(query) = query {
            path.push('?');
            path.push_str(&query);
        }
        let bearer = self.token();
        self.transport
            .call_js_with_signal(route.method, &path, bearer.as_deref(), body, signal)
            .await
    }

    async fn qr_status(
        &self,
        id: &str,
        status_token: &str,
        wait_seconds: u32,
        signal: Option<&AbortSignal>,
    ) -> Result<JsValue, ClientError> {
        let mut query = format!("token={}", js_sys::encode_uri_component(status_token));
        if wait_seconds > 0 {
            query.push_str(&format!("&wait={wait_seconds}"));
        }
        let status = self
            .call_id(Endpoint::QrStatus, id, Some(query), None, signal)
            .await?;
        // The desktop's session arrives once: keep it like any sign-in.
        self.remember_session(&status);
        Ok(status)
    }

    /// Long-polls until the QR login is authenticated, expired or cancelled. Servers
    /// without long-polling (v0.4) answer at once; then polls are spaced `interval`.
    async fn qr_wait(
        &self,
        id: &str,
        status_token: &str,
        options: &JsValue,
    ) -> Result<JsValue, ClientError> {
        let signal = signal_of(options).and_then(|s| s.dyn_into::<AbortSignal>().ok());
        let interval = field(options, "intervalMs")
            .as_f64()
            .unwrap_or(1000.0)
            .max(100.0);
        let timeout = field(options, "timeoutMs")
            .as_f64()
            .unwrap_or(5.0 * 60_000.0);
        let started = js_sys::Date::now();
        loop {
            if signal.as_ref().is_some_and(AbortSignal::aborted) {
                return Err(ClientError::aborted());
            }
            let remaining = timeout - (js_sys::Date::now() - started);
            if remaining <= 0.0 {
                return Err(ClientError::timed_out(
                    "The QR login was not completed in time",
                ));
            }
            let wait = (remaining / 1000.0).clamp(1.0, f64::from(MAX_QR_WAIT_SECONDS)) as u32;
            let asked_at = js_sys::Date::now();
            let status = self
                .qr_status(id, status_token, wait, signal.as_ref())
                .await?;
            let state = text_field(&status, "state").unwrap_or_default();
            if matches!(state.as_str(), "authenticated" | "expired" | "cancelled") {
                return Ok(status);
            }
            let answered_in = js_sys::Date::now() - asked_at;
            if answered_in < interval {
                gloo_timers::future::TimeoutFuture::new((interval - answered_in) as u32).await;
            }
        }
    }

    /// The phone side: scan (and confirm) happened; sign in with a passkey into the
    /// desktop's login.
    async fn qr_complete(&self, id: &str, options: JsValue) -> Result<JsValue, ClientError> {
        let request = Object::new();
        Reflect::set(&request, &"qrSessionId".into(), &JsValue::from_str(id)).ok();
        if let Some(user_id) = text_field(&options, "userId") {
            Reflect::set(&request, &"userId".into(), &JsValue::from_str(&user_id)).ok();
        }
        let (_, body) = self
            .passkey_ceremony(
                Endpoint::AuthenticateOptions,
                &request.into(),
                false,
                &options,
            )
            .await?;
        self.call_id(Endpoint::QrComplete, id, None, Some(&body.into()), None)
            .await
    }

    async fn verify_magic_link(&self, token: &str) -> Result<JsValue, ClientError> {
        let body = Object::new();
        Reflect::set(&body, &"token".into(), &JsValue::from_str(token)).ok();
        let result = self.post(Endpoint::MagicLinkVerify, &body.into()).await?;
        self.remember_session(&result);
        Ok(result)
    }

    async fn sign_out(&self) -> Result<JsValue, ClientError> {
        if self.token().is_some() {
            match self
                .post(Endpoint::RevokeSession, &Object::new().into())
                .await
            {
                Ok(_) => {}
                // Already signed out on the server: the local state is what is left.
                Err(error) if error.status == 401 => {}
                Err(error) => return Err(error),
            }
        }
        self.set_token(None);
        Ok(JsValue::UNDEFINED)
    }
}

fn promise<F>(inner: &Rc<Inner>, call: impl FnOnce(Rc<Inner>) -> F + 'static) -> Promise
where
    F: std::future::Future<Output = Result<JsValue, ClientError>> + 'static,
{
    let inner = Rc::clone(inner);
    future_to_promise(async move { call(inner).await.map_err(to_js_error) })
}

#[wasm_bindgen]
impl AuthClient {
    /// Signs up with a new passkey: `{email?, userName?, userId?}` → `{method, user,
    /// session, credential}`; the session is kept for later calls.
    pub fn register(&self, input: JsValue, options: JsValue) -> Promise {
        promise(&self.inner, |inner| async move {
            inner.register(input, options).await
        })
    }

    /// Signs in with a passkey (usernameless, or `{userId}` for one user's passkeys) →
    /// `{method, user, session}`; the session is kept for later calls.
    #[wasm_bindgen(js_name = signIn)]
    pub fn sign_in(&self, input: JsValue, options: JsValue) -> Promise {
        promise(&self.inner, |inner| async move {
            inner.sign_in(input, options).await
        })
    }

    /// The current `{user, session}`, or `null` when signed out or the session ended.
    #[wasm_bindgen(js_name = getSession)]
    pub fn get_session(&self) -> Promise {
        promise(&self.inner, |inner| async move { inner.session().await })
    }

    /// Ends the current session on the server and forgets it here.
    #[wasm_bindgen(js_name = signOut)]
    pub fn sign_out(&self) -> Promise {
        promise(&self.inner, |inner| async move { inner.sign_out().await })
    }

    /// Desktop: starts a QR login → `{sessionId, statusToken, confirmationCode?}`. Show a
    /// QR code of a URL with `sessionId`; keep `statusToken` on this device only.
    #[wasm_bindgen(js_name = qrCreate)]
    pub fn qr_create(&self) -> Promise {
        promise(&self.inner, |inner| async move {
            inner.post(Endpoint::QrCreate, &Object::new().into()).await
        })
    }

    /// Desktop: the login's status now (`{state, ...}`); `waitSeconds` > 0 long-polls.
    #[wasm_bindgen(js_name = qrStatus)]
    pub fn qr_status(
        &self,
        id: String,
        status_token: String,
        wait_seconds: Option<u32>,
    ) -> Promise {
        promise(&self.inner, move |inner| async move {
            inner
                .qr_status(&id, &status_token, wait_seconds.unwrap_or(0), None)
                .await
        })
    }

    /// Desktop: resolves with the final status once the phone signed in (this client then
    /// holds the new session), or the login expired or was cancelled. Options:
    /// `{signal, timeoutMs, intervalMs}`.
    #[wasm_bindgen(js_name = qrWaitForAuthentication)]
    pub fn qr_wait_for_authentication(
        &self,
        id: String,
        status_token: String,
        options: JsValue,
    ) -> Promise {
        promise(&self.inner, move |inner| async move {
            inner.qr_wait(&id, &status_token, &options).await
        })
    }

    /// Desktop: cancels the login.
    #[wasm_bindgen(js_name = qrCancel)]
    pub fn qr_cancel(&self, id: String, status_token: String) -> Promise {
        promise(&self.inner, move |inner| async move {
            let body = Object::new();
            Reflect::set(
                &body,
                &"statusToken".into(),
                &JsValue::from_str(&status_token),
            )
            .ok();
            inner
                .call_id(Endpoint::QrCancel, &id, None, Some(&body.into()), None)
                .await
        })
    }

    /// Phone: tells the desktop its code was scanned.
    #[wasm_bindgen(js_name = qrScan)]
    pub fn qr_scan(&self, id: String) -> Promise {
        promise(&self.inner, move |inner| async move {
            inner
                .call_id(
                    Endpoint::QrScanned,
                    &id,
                    None,
                    Some(&Object::new().into()),
                    None,
                )
                .await
        })
    }

    /// Phone: enters the confirmation code shown on the desktop.
    #[wasm_bindgen(js_name = qrConfirm)]
    pub fn qr_confirm(&self, id: String, code: String) -> Promise {
        promise(&self.inner, move |inner| async move {
            let body = Object::new();
            Reflect::set(&body, &"confirmationCode".into(), &JsValue::from_str(&code)).ok();
            inner
                .call_id(Endpoint::QrConfirm, &id, None, Some(&body.into()), None)
                .await
        })
    }

    /// Phone: signs the desktop in with one of this device's passkeys. Options:
    /// `{userId?, signal?}`.
    #[wasm_bindgen(js_name = qrComplete)]
    pub fn qr_complete(&self, id: String, options: JsValue) -> Promise {
        promise(&self.inner, move |inner| async move {
            inner.qr_complete(&id, options).await
        })
    }

    /// Sends a sign-in link to `email` → `{sent: true}`.
    #[wasm_bindgen(js_name = requestMagicLink)]
    pub fn request_magic_link(&self, email: String) -> Promise {
        promise(&self.inner, move |inner| async move {
            let body = Object::new();
            Reflect::set(&body, &"email".into(), &JsValue::from_str(&email)).ok();
            inner.post(Endpoint::MagicLinkSend, &body.into()).await
        })
    }

    /// Signs in with a magic-link token → `{method, user, session, isNewUser}`.
    #[wasm_bindgen(js_name = verifyMagicLink)]
    pub fn verify_magic_link(&self, token: String) -> Promise {
        promise(&self.inner, move |inner| async move {
            inner.verify_magic_link(&token).await
        })
    }

    /// Signs in with the magic link of a URL (e.g. `location.href`).
    #[wasm_bindgen(js_name = verifyMagicLinkUrl)]
    pub fn verify_magic_link_url(&self, url: String) -> Promise {
        promise(&self.inner, move |inner| async move {
            let token = passkey_magic_shared::magic_link::extract_token(&url)
                .map_err(|error| ClientError::invalid(error.to_string()))?;
            inner.verify_magic_link(&token).await
        })
    }

    /// The current session token (to save and restore), or `undefined`.
    #[wasm_bindgen(getter, js_name = sessionToken)]
    pub fn session_token(&self) -> Option<String> {
        self.inner.token()
    }

    /// Replaces the session token (`null` forgets it).
    #[wasm_bindgen(js_name = setSessionToken)]
    pub fn set_session_token(&self, token: Option<String>) {
        self.inner.set_token(token);
    }
}
