//! `qr.render` / `qr.renderText` at the JS boundary: input checks as v0.4's `uqr`.

use super::value::{concat, error, number, text};
use crate::qr_code::{QrData, QrMatrix, border_from};
use js_sys::{Array, Uint8Array};
use wasm_bindgen::prelude::*;

/// Renders `data` (a string, or an array of byte values) as SVG (`svg`) or terminal
/// text, with `opts.border` (default 2 for SVG, 1 for text).
pub(crate) fn render(data: &JsValue, opts: &JsValue, svg: bool) -> Result<JsValue, JsValue> {
    let border = border_from(number(opts, "border"), if svg { 2 } else { 1 });
    let text_data = data.as_string();
    let bytes = if text_data.is_some() {
        None
    } else if Array::is_array(data) || data.is_instance_of::<Uint8Array>() {
        Some(Uint8Array::new(data).to_vec())
    } else {
        let message = concat(&[
            &text("uqr only supports encoding string and binary data, but got: "),
            &data.js_typeof(),
        ]);
        return Err(error(&message.as_string().unwrap_or_default()));
    };
    let input = match (&text_data, &bytes) {
        (Some(text), _) => QrData::Text(text),
        (None, Some(bytes)) => QrData::Bytes(bytes),
        (None, None) => QrData::Bytes(&[]),
    };
    let matrix = QrMatrix::encode(input)
        .map_err(|_| JsValue::from(js_sys::RangeError::new("Data too long")))?;
    let out = if svg {
        matrix.to_svg(border)
    } else {
        matrix.to_text(border)
    };
    Ok(text(&out))
}
