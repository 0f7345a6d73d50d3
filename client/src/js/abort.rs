//! A call's `AbortSignal`: nothing is sent once it has fired, and a pending step (request,
//! passkey prompt, sleep) loses a race against it, so the call rejects with the signal's
//! `reason` within one turn of the event loop even if the step ignores the signal.

use super::value::{clear_timeout, get, object, set_timeout, text};
use alloc::rc::Rc;
use core::cell::Cell;
use js_sys::{Array, Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// The signal of one call (or none) and the promise that rejects when it fires.
pub(crate) struct Abort {
    signal: JsValue,
    fired: Option<Promise>,
}

impl Abort {
    /// Watches `opts.signal` (if `opts` is an object with an `AbortSignal`-like `signal`).
    pub(crate) fn from_options(opts: &JsValue) -> Self {
        Self::new(get(opts, "signal"))
    }

    /// Watches `signal` (`undefined` for none).
    pub(crate) fn new(signal: JsValue) -> Self {
        let listen = super::value::function(&signal, "addEventListener");
        let fired = listen.map(|listen| {
            let signal = signal.clone();
            let promise = Promise::new(&mut |_resolve, reject| {
                // The reject function itself is the listener: no closure to leak. It is
                // called with the event; `settle` reports the signal's reason instead.
                let options = object(&[("once", &JsValue::TRUE)]);
                let _ = listen.call3(&signal, &text("abort"), &reject, &options);
            });
            // Never an unhandled rejection, even when no step is racing it any more.
            // (`Boolean` is a built-in no-op handler: no closure, no `eval`.)
            if let Ok(ignore) = get(&super::value::global(), "Boolean").dyn_into::<Function>() {
                let _ = super::value::call_method(&promise, "catch", &[&ignore]);
            }
            promise
        });
        Abort { signal, fired }
    }

    /// The caller's signal (`undefined` for none).
    pub(crate) fn signal(&self) -> &JsValue {
        &self.signal
    }

    /// Whether the signal has fired.
    pub(crate) fn aborted(&self) -> bool {
        get(&self.signal, "aborted").is_truthy()
    }

    /// The signal's `reason` (a `DOMException` named `AbortError` for a bare `abort()`).
    pub(crate) fn reason(&self) -> JsValue {
        get(&self.signal, "reason")
    }

    /// Rejects with the reason when the signal has already fired.
    pub(crate) fn check(&self) -> Result<(), JsValue> {
        if self.aborted() {
            Err(self.reason())
        } else {
            Ok(())
        }
    }

    /// Awaits `step`, losing to the signal. Any failure while the signal has fired is
    /// reported as the signal's reason, never as a network failure.
    pub(crate) async fn settle(&self, step: Promise) -> Result<JsValue, JsValue> {
        self.check()?;
        let raced = match &self.fired {
            Some(fired) => Promise::race(&Array::of2(&step, fired)),
            None => step,
        };
        match JsFuture::from(raced).await {
            Ok(value) => Ok(value),
            Err(_) if self.aborted() => Err(self.reason()),
            Err(error) => Err(error),
        }
    }

    /// Sleeps `ms` milliseconds; the signal cancels the timer and rejects at once.
    pub(crate) async fn sleep(&self, ms: f64) -> Result<(), JsValue> {
        let timer = Rc::new(Cell::new(JsValue::UNDEFINED));
        let slot = Rc::clone(&timer);
        let sleeping = Promise::new(&mut |resolve, _reject| {
            slot.set(set_timeout(&resolve, ms));
        });
        let result = self.settle(sleeping).await;
        if result.is_err() {
            clear_timeout(&timer.take());
        }
        result.map(|_| ())
    }
}
