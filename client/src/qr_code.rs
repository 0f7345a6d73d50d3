//! QR codes for the cross-device login: SVG and terminal text, byte-identical to
//! passkey-magic v0.4's `qr.render`/`qr.renderText` (error correction L without boosting,
//! the smallest version that fits, one segment in the tightest mode, automatic mask).
//!
//! The encoder is Project Nayuki's algorithm (crate `qrcodegen`), which is what v0.4's
//! `uqr` implements; only the two renderers are ours. Output is built without `format!`
//! so the browser bundle carries no formatting machinery.

use qrcodegen::{QrCode, QrCodeEcc, QrSegment, Version};

/// What to encode: text (numeric, alphanumeric or byte mode, whichever fits the whole
/// string) or raw bytes (byte mode).
#[derive(Debug, Clone, Copy)]
pub enum QrData<'a> {
    /// A string, encoded in the tightest single mode.
    Text(&'a str),
    /// Bytes, encoded in byte mode.
    Bytes(&'a [u8]),
}

/// The data does not fit a version-40 symbol at error-correction level L.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Data too long")]
pub struct DataTooLong;

/// A QR symbol: its modules, row by row (`true` = dark).
#[derive(Debug, Clone)]
pub struct QrMatrix {
    size: usize,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// Encodes `data` as v0.4 does.
    ///
    /// # Errors
    /// [`DataTooLong`] when even version 40 cannot hold it.
    pub fn encode(data: QrData<'_>) -> Result<Self, DataTooLong> {
        let segments = match data {
            QrData::Text(text) => QrSegment::make_segments(text),
            QrData::Bytes(bytes) => vec![QrSegment::make_bytes(bytes)],
        };
        let code = QrCode::encode_segments_advanced(
            &segments,
            QrCodeEcc::Low,
            Version::MIN,
            Version::MAX,
            None,
            false,
        )
        .map_err(|_| DataTooLong)?;
        let size = usize::try_from(code.size()).unwrap_or(0);
        let mut dark = Vec::with_capacity(size * size);
        for y in 0..code.size() {
            for x in 0..code.size() {
                dark.push(code.get_module(x, y));
            }
        }
        Ok(QrMatrix { size, dark })
    }

    /// Modules per side, without border.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether the module at (`x`, `y`) of the grid with `border` light modules around is
    /// dark; outside the symbol everything is light.
    fn is_dark(&self, x: usize, y: usize, border: usize) -> bool {
        let (Some(x), Some(y)) = (x.checked_sub(border), y.checked_sub(border)) else {
            return false;
        };
        x < self.size && y < self.size && self.dark.get(y * self.size + x) == Some(&true)
    }

    /// The SVG of v0.4's `render`: 10 px per module, white background, one black path.
    pub fn to_svg(&self, border: usize) -> String {
        let n = self.size + 2 * border;
        let mut width = String::new();
        push_number(&mut width, n * 10);
        let mut svg = String::with_capacity(160 + self.dark.len() * 12);
        svg.push_str(r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 "#);
        svg.push_str(&width);
        svg.push(' ');
        svg.push_str(&width);
        svg.push_str(r#""><rect fill="white" width=""#);
        svg.push_str(&width);
        svg.push_str(r#"" height=""#);
        svg.push_str(&width);
        svg.push_str(r#""/><path fill="black" d=""#);
        for y in 0..n {
            for x in 0..n {
                if self.is_dark(x, y, border) {
                    svg.push('M');
                    push_number(&mut svg, x * 10);
                    svg.push(',');
                    push_number(&mut svg, y * 10);
                    svg.push_str("h10v10h-10z");
                }
            }
        }
        svg.push_str(r#""/></svg>"#);
        svg
    }

    /// The terminal text of v0.4's `renderText`: two rows per line, light modules drawn
    /// as ink (for light-on-dark terminals); rows below the grid count as dark.
    pub fn to_text(&self, border: usize) -> String {
        let n = self.size + 2 * border;
        let dark = |x: usize, y: usize| y >= n || self.is_dark(x, y, border);
        let mut text = String::with_capacity(n * n * 2);
        for line in 0..n.div_ceil(2) {
            if line > 0 {
                text.push('\n');
            }
            let (top, bottom) = (2 * line, 2 * line + 1);
            for x in 0..n {
                text.push(match (dark(x, top), dark(x, bottom)) {
                    (false, false) => '█',
                    (false, true) => '▀',
                    (true, false) => '▄',
                    (true, true) => ' ',
                });
            }
        }
        text
    }
}

/// Appends the decimal digits of `value` (no `core::fmt`).
pub(crate) fn push_number(out: &mut String, value: usize) {
    let mut digits = [0u8; 20];
    let mut len = 0;
    let mut rest = value;
    loop {
        digits[len] = b'0' + (rest % 10) as u8;
        len += 1;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    for &digit in digits[..len].iter().rev() {
        out.push(char::from(digit));
    }
}

/// A border option as v0.4 reads it: a positive number (fractions cut), else none.
pub fn border_from(value: Option<f64>, default: usize) -> usize {
    match value {
        None => default,
        Some(border) if border > 0.0 && border.is_finite() => border as usize,
        Some(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svg(text: &str, border: usize) -> String {
        QrMatrix::encode(QrData::Text(text)).unwrap().to_svg(border)
    }

    fn text(text: &str, border: usize) -> String {
        QrMatrix::encode(QrData::Text(text))
            .unwrap()
            .to_text(border)
    }

    #[test]
    fn render_text_matches_the_v04_reference_picture() {
        let expected = "\
█▀▀▀▀▀▀▀██▀██▀█▀▀▀▀▀▀▀█
█ █▀▀▀█ █▄▀█▄██ █▀▀▀█ █
█ █   █ █▄█▀ ▀█ █   █ █
█ ▀▀▀▀▀ █ ▄ █ █ ▀▀▀▀▀ █
█▀▀▀▀▀█▀▀▀▀▄▄ ▀█▀█▀█▀██
█▄▀▄██ ▀▀██ ▀▄▀█▄▀▀▀▀▄█
█ ▄ ▄▀ ▀▄█▀█▀█▀█▄ █ █▀█
█▀▀▀▀▀▀▀█ █▄▄ ▄ ▀█▄█▀▄█
█ █▀▀▀█ █▀▄ ▄ ▄▄▀█▄▀█▄█
█ █   █ █ ▄█▀▄▀█▄▀▀ ███
█ ▀▀▀▀▀ █  ▀▀█▀█▄ ▀ ▀██
▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀▀";
        assert_eq!(text("hi", 1), expected);
    }

    #[test]
    fn render_svg_has_the_v04_shape() {
        let out = svg("hi", 2);
        assert_eq!(out.chars().count(), 4179);
        assert!(out.starts_with(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 250 250"><rect fill="white" width="250" height="250"/><path fill="black" d="M20,20h10v10h-10z"#
        ));
        assert!(out.ends_with(r#"h10v10h-10z"/></svg>"#));
        // The empty string is a valid version-1 symbol.
        assert!(svg("", 2).contains(r#"viewBox="0 0 250 250""#));
    }

    #[test]
    fn too_much_data_is_refused() {
        let long = "x".repeat(3000);
        assert_eq!(
            QrMatrix::encode(QrData::Text(&long)).unwrap_err(),
            DataTooLong
        );
        assert_eq!(DataTooLong.to_string(), "Data too long");
    }

    #[test]
    fn borders_read_like_v04() {
        assert_eq!(border_from(None, 2), 2);
        assert_eq!(border_from(Some(0.0), 2), 0);
        assert_eq!(border_from(Some(f64::NAN), 2), 0);
        assert_eq!(border_from(Some(4.0), 2), 4);
        let mut out = String::new();
        push_number(&mut out, 0);
        push_number(&mut out, 10250);
        assert_eq!(out, "010250");
    }
}
