//! Small helpers over JS values: property access, fresh objects, string building with
//! JavaScript's own conversions (so `undefined` becomes `"undefined"` as in v0.4), and
//! the few globals the SDK needs. No `format!`: the bundle carries no `core::fmt`.

use js_sys::{Array, Function, JsString, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout` (windows, workers and Node alike).
    #[wasm_bindgen(js_name = setTimeout)]
    pub(crate) fn set_timeout(callback: &Function, ms: f64) -> JsValue;
    /// The global `clearTimeout`.
    #[wasm_bindgen(js_name = clearTimeout)]
    pub(crate) fn clear_timeout(id: &JsValue);
    /// The global `encodeURIComponent` (it converts its argument with `String()`).
    #[wasm_bindgen(js_name = encodeURIComponent)]
    pub(crate) fn encode_uri_component(value: &JsValue) -> JsValue;
    /// The global `fetch`.
    #[wasm_bindgen(catch, js_name = fetch)]
    pub(crate) fn global_fetch(input: &JsValue, init: &JsValue) -> Result<Promise, JsValue>;
}

/// `target[key]`, or `undefined` when `target` is not an object or the read throws.
pub(crate) fn get(target: &JsValue, key: &str) -> JsValue {
    if target.is_object() || target.is_function() {
        Reflect::get(target, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// `target[key]` as JavaScript reads it: a `TypeError` for `null`/`undefined` targets
/// (what v0.4 throws for a missing params object or a `null` response).
pub(crate) fn read(target: &JsValue, key: &str) -> Result<JsValue, JsValue> {
    if target.is_null() || target.is_undefined() {
        return Err(type_error("Cannot read properties of null or undefined"));
    }
    if target.is_object() || target.is_function() {
        Reflect::get(target, &JsValue::from_str(key))
    } else {
        Ok(JsValue::UNDEFINED)
    }
}

/// `target[key] = value` on an object this module created.
pub(crate) fn set(target: &JsValue, key: &str, value: &JsValue) {
    // Setting a property of a plain object we own cannot fail.
    let _ = Reflect::set(target, &JsValue::from_str(key), value);
}

/// A fresh plain object with these keys, in this order (`undefined` values kept).
pub(crate) fn object(entries: &[(&str, &JsValue)]) -> JsValue {
    let target: JsValue = Object::new().into();
    for (key, value) in entries {
        set(&target, key, value);
    }
    target
}

/// `target[key]` when it is a function.
pub(crate) fn function(target: &JsValue, key: &str) -> Option<Function> {
    get(target, key).dyn_into::<Function>().ok()
}

/// Calls `target[key](...args)`; a missing method is a `TypeError`.
pub(crate) fn call_method(
    target: &JsValue,
    key: &str,
    args: &[&JsValue],
) -> Result<JsValue, JsValue> {
    let method =
        function(target, key).ok_or_else(|| type_error("Expected a method of the object"))?;
    match args {
        [] => method.call0(target),
        [a] => method.call1(target, a),
        [a, b] => method.call2(target, a, b),
        _ => method.apply(target, &args.iter().copied().collect::<Array>()),
    }
}

/// The global object (`globalThis`).
pub(crate) fn global() -> JsValue {
    js_sys::global().into()
}

/// `new globalThis[name](...args)`.
pub(crate) fn construct(name: &str, args: &[&JsValue]) -> Result<JsValue, JsValue> {
    let class = get(&global(), name)
        .dyn_into::<Function>()
        .map_err(|_| type_error("A browser API is missing"))?;
    Reflect::construct(&class, &args.iter().copied().collect::<Array>())
}

/// JavaScript string concatenation (`"" + a + b + …`), with `String()`'s conversions.
pub(crate) fn concat(parts: &[&JsValue]) -> JsString {
    let mut text = JsString::from("");
    for part in parts {
        text = text.concat(part);
    }
    text
}

/// A `TypeError` with `message`.
pub(crate) fn type_error(message: &str) -> JsValue {
    js_sys::TypeError::new(message).into()
}

/// A plain `Error` with `message`.
pub(crate) fn error(message: &str) -> JsValue {
    js_sys::Error::new(message).into()
}

/// An `Error` named `name` (`AbortError`, `NotAllowedError`, ...).
pub(crate) fn named_error(name: &str, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    error.set_name(name);
    error.into()
}

/// A number option (`undefined`/`null` → `None`, as JavaScript's `??` reads it).
pub(crate) fn number(target: &JsValue, key: &str) -> Option<f64> {
    let value = get(target, key);
    if value.is_undefined() || value.is_null() {
        None
    } else {
        Some(value.as_f64().unwrap_or(f64::NAN))
    }
}

/// A string as a `JsValue`.
pub(crate) fn text(value: &str) -> JsValue {
    JsValue::from_str(value)
}
