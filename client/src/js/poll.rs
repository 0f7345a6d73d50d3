//! `qr.poll`: QR statuses one `next()` at a time, spaced by [`Backoff`], stopping after
//! `authenticated`, `expired` or `cancelled` (v0.4 §8.4). With our server the request
//! long-polls (`&wait=`), so a state change arrives at once and the delay only spaces
//! requests that the server answered early.

use super::abort::Abort;
use super::client::{Inner, path_with};
use super::transport::Effect;
use super::value::{concat, get, number, object, text};
use crate::polling::Backoff;
use alloc::rc::Rc;
use core::cell::{Cell, RefCell};
use js_sys::Promise;
use passkey_magic_shared::Endpoint;
use passkey_magic_shared::limits::MAX_QR_WAIT_SECONDS;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

/// The longest long-poll we ask for (below the server's cap and common proxy timeouts).
const LONG_POLL_SECONDS: f64 = 25.0;

/// One poller's state.
pub(crate) struct PollState {
    inner: Rc<Inner>,
    session_id: JsValue,
    status_token: JsValue,
    backoff: RefCell<Backoff>,
    pub(crate) abort: Abort,
    /// The `timeoutMs` of a wait, to keep long-polls inside it.
    deadline: Option<f64>,
    started: Cell<bool>,
    finished: Cell<bool>,
    terminal: Cell<bool>,
    last_request_ms: Cell<f64>,
}

impl PollState {
    /// A poller for one QR session with v0.4's poll options.
    pub(crate) fn new(
        inner: Rc<Inner>,
        session_id: JsValue,
        status_token: JsValue,
        opts: &JsValue,
        timeout_ms: Option<f64>,
    ) -> Rc<Self> {
        Rc::new(PollState {
            inner,
            session_id,
            status_token,
            backoff: RefCell::new(Backoff::new(
                number(opts, "interval"),
                number(opts, "backoffRate"),
                number(opts, "maxInterval"),
                number(opts, "jitter"),
            )),
            abort: Abort::from_options(opts),
            deadline: timeout_ms.map(|ms| js_sys::Date::now() + ms),
            started: Cell::new(false),
            finished: Cell::new(false),
            terminal: Cell::new(false),
            last_request_ms: Cell::new(0.0),
        })
    }

    /// Ends the poller: no more requests.
    pub(crate) fn finish(&self) {
        self.finished.set(true);
    }

    /// The next status, or `None` once finished. A transport failure or an abort during
    /// a sleep or request ends the poller with that error.
    pub(crate) async fn next(&self) -> Result<Option<JsValue>, JsValue> {
        if self.finished.get() {
            return Ok(None);
        }
        if self.started.get() {
            if self.terminal.get() {
                self.finish();
                return Ok(None);
            }
            let mut delay = self.backoff.borrow_mut().next_delay(js_sys::Math::random());
            if self.inner.transport.long_poll {
                delay = (delay - self.last_request_ms.get()).max(0.0);
            }
            if self.abort.aborted() {
                self.finish();
                return Ok(None);
            }
            if let Err(reason) = self.abort.sleep(delay).await {
                self.finish();
                return Err(reason);
            }
        }
        self.started.set(true);
        if self.abort.aborted() {
            self.finish();
            return Ok(None);
        }
        let asked_at = js_sys::Date::now();
        let status = self
            .inner
            .transport
            .request(
                &self.endpoint(asked_at),
                &JsValue::UNDEFINED,
                &object(&[("signal", self.abort.signal())]),
                &self.abort,
                Effect::SignIn,
            )
            .await;
        self.last_request_ms.set(js_sys::Date::now() - asked_at);
        match status {
            Ok(status) => {
                let state = get(&status, "state").as_string();
                self.terminal.set(matches!(
                    state.as_deref(),
                    Some("authenticated" | "expired" | "cancelled")
                ));
                Ok(Some(status))
            }
            Err(error) => {
                self.finish();
                Err(error)
            }
        }
    }

    /// `/qr/<id>/status?token=<encoded>` (+ `&wait=<s>` when long-polling).
    fn endpoint(&self, now: f64) -> JsValue {
        let token = concat(&[&self.status_token])
            .as_string()
            .unwrap_or_default();
        let base = path_with(Endpoint::QrStatus, &self.session_id);
        let query = concat(&[
            &base,
            &text("?token="),
            &js_sys::encode_uri_component(&token),
        ]);
        if !self.inner.transport.long_poll {
            return query.into();
        }
        let mut wait = LONG_POLL_SECONDS.min(f64::from(MAX_QR_WAIT_SECONDS));
        if let Some(deadline) = self.deadline {
            wait = wait
                .min(js_sys::Math::ceil((deadline - now) / 1000.0))
                .max(1.0);
        }
        concat(&[&query, &text("&wait="), &JsValue::from_f64(wait)]).into()
    }
}

/// The Rust half of `qr.poll`'s async iterator (the ESM entry adds
/// `Symbol.asyncIterator`, `return` and `throw`).
#[wasm_bindgen]
pub struct Poller {
    state: Rc<PollState>,
    /// The previous `next()`, so calls made without awaiting run one after another.
    queue: RefCell<Promise>,
}

impl Poller {
    pub(crate) fn new(state: Rc<PollState>) -> Poller {
        Poller {
            state,
            queue: RefCell::new(Promise::resolve(&JsValue::UNDEFINED)),
        }
    }
}

#[wasm_bindgen]
impl Poller {
    /// Resolves with `{ value, done }`.
    pub fn next(&self) -> Promise {
        let state = Rc::clone(&self.state);
        let previous = self.queue.borrow().clone();
        let promise = future_to_promise(async move {
            // Wait for the previous call, whatever it gave.
            let _ = wasm_bindgen_futures::JsFuture::from(previous).await;
            let item = state.next().await?;
            let done = JsValue::from_bool(item.is_none());
            Ok(object(&[
                ("value", &item.unwrap_or(JsValue::UNDEFINED)),
                ("done", &done),
            ]))
        });
        let _previous = self.queue.replace(promise.clone());
        promise
    }

    /// Stops polling (the iterator's `return`).
    pub fn stop(&self) {
        self.state.finish();
    }
}
