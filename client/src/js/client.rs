//! `Core`: one client's state and the one exported dispatcher, `run(op, a, b, c)`, that
//! runs every asynchronous member of the v0.4 API (one Promise type, one future type
//! for all of them). The ESM entry maps member names to these operation numbers.

use alloc::string::String;

use super::abort::Abort;
use super::poll::{PollState, Poller};
use super::transport::{Effect, Transport};
use super::value::{concat, encode_uri_component, get, object, read, text, type_error};
use super::webauthn::{Ceremony, ceremony, public_key_credential};
use alloc::rc::Rc;
use js_sys::{Function, JsString, Object, Promise};
use passkey_magic_shared::Endpoint;
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
    AccountEvents,
}

const OPS: [Op; 30] = [
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
    Op::AccountEvents,
];

/// The client path of an endpoint without an id (from the shared route table).
fn path(endpoint: Endpoint) -> JsValue {
    text(endpoint.client_route().path)
}

/// The client path of an endpoint with `{id}`, the id inserted by plain string
/// conversion, unencoded, exactly as v0.4 builds it.
pub(crate) fn path_with(endpoint: Endpoint, id: &JsValue) -> JsValue {
    let template = endpoint.client_route().path.as_bytes();
    // Byte search, no string slicing: the bundle keeps no panic formatting for it.
    let at = template
        .iter()
        .position(|&b| b == b'{')
        .unwrap_or(template.len());
    let part = |bytes: Option<&[u8]>| {
        text(core::str::from_utf8(bytes.unwrap_or_default()).unwrap_or_default())
    };
    concat(&[&part(template.get(..at)), id, &part(template.get(at + 4..))]).into()
}

/// `/account/events` with `?limit=` and `?cursor=` from the options (each when given,
/// URI-encoded); the server checks their values.
fn events_path(opts: &JsValue) -> JsValue {
    let mut path = JsString::from(Endpoint::AccountEvents.client_route().path);
    let mut separator = "?";
    for key in ["limit", "cursor"] {
        let value = get(opts, key);
        if value.is_undefined() || value.is_null() {
            continue;
        }
        path = concat(&[
            &path,
            &text(separator),
            &text(key),
            &text("="),
            &encode_uri_component(&value),
        ]);
        separator = "&";
    }
    path.into()
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
                | Op::AccountEvents
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
        match op {
            Op::QrWait => return self.qr_wait(a, b, &c).await,
            Op::BestSignInMethod => {
                if public_key_credential().is_none() {
                    let allow = get(&a, "allowMagicLink");
                    let method = if allow == JsValue::FALSE {
                        "passkey"
                    } else {
                        "magic-link"
                    };
                    return Ok(text(method));
                }
                let check = super::capabilities::supports_autofill()?;
                let autofill =
                    wasm_bindgen_futures::JsFuture::from(Promise::resolve(&check)).await?;
                let method = if autofill.is_truthy() {
                    "passkey-autofill"
                } else {
                    "passkey"
                };
                return Ok(text(method));
            }
            _ => {}
        }
        // Every other member is a sequence of transport calls and passkey prompts: one
        // await for each kind of step keeps the state machine small.
        let mut flow = Flow {
            op,
            step: 0,
            kept: JsValue::UNDEFINED,
            code: JsValue::UNDEFINED,
            output: Output::AsIs,
        };
        let mut last = Ok(JsValue::UNDEFINED);
        loop {
            last = match flow.next(&self, &a, last)? {
                Step::Send(call) => {
                    self.transport
                        .request(&call.endpoint, &call.body, &opts, &abort, call.effect)
                        .await
                }
                Step::Prompt(kind, options) => ceremony(kind, &options, &abort).await,
                Step::Done(result) => return result,
            };
        }
    }
}

/// What a member does next.
enum Step {
    /// One transport call.
    Send(Call),
    /// A passkey prompt with these WebAuthn JSON options.
    Prompt(Ceremony, JsValue),
    /// The member's result.
    Done(Result<JsValue, JsValue>),
}

/// Where a member is: which step comes next and what it kept from earlier ones.
struct Flow {
    op: Op,
    step: u8,
    /// The first answer of a passkey member (for `userId`), or the QR session id.
    kept: JsValue,
    /// The confirmation code of `qr.complete`.
    code: JsValue,
    /// What a one-call member returns.
    output: Output,
}

impl Flow {
    /// The step after the previous one, which ended with `last` (`Ok(undefined)` before
    /// the first). Errors of earlier steps end the member with that error.
    fn next(
        &mut self,
        inner: &Inner,
        a: &JsValue,
        last: Result<JsValue, JsValue>,
    ) -> Result<Step, JsValue> {
        let step = self.step;
        self.step += 1;
        let empty = || -> JsValue { Object::new().into() };
        let send = |endpoint: JsValue, body: JsValue, effect: Effect| {
            Ok(Step::Send(Call {
                endpoint,
                body,
                effect,
                output: Output::AsIs,
            }))
        };
        let ceremony = match self.op {
            Op::Register => Some((
                Ceremony::Create,
                Endpoint::RegisterOptions,
                Endpoint::RegisterVerify,
            )),
            Op::SignIn => Some((
                Ceremony::Get,
                Endpoint::AuthenticateOptions,
                Endpoint::AuthenticateVerify,
            )),
            Op::Autofill => Some((
                Ceremony::Autofill,
                Endpoint::AuthenticateOptions,
                Endpoint::AuthenticateVerify,
            )),
            Op::AddPasskey => Some((
                Ceremony::Create,
                Endpoint::AddPasskeyOptions,
                Endpoint::AddPasskeyVerify,
            )),
            _ => None,
        };
        if let Some((kind, start, finish)) = ceremony {
            // Options → prompt → verify.
            return match step {
                0 => {
                    if kind != Ceremony::Autofill {
                        // A modal prompt replaces a pending autofill one.
                        super::webauthn::cancel_pending();
                    }
                    send(path(start), params_or_empty(a), Effect::None)
                }
                1 => {
                    self.kept = last?;
                    Ok(Step::Prompt(kind, read(&self.kept, "options")?))
                }
                2 => {
                    let response = last?;
                    let body = if start == Endpoint::RegisterOptions {
                        object(&[
                            ("userId", &read(&self.kept, "userId")?),
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
                    send(path(finish), body, effect)
                }
                _ => Ok(Step::Done(last)),
            };
        }
        match self.op {
            // The phone's side of a QR login: scanned → confirm (with a code) → options →
            // prompt → complete.
            Op::QrComplete => match step {
                0 => {
                    super::webauthn::cancel_pending();
                    self.kept = read(a, "sessionId")?;
                    self.code = read(a, "confirmationCode")?;
                    send(
                        path_with(Endpoint::QrScanned, &self.kept),
                        empty(),
                        Effect::None,
                    )
                }
                1 if self.code.is_truthy() => {
                    last?;
                    let body = object(&[("confirmationCode", &self.code)]);
                    send(
                        path_with(Endpoint::QrConfirm, &self.kept),
                        body,
                        Effect::None,
                    )
                }
                1 | 2 => {
                    last?;
                    self.step = 3;
                    send(path(Endpoint::AuthenticateOptions), empty(), Effect::None)
                }
                3 => Ok(Step::Prompt(Ceremony::Get, read(&last?, "options")?)),
                4 => send(
                    path_with(Endpoint::QrComplete, &self.kept),
                    object(&[("response", &last?)]),
                    Effect::None,
                ),
                _ => {
                    last?;
                    Ok(Step::Done(Ok(JsValue::UNDEFINED)))
                }
            },
            // Our addition: revoke if signed in, forget the token either way.
            Op::SignOut => match step {
                0 if inner.transport.token().is_some() || inner.transport.cookies => {
                    send(path(Endpoint::RevokeSession), empty(), Effect::SignOut)
                }
                _ => {
                    inner.transport.set_token(None);
                    Ok(Step::Done(match last {
                        Err(error) if get(&error, "status").as_f64() != Some(401.0) => Err(error),
                        _ => Ok(JsValue::UNDEFINED),
                    }))
                }
            },
            _ if step == 0 => match single_call(self.op, a)? {
                Some(call) => {
                    self.output = call.output;
                    Ok(Step::Send(call))
                }
                None => Err(type_error("Unknown operation")),
            },
            _ => Ok(Step::Done(match self.output {
                Output::AsIs => last,
                Output::Unit => last.map(|_| JsValue::UNDEFINED),
                Output::Available => read(&last?, "available"),
                // v0.4's getSession: `null` on any refusal or failure, never a rejection.
                Output::NullOnError => Ok(last.unwrap_or(JsValue::NULL)),
            })),
        }
    }
}

/// What a one-call member returns.
#[derive(Clone, Copy)]
enum Output {
    /// The transport's result itself.
    AsIs,
    /// `undefined`.
    Unit,
    /// The result's `available` field, unconverted.
    Available,
    /// The result, or `null` on any failure.
    NullOnError,
}

/// One transport call of a member.
struct Call {
    endpoint: JsValue,
    body: JsValue,
    effect: Effect,
    output: Output,
}

/// The transport call of a one-call member (`None` for the multi-step ones), with the
/// exact endpoint and body v0.4 sends. Reading a missing params object is a `TypeError`.
fn single_call(op: Op, a: &JsValue) -> Result<Option<Call>, JsValue> {
    let empty = || -> JsValue { Object::new().into() };
    let none = JsValue::UNDEFINED;
    let field = |key: &str| read(a, key);
    let (endpoint, body, effect, output) = match op {
        Op::ListCredentials => (
            path(Endpoint::ListCredentials),
            none,
            Effect::None,
            Output::AsIs,
        ),
        Op::UpdateCredential => {
            let body = object(&[
                ("label", &field("label")?),
                ("metadata", &field("metadata")?),
            ]);
            (
                path_with(Endpoint::UpdateCredential, &field("credentialId")?),
                body,
                Effect::None,
                Output::Unit,
            )
        }
        Op::RemoveCredential => (
            path_with(Endpoint::RemoveCredential, a),
            empty(),
            Effect::None,
            Output::Unit,
        ),
        Op::QrCreate => (
            path(Endpoint::QrCreate),
            empty(),
            Effect::None,
            Output::AsIs,
        ),
        Op::QrConfirm => {
            let body = object(&[("confirmationCode", &field("confirmationCode")?)]);
            (
                path_with(Endpoint::QrConfirm, &field("sessionId")?),
                body,
                Effect::None,
                Output::Unit,
            )
        }
        Op::QrCancel => {
            let body = object(&[("statusToken", &field("statusToken")?)]);
            (
                path_with(Endpoint::QrCancel, &field("sessionId")?),
                body,
                Effect::None,
                Output::Unit,
            )
        }
        Op::MagicLinkRequest => (
            path(Endpoint::MagicLinkSend),
            object(&[("email", &field("email")?)]),
            Effect::None,
            Output::AsIs,
        ),
        Op::MagicLinkVerify | Op::MagicLinkVerifyUrl => {
            let token = if op == Op::MagicLinkVerify {
                field("token")?
            } else {
                super::magic_link::extract_token(&field("url")?)?
            };
            (
                path(Endpoint::MagicLinkVerify),
                object(&[("token", &token)]),
                Effect::SignIn,
                Output::AsIs,
            )
        }
        Op::GetAccount => (path(Endpoint::GetAccount), none, Effect::None, Output::AsIs),
        Op::IsEmailAvailable => (
            path(Endpoint::EmailAvailable),
            object(&[("email", a)]),
            Effect::None,
            Output::Available,
        ),
        Op::CanLinkEmail => (
            path(Endpoint::CanLinkEmail),
            object(&[("email", a)]),
            Effect::None,
            Output::AsIs,
        ),
        Op::LinkEmail => (
            path(Endpoint::LinkEmail),
            object(&[("email", a)]),
            Effect::None,
            Output::AsIs,
        ),
        Op::UpdateAccountMetadata => (
            path(Endpoint::UpdateAccount),
            object(&[("metadata", a)]),
            Effect::None,
            Output::AsIs,
        ),
        Op::UnlinkEmail => (
            path(Endpoint::UnlinkEmail),
            empty(),
            Effect::None,
            Output::AsIs,
        ),
        Op::DeleteAccount => (
            path(Endpoint::DeleteAccount),
            empty(),
            Effect::SignOut,
            Output::Unit,
        ),
        Op::GetSession => (
            path(Endpoint::GetSession),
            none,
            Effect::Session,
            Output::NullOnError,
        ),
        Op::ListSessions => (
            path(Endpoint::ListSessions),
            none,
            Effect::None,
            Output::AsIs,
        ),
        Op::RevokeSession => (
            path(Endpoint::RevokeSession),
            empty(),
            Effect::SignOut,
            Output::Unit,
        ),
        Op::RevokeSessionById => (
            path_with(Endpoint::RevokeSessionById, a),
            empty(),
            Effect::None,
            Output::Unit,
        ),
        Op::RevokeAllSessions => (
            path(Endpoint::RevokeAllSessions),
            empty(),
            Effect::SignOut,
            Output::Unit,
        ),
        Op::AccountEvents => (events_path(a), none, Effect::None, Output::AsIs),
        _ => return Ok(None),
    };
    Ok(Some(Call {
        endpoint,
        body,
        effect,
        output,
    }))
}
