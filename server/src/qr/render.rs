//! Drawing QR codes on the server: SVG for web pages and compact text for terminals.
//!
//! The [`qrcode`] crate encodes (error correction level M, the smallest version that
//! fits); this module draws the module grid itself, so the quiet-zone border (in modules)
//! is configurable and the output is small: one `<path>` with a rectangle per horizontal
//! run of dark modules.
//!
//! ```
//! use passkey_magic_server::qr::render::{self, SvgOptions, TextOptions};
//!
//! let svg = render::svg("https://example.com/qr/abc", &SvgOptions::default()).unwrap();
//! assert!(svg.starts_with("<svg"));
//! let text = render::text("https://example.com/qr/abc", &TextOptions::default()).unwrap();
//! assert!(text.lines().count() > 10);
//! ```

use qrcode::{Color, EcLevel, QrCode};
use std::fmt::Write as _;

/// The data does not fit in a QR code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot draw a QR code: {0}")]
pub struct RenderError(String);

/// How [`svg`] draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SvgOptions {
    /// Quiet zone around the code, in modules. Default: 4 (what the standard asks for;
    /// use less only when the page itself leaves light space around the image).
    pub border: u32,
    /// Size of one module in the `width`/`height` attributes (the image scales freely).
    /// Default: 8.
    pub module_size: u32,
}

impl Default for SvgOptions {
    fn default() -> Self {
        SvgOptions {
            border: 4,
            module_size: 8,
        }
    }
}

/// How [`text`] draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextOptions {
    /// Quiet zone around the code, in modules. Default: 2 (terminals pad lines anyway).
    pub border: u32,
    /// Draw the *light* modules with block characters, so the code reads right on a
    /// terminal with light text on a dark background (the common case). Default: `true`;
    /// `false` for dark-on-light terminals and paper.
    pub invert: bool,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            border: 2,
            invert: true,
        }
    }
}

/// The dark/light grid of a code, with a light border around it.
struct Grid {
    size: usize,
    border: usize,
    dark: Vec<bool>,
}

impl Grid {
    fn encode(data: &str, border: u32) -> Result<Self, RenderError> {
        let code = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M)
            .map_err(|error| RenderError(error.to_string()))?;
        Ok(Grid {
            size: code.width(),
            border: usize::try_from(border).unwrap_or(usize::MAX).min(64),
            dark: code
                .to_colors()
                .into_iter()
                .map(|color| color == Color::Dark)
                .collect(),
        })
    }

    /// Width (= height) including the border.
    fn full_size(&self) -> usize {
        self.size + 2 * self.border
    }

    /// Whether the module at (x, y) of the bordered image is dark.
    fn is_dark(&self, x: usize, y: usize) -> bool {
        let (Some(x), Some(y)) = (x.checked_sub(self.border), y.checked_sub(self.border)) else {
            return false;
        };
        x < self.size && y < self.size && self.dark.get(y * self.size + x) == Some(&true)
    }
}

/// An SVG image of a QR code holding `data` (usually a URL).
///
/// # Errors
/// [`RenderError`] when the data is too long for a QR code (about 2 300 bytes).
pub fn svg(data: &str, options: &SvgOptions) -> Result<String, RenderError> {
    let grid = Grid::encode(data, options.border)?;
    let full = grid.full_size();
    let pixels = full.saturating_mul(usize::try_from(options.module_size.max(1)).unwrap_or(1));
    let mut path = String::new();
    for y in 0..full {
        let mut x = 0;
        while x < full {
            if !grid.is_dark(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < full && grid.is_dark(x, y) {
                x += 1;
            }
            let run = x - start;
            let _ = write!(path, "M{start} {y}h{run}v1h-{run}z");
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" \
         viewBox=\"0 0 {full} {full}\" width=\"{pixels}\" height=\"{pixels}\" \
         shape-rendering=\"crispEdges\">\
         <rect width=\"{full}\" height=\"{full}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

/// A QR code holding `data` as text for a terminal: two modules per character cell
/// (`█`, `▀`, `▄`, space), one line per two rows of modules.
///
/// # Errors
/// [`RenderError`] when the data is too long for a QR code.
pub fn text(data: &str, options: &TextOptions) -> Result<String, RenderError> {
    let grid = Grid::encode(data, options.border)?;
    let full = grid.full_size();
    // "Ink" is what the characters draw: dark modules, or light ones when inverted. Rows
    // past the bottom (odd heights) count as border, i.e. light.
    let ink = |x: usize, y: usize| {
        let dark = y < full && grid.is_dark(x, y);
        dark != options.invert
    };
    let mut out = String::with_capacity((full + 1) * full.div_ceil(2) * 3);
    for y in (0..full).step_by(2) {
        for x in 0..full {
            out.push(match (ink(x, y), ink(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_size_follows_the_border() {
        let without = svg(
            "hi",
            &SvgOptions {
                border: 0,
                module_size: 1,
            },
        )
        .unwrap();
        // Version 1: 21 modules.
        assert!(without.contains("viewBox=\"0 0 21 21\""), "{without}");
        let with = svg("hi", &SvgOptions::default()).unwrap();
        assert!(with.contains("viewBox=\"0 0 29 29\""), "{with}");
        assert!(with.contains("width=\"232\""));
        // The top-left finder pattern starts at the border.
        assert!(with.contains("M4 4h7v1h-7z"), "{with}");
    }

    #[test]
    fn text_uses_half_blocks() {
        let plain = text(
            "hi",
            &TextOptions {
                border: 0,
                invert: false,
            },
        )
        .unwrap();
        let lines: Vec<&str> = plain.lines().collect();
        assert_eq!(lines.len(), 11, "21 rows → 11 lines");
        assert!(lines.iter().all(|line| line.chars().count() == 21));
        // The finder pattern's first two rows: seven dark modules over dark, five light,
        // dark.
        assert!(lines[0].starts_with("█▀▀▀▀▀█"), "{plain}");
        let inverted = text(
            "hi",
            &TextOptions {
                border: 1,
                invert: true,
            },
        )
        .unwrap();
        // Inverted, light modules are drawn: the border column fully, then the border
        // row above the (dark) finder pattern.
        assert!(inverted.lines().next().unwrap().starts_with("█▀▀"));
    }

    #[test]
    fn too_much_data_is_an_error() {
        assert!(svg(&"x".repeat(5000), &SvgOptions::default()).is_err());
    }
}
