//! `magicLinks.extractToken` (v0.4 §9.3): the URL is parsed by the platform's own `URL`
//! (relative to `http://localhost`), so every quirk of URL parsing matches the browser.

use super::value::{call_method, construct, error, read, text};
use wasm_bindgen::prelude::*;

/// The first `token` query parameter of `input` (a string or a `URL`-like object).
///
/// # Errors
/// The URL parser's `TypeError` for an unparsable string; `Error("Magic link token
/// missing from URL")` when the parameter is absent or empty.
pub(crate) fn extract_token(input: &JsValue) -> Result<JsValue, JsValue> {
    let url = if input.is_string() {
        construct("URL", &[input, &text("http://localhost")])?
    } else {
        input.clone()
    };
    let params = read(&url, "searchParams")?;
    let token = call_method(&params, "get", &[&text("token")])?;
    match token.as_string() {
        Some(token) if !token.is_empty() => Ok(text(&token)),
        _ => Err(error("Magic link token missing from URL")),
    }
}
