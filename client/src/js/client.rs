//! `createClient`: the browser client object. Methods return Promises; failures reject
//! with an `AuthClientError`-named `Error` (see [`super::to_js_error`]).

use super::to_js_error;
use crate::ClientError;
use crate::transport::FetchTransport;
use crate::webauthn::ceremony;
use js_sys::{Object, Promise, Reflect};
use passkey_magic_shared::Endpoint;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

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

    async fn register(&self, input: JsValue, options: JsValue) -> Result<JsValue, ClientError> {
        let started = self
            .post(Endpoint::RegisterOptions, &body_of(&input))
            .await?;
        let answer = ceremony(
            &field(&started, "options"),
            true,
            signal_of(&options).as_ref(),
        )
        .await?;
        let body = Object::new();
        Reflect::set(&body, &"userId".into(), &field(&started, "userId")).ok();
        Reflect::set(&body, &"response".into(), &answer).ok();
        let result = self.post(Endpoint::RegisterVerify, &body.into()).await?;
        self.remember_session(&result);
        Ok(result)
    }

    async fn sign_in(&self, input: JsValue, options: JsValue) -> Result<JsValue, ClientError> {
        let started = self
            .post(Endpoint::AuthenticateOptions, &body_of(&input))
            .await?;
        let answer = ceremony(
            &field(&started, "options"),
            false,
            signal_of(&options).as_ref(),
        )
        .await?;
        let body = Object::new();
        Reflect::set(&body, &"response".into(), &answer).ok();
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
