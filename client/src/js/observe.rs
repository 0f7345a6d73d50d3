//! `observeSession` (v0.4 §12.2 plus our wake-ups): a tick calls `client.getSession()`
//! (looked up on the client object each time, with no arguments) and hands the result
//! to the listener; the next tick comes `intervalMs` after the listener returned, or at
//! once when the tab becomes visible, when another tab of the origin signs in or out
//! (`BroadcastChannel`), or when the persisted token changes (`storage` event).

use alloc::vec::Vec;

use super::client::Inner;
use super::transport::CHANNEL;
use super::value::{call_method, get, global, number, text};
use alloc::rc::Rc;
use core::cell::{Cell, RefCell};
use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, spawn_local};

/// v0.4's default interval between ticks.
const DEFAULT_INTERVAL_MS: f64 = 30_000.0;

struct Observer {
    active: Cell<bool>,
    /// Resolves the current wait early (a wake-up or the unsubscribe).
    wake: RefCell<Option<Function>>,
    timer: RefCell<JsValue>,
}

impl Observer {
    fn wake(&self) {
        if let Some(resolve) = self.wake.borrow_mut().take() {
            let _ = resolve.call0(&JsValue::NULL);
        }
    }

    /// Waits `ms`, or less if woken.
    async fn wait(&self, ms: f64) {
        let sleeping = Promise::new(&mut |resolve, _reject| {
            self.timer.replace(super::value::set_timeout(&resolve, ms));
            self.wake.replace(Some(resolve));
        });
        let _ = JsFuture::from(sleeping).await;
        super::value::clear_timeout(&self.timer.replace(JsValue::UNDEFINED));
    }
}

/// An event listener registered on `target`, removed by the unsubscribe function.
struct Listening {
    target: JsValue,
    event: &'static str,
    callback: Closure<dyn FnMut(JsValue)>,
}

fn listen(
    target: &JsValue,
    event: &'static str,
    callback: Closure<dyn FnMut(JsValue)>,
) -> Option<Listening> {
    call_method(
        target,
        "addEventListener",
        &[&text(event), callback.as_ref()],
    )
    .ok()?;
    Some(Listening {
        target: target.clone(),
        event,
        callback,
    })
}

pub(crate) fn observe(
    inner: Rc<Inner>,
    client: JsValue,
    listener: Function,
    opts: &JsValue,
) -> Function {
    let interval = number(opts, "intervalMs").unwrap_or(DEFAULT_INTERVAL_MS);
    let immediate = get(opts, "immediate") != JsValue::FALSE;
    let observer = Rc::new(Observer {
        active: Cell::new(true),
        wake: RefCell::new(None),
        timer: RefCell::new(JsValue::UNDEFINED),
    });

    let mut listening: Vec<Listening> = Vec::new();
    let document = get(&global(), "document");
    if !document.is_undefined() {
        let woken = Rc::clone(&observer);
        let doc = document.clone();
        let on_visible = Closure::new(move |_: JsValue| {
            if get(&doc, "visibilityState").as_string().as_deref() == Some("visible") {
                woken.wake();
            }
        });
        listening.extend(listen(&document, "visibilitychange", on_visible));

        if let Some(key) = inner.transport.storage_key().cloned() {
            let woken = Rc::clone(&observer);
            let tokens = Rc::clone(&inner);
            let on_storage = Closure::new(move |event: JsValue| {
                let changed = get(&event, "key");
                if (changed.is_null() || changed == key) && tokens.transport.reload_token(&changed)
                {
                    woken.wake();
                }
            });
            listening.extend(listen(&global(), "storage", on_storage));
        }

        if let Ok(channel) = super::value::construct("BroadcastChannel", &[&text(CHANNEL)]) {
            let woken = Rc::clone(&observer);
            let on_message = Closure::new(move |_: JsValue| woken.wake());
            listening.extend(listen(&channel, "message", on_message));
        }
    }

    let ticking = Rc::clone(&observer);
    spawn_local(async move {
        if !immediate {
            ticking.wait(interval).await;
        }
        while ticking.active.get() {
            let session = match get(&client, "getSession").dyn_into::<Function>() {
                Ok(get_session) => match get_session.call0(&client) {
                    Ok(value) => JsFuture::from(Promise::resolve(&value))
                        .await
                        .unwrap_or(JsValue::NULL),
                    Err(_) => JsValue::NULL,
                },
                Err(_) => JsValue::NULL,
            };
            if let Err(thrown) = listener.call1(&JsValue::NULL, &session) {
                // As v0.4: an unhandled rejection, and observation stops.
                let _ = Promise::reject(&thrown);
                break;
            }
            if !ticking.active.get() {
                break;
            }
            ticking.wait(interval).await;
        }
    });

    let stopping = Rc::clone(&observer);
    let mut listening = Some(listening);
    let unsubscribe = Closure::<dyn FnMut()>::new(move || {
        stopping.active.set(false);
        stopping.wake();
        for listened in listening.take().unwrap_or_default() {
            let _ = call_method(
                &listened.target,
                "removeEventListener",
                &[&text(listened.event), listened.callback.as_ref()],
            );
            if get(&listened.target, "postMessage").is_function() {
                let _ = call_method(&listened.target, "close", &[]);
            }
        }
    });
    unsubscribe.into_js_value().unchecked_into()
}
