//! `Core`: one client's state and the one exported dispatcher, `run(op, a, b, c)`, that
//! runs every asynchronous member of the v0.4 API (one Promise type, one future type
//! for all of them). The ESM entry maps member names to these operation numbers.

use super::abort::Abort;
use super::poll::{PollState, Poller};
use super::transport::{Effect, Transport};
use super::value::{concat, get, object, read, text, type_error};
use super::webauthn::{Ceremony, ceremony, public_key_credential};
use js_sys::{Function, Object, Promise};
use passkey_magic_shared::Endpoint;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// Set on an operation number: the member honours the signal of its options but hands
/// `undefined` to the app's transport (v0.4's `qr.create/confirm/complete/cancel`).
const NO_FORWARD: u32 = 128;

/// The asynchronous members, numbered as the ESM entry calls them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Register = 0,
    SignIn,
    AddPasskey,
    ListCredentials,
    UpdateCredential,
    RemoveCredential,
    QrCreate,
    QrConfirm,
    QrComplete,
    QrCancel,
    MagicLinkRequest,
    MagicLinkVerify,
    MagicLinkVerifyUrl,
    GetAccount,
    IsEmailAvailable,
    CanLinkEmail,
    UpdateAccountMetadata,
    LinkEmail,
    UnlinkEmail,
    DeleteAccount,
    GetSession,
    ListSessions,
    RevokeSession,
    RevokeSessionById,
    RevokeAllSessions,
    QrWait,
    BestSignInMethod,
    Autofill,
    SignOut,
}

const OPS: [Op; 29] = [
    Op::Register,
    Op::SignIn,
    Op::AddPasskey,
    Op::ListCredentials,
    Op::UpdateCredential,
    Op::RemoveCredential,
    Op::QrCreate,
    Op::QrConfirm,
    Op::QrComplete,
    Op::QrCancel,
    Op::MagicLinkRequest,
    Op::MagicLinkVerify,
    Op::MagicLinkVerifyUrl,
    Op::GetAccount,
    Op::IsEmailAvailable,
    Op::CanLinkEmail,
    Op::UpdateAccountMetadata,
    Op::LinkEmail,
    Op::UnlinkEmail,
    Op::DeleteAccount,
    Op::GetSession,
    Op::ListSessions,
    Op::RevokeSession,
    Op::RevokeSessionById,
    Op::RevokeAllSessions,
    Op::QrWait,
    Op::BestSignInMethod,
    Op::Autofill,
    Op::SignOut,
];

/// The client path of an endpoint without an id (from the shared route table).
fn path(endpoint: Endpoint) -> JsValue {
    text(endpoint.client_route().path)
}

/// The client path of an endpoint with `{id}`, the id inserted by plain string
/// conversion, unencoded, exactly as v0.4 builds it.
pub(crate) fn path_with(endpoint: Endpoint, id: &JsValue) -> JsValue {
    let template = endpoint.client_route().path;
    let (before, after) = template.split_once("{id}").unwrap_or((template, ""));
    concat(&[&text(before), id, &text(after)]).into()
}

/// `params ?? {}`: the caller's object itself, or a new empty one.
fn params_or_empty(params: &JsValue) -> JsValue {
    if params.is_undefined() || params.is_null() {
        Object::new().into()
    } else {
        params.clone()
    }
}

/// One client: its transport (with the session token).
pub(crate) struct Inner {
    pub(crate) transport: Transport,
}

/// The state behind one `createClient` object.
#[wasm_bindgen]
pub struct Core {
    inner: Rc<Inner>,
}

#[wasm_bindgen]
impl Core {
    /// A client for `config` (`{ request }` or `{ baseUrl }`, see the package README);
    /// `errorClass` is the entry's `AuthClientError`.
    #[wasm_bindgen(constructor)]
    pub fn new(config: JsValue, error_class: Function) -> Core {
        Core {
            inner: Rc::new(Inner {
                transport: Transport::new(config, error_class),
            }),
        }
    }

    /// Runs asynchronous member `op` with its arguments; resolves with its result.
    pub fn run(&self, op: u32, a: JsValue, b: JsValue, c: JsValue) -> Promise {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move { inner.run(op, a, b, c).await })
    }

    /// `qr.poll`: the state of an async iterator over QR statuses.
    pub fn poll(&self, session_id: JsValue, status_token: JsValue, opts: JsValue) -> Poller {
        Poller::new(PollState::new(
            Rc::clone(&self.inner),
            session_id,
            status_token,
            &opts,
            None,
        ))
    }

    /// `observeSession`: calls `listener` with `client.getSession()`'s result now (unless
    /// `immediate: false`), every `intervalMs`, when the tab becomes visible and when
    /// another tab signs in or out; returns the unsubscribe function.
    pub fn observe(&self, client: JsValue, listener: Function, opts: JsValue) -> Function {
        super::observe::observe(Rc::clone(&self.inner), client, listener, &opts)
    }

    /// The session token this client holds, or `null`.
    #[wasm_bindgen(js_name = getToken)]
    pub fn get_token(&self) -> Option<String> {
        self.inner.transport.token()
    }

    /// Replaces the session token (`null` forgets it).
    #[wasm_bindgen(js_name = setToken)]
    pub fn set_token(&self, token: Option<String>) {
        self.inner.transport.set_token(token);
    }
}

impl Inner {
    /// One transport call.
    async fn send(
        &self,
        endpoint: &JsValue,
        body: &JsValue,
        opts: &JsValue,
        abort: &Abort,
        effect: Effect,
    ) -> Result<JsValue, JsValue> {
        self.transport
            .request(endpoint, body, opts, abort, effect)
            .await
    }

    /// Options → prompt → verify, shared by register, sign-in, autofill and add.
    async fn passkey(
        &self,
        kind: Ceremony,
        start: Endpoint,
        finish: Endpoint,
        params: &JsValue,
        opts: &JsValue,
        abort: &Abort,
    ) -> Result<JsValue, JsValue> {
        if kind != Ceremony::Autofill {
            // A modal prompt replaces a pending autofill one.
            super::webauthn::cancel_pending();
        }
        let started = self
            .send(
                &path(start),
                &params_or_empty(params),
                opts,
                abort,
                Effect::None,
            )
            .await?;
        let options = read(&started, "options")?;
        let response = ceremony(kind, &options, abort).await?;
        let body = if start == Endpoint::RegisterOptions {
            object(&[
                ("userId", &read(&started, "userId")?),
                ("response", &response),
            ])
        } else {
            object(&[("response", &response)])
        };
        let effect = if finish == Endpoint::AddPasskeyVerify {
            Effect::None
        } else {
            Effect::SignIn
        };
        self.send(&path(finish), &body, opts, abort, effect).await
    }

    /// The phone's side of a QR login: scanned → confirm (with a code) → options →
    /// prompt → complete.
    async fn qr_complete(
        &self,
        params: &JsValue,
        opts: &JsValue,
        abort: &Abort,
    ) -> Result<(), JsValue> {
        super::webauthn::cancel_pending();
        let id = read(params, "sessionId")?;
        let code = read(params, "confirmationCode")?;
        let empty = || -> JsValue { Object::new().into() };
        self.send(
            &path_with(Endpoint::QrScanned, &id),
            &empty(),
            opts,
            abort,
            Effect::None,
        )
        .await?;
        if code.is_truthy() {
            let body = object(&[("confirmationCode", &code)]);
            self.send(
                &path_with(Endpoint::QrConfirm, &id),
                &body,
                opts,
                abort,
                Effect::None,
            )
            .await?;
        }
        let started = self
            .send(
                &path(Endpoint::AuthenticateOptions),
                &empty(),
                opts,
                abort,
                Effect::None,
            )
            .await?;
        let response = ceremony(Ceremony::Get, &read(&started, "options")?, abort).await?;
        let body = object(&[("response", &response)]);
        self.send(
            &path_with(Endpoint::QrComplete, &id),
            &body,
            opts,
            abort,
            Effect::None,
        )
        .await?;
        Ok(())
    }

    /// v0.4's `waitForAuthentication`: the session once authenticated; plain errors for
    /// expired, cancelled, timed out or stopped.
    async fn qr_wait(
        self: &Rc<Self>,
        id: JsValue,
        token: JsValue,
        opts: &JsValue,
    ) -> Result<JsValue, JsValue> {
        let started_at = js_sys::Date::now();
        let timeout = get(opts, "timeoutMs");
        let timeout_ms = timeout.as_f64().filter(|_| timeout.is_truthy());
        let state = PollState::new(Rc::clone(self), id, token, opts, timeout_ms);
        loop {
            let Some(status) = state.next().await? else {
                state.abort.check()?;
                return Err(super::value::error(
                    "QR session stopped before authentication",
                ));
            };
            let session = read(&status, "state")?;
            let session_value = get(&status, "session");
            match session.as_string().as_deref() {
                Some("authenticated") if session_value.is_truthy() => return Ok(session_value),
                Some("expired") => return Err(super::value::error("QR session expired")),
                Some("cancelled") => return Err(super::value::error("QR session cancelled")),
                _ => {}
            }
            if let Some(limit) = timeout_ms
                && js_sys::Date::now() - started_at >= limit
            {
                state.finish();
                return Err(super::value::error("QR session timed out"));
            }
        }
    }

    async fn run(
        self: Rc<Self>,
        op: u32,
        a: JsValue,
        b: JsValue,
        c: JsValue,
    ) -> Result<JsValue, JsValue> {
        let forward = op & NO_FORWARD == 0;
        let op = OPS
            .get((op & !NO_FORWARD) as usize)
            .copied()
            .ok_or_else(|| type_error("Unknown operation"))?;
        // The options argument: second for (params, opts) members, first for (opts).
        let takes_params = !matches!(
            op,
            Op::ListCredentials
                | Op::QrCreate
                | Op::GetAccount
                | Op::UnlinkEmail
                | Op::DeleteAccount
                | Op::GetSession
                | Op::ListSessions
                | Op::RevokeSession
                | Op::RevokeAllSessions
                | Op::BestSignInMethod
                | Op::SignOut
        );
        let own_opts = match op {
            Op::QrWait => c.clone(),
            _ if takes_params => b.clone(),
            _ => a.clone(),
        };
        let abort = Abort::from_options(&own_opts);
        let opts = if forward {
            own_opts.clone()
        } else {
            JsValue::UNDEFINED
        };
        let empty = || -> JsValue { Object::new().into() };
        let none = JsValue::UNDEFINED;
        let unit = |result: Result<JsValue, JsValue>| result.map(|_| JsValue::UNDEFINED);
        match op {
            Op::Register => {
                self.passkey(
                    Ceremony::Create,
                    Endpoint::RegisterOptions,
                    Endpoint::RegisterVerify,
                    &a,
                    &opts,
                    &abort,
                )
                .await
            }
            Op::SignIn => {
                self.passkey(
                    Ceremony::Get,
                    Endpoint::AuthenticateOptions,
                    Endpoint::AuthenticateVerify,
                    &a,
                    &opts,
                    &abort,
                )
                .await
            }
            Op::Autofill => {
                self.passkey(
                    Ceremony::Autofill,
                    Endpoint::AuthenticateOptions,
                    Endpoint::AuthenticateVerify,
                    &a,
                    &opts,
                    &abort,
                )
                .await
            }
            Op::AddPasskey => {
                self.passkey(
                    Ceremony::Create,
                    Endpoint::AddPasskeyOptions,
                    Endpoint::AddPasskeyVerify,
                    &a,
                    &opts,
                    &abort,
                )
                .await
            }
            Op::ListCredentials => {
                self.send(
                    &path(Endpoint::ListCredentials),
                    &none,
                    &opts,
                    &abort,
                    Effect::None,
                )
                .await
            }
            Op::UpdateCredential => {
                let id = read(&a, "credentialId")?;
                let body = object(&[
                    ("label", &read(&a, "label")?),
                    ("metadata", &read(&a, "metadata")?),
                ]);
                unit(
                    self.send(
                        &path_with(Endpoint::UpdateCredential, &id),
                        &body,
                        &opts,
                        &abort,
                        Effect::None,
                    )
                    .await,
                )
            }
            Op::RemoveCredential => unit(
                self.send(
                    &path_with(Endpoint::RemoveCredential, &a),
                    &empty(),
                    &opts,
                    &abort,
                    Effect::None,
                )
                .await,
            ),
            Op::QrCreate => {
                self.send(
                    &path(Endpoint::QrCreate),
                    &empty(),
                    &opts,
                    &abort,
                    Effect::None,
                )
                .await
            }
            Op::QrConfirm => {
                let id = read(&a, "sessionId")?;
                let body = object(&[("confirmationCode", &read(&a, "confirmationCode")?)]);
                unit(
                    self.send(
                        &path_with(Endpoint::QrConfirm, &id),
                        &body,
                        &opts,
                        &abort,
                        Effect::None,
                    )
                    .await,
                )
            }
            Op::QrComplete => self
                .qr_complete(&a, &opts, &abort)
                .await
                .map(|()| JsValue::UNDEFINED),
            Op::QrCancel => {
                let id = read(&a, "sessionId")?;
                let body = object(&[("statusToken", &read(&a, "statusToken")?)]);
                unit(
                    self.send(
                        &path_with(Endpoint::QrCancel, &id),
                        &body,
                        &opts,
                        &abort,
                        Effect::None,
                    )
                    .await,
                )
            }
            Op::MagicLinkRequest => {
                let body = object(&[("email", &read(&a, "email")?)]);
                self.send(
                    &path(Endpoint::MagicLinkSend),
                    &body,
                    &opts,
                    &abort,
                    Effect::None,
                )
                .await
            }
            Op::MagicLinkVerify | Op::MagicLinkVerifyUrl => {
                let token = if op == Op::MagicLinkVerify {
                    read(&a, "token")?
                } else {
                    super::magic_link::extract_token(&read(&a, "url")?)?
                };
                let body = object(&[("token", &token)]);
                self.send(
                    &path(Endpoint::MagicLinkVerify),
                    &body,
                    &opts,
                    &abort,
                    Effect::SignIn,
                )
                .await
            }
            Op::GetAccount => {
                self.send(
                    &path(Endpoint::GetAccount),
                    &none,
                    &opts,
                    &abort,
                    Effect::None,
                )
                .await
            }
            Op::IsEmailAvailable | Op::CanLinkEmail | Op::LinkEmail => {
                let endpoint = match op {
                    Op::IsEmailAvailable => Endpoint::EmailAvailable,
                    Op::CanLinkEmail => Endpoint::CanLinkEmail,
                    _ => Endpoint::LinkEmail,
                };
                let body = object(&[("email", &a)]);
                let result = self
                    .send(&path(endpoint), &body, &opts, &abort, Effect::None)
                    .await?;
                if op == Op::IsEmailAvailable {
                    read(&result, "available")
                } else {
                    Ok(result)
                }
            }
            Op::UpdateAccountMetadata => {
                let body = object(&[("metadata", &a)]);
                self.send(
                    &path(Endpoint::UpdateAccount),
                    &body,
                    &opts,
                    &abort,
                    Effect::None,
                )
                .await
            }
            Op::UnlinkEmail => {
                self.send(
                    &path(Endpoint::UnlinkEmail),
                    &empty(),
                    &opts,
                    &abort,
                    Effect::None,
                )
                .await
            }
            Op::DeleteAccount => unit(
                self.send(
                    &path(Endpoint::DeleteAccount),
                    &empty(),
                    &opts,
                    &abort,
                    Effect::SignOut,
                )
                .await,
            ),
            Op::GetSession => {
                // v0.4: `null` on any refusal or failure, never a rejection.
                let result = self
                    .send(
                        &path(Endpoint::GetSession),
                        &none,
                        &opts,
                        &abort,
                        Effect::Session,
                    )
                    .await;
                Ok(result.unwrap_or(JsValue::NULL))
            }
            Op::ListSessions => {
                self.send(
                    &path(Endpoint::ListSessions),
                    &none,
                    &opts,
                    &abort,
                    Effect::None,
                )
                .await
            }
            Op::RevokeSession => unit(
                self.send(
                    &path(Endpoint::RevokeSession),
                    &empty(),
                    &opts,
                    &abort,
                    Effect::SignOut,
                )
                .await,
            ),
            Op::SignOut => {
                // Our addition: revoke if signed in, forget the token either way.
                let result = if self.transport.token().is_some() {
                    self.send(
                        &path(Endpoint::RevokeSession),
                        &empty(),
                        &opts,
                        &abort,
                        Effect::SignOut,
                    )
                    .await
                } else {
                    Ok(none.clone())
                };
                self.transport.set_token(None);
                match result {
                    Err(error) if get(&error, "status").as_f64() != Some(401.0) => Err(error),
                    _ => Ok(JsValue::UNDEFINED),
                }
            }
            Op::RevokeSessionById => unit(
                self.send(
                    &path_with(Endpoint::RevokeSessionById, &a),
                    &empty(),
                    &opts,
                    &abort,
                    Effect::None,
                )
                .await,
            ),
            Op::RevokeAllSessions => unit(
                self.send(
                    &path(Endpoint::RevokeAllSessions),
                    &empty(),
                    &opts,
                    &abort,
                    Effect::SignOut,
                )
                .await,
            ),
            Op::QrWait => self.qr_wait(a, b, &c).await,
            Op::BestSignInMethod => {
                if public_key_credential().is_none() {
                    let allow = get(&a, "allowMagicLink");
                    return Ok(text(if allow == JsValue::FALSE {
                        "passkey"
                    } else {
                        "magic-link"
                    }));
                }
                let check = super::capabilities::supports_autofill()?;
                let autofill =
                    wasm_bindgen_futures::JsFuture::from(Promise::resolve(&check)).await?;
                Ok(text(if autofill.is_truthy() {
                    "passkey-autofill"
                } else {
                    "passkey"
                }))
            }
        }
    }
}
