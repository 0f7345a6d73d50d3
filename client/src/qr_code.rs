//! QR codes for the cross-device login: SVG and terminal text, byte-identical to
//! passkey-magic v0.4's `qr.render`/`qr.renderText` (error correction L without boosting,
//! the smallest version that fits, one segment in the tightest mode, automatic mask).
//!
//! The encoder follows Project Nayuki's QR Code generator — the algorithm v0.4's `uqr`
//! implements — reduced to what v0.4 uses (level L, one segment) and written for a small
//! browser download: bits are packed straight into codewords, the symbol is one byte per
//! module (bit 0 dark, bit 1 function pattern), tables are read with `get` instead of
//! indexing and output is built without `format!`, so no panic formatting comes with it.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataTooLong;

impl core::fmt::Display for DataTooLong {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Data too long")
    }
}

impl core::error::Error for DataTooLong {}

/// A QR symbol: its modules, row by row (bit 0 set = dark).
#[derive(Debug, Clone)]
pub struct QrMatrix {
    size: usize,
    modules: Vec<u8>,
}

/// Error-correction codewords per block at level L, by version.
const ECC_PER_BLOCK: [u8; 41] = [
    0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30,
    30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
];
/// Error-correction blocks at level L, by version.
const BLOCKS: [u8; 41] = [
    0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14,
    15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25,
];
const ALPHANUMERIC: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// A module that belongs to a function pattern (bit 1; bit 0 is its colour).
const FUNCTION: u8 = 2;

fn table(values: &[u8; 41], version: usize) -> usize {
    usize::from(values.get(version).copied().unwrap_or(0))
}

/// Data and error-correction bits of the symbol, not counting function patterns.
fn raw_data_modules(version: usize) -> usize {
    let mut result = (16 * version + 128) * version + 64;
    if version >= 2 {
        let align = version / 7 + 2;
        result -= (25 * align - 10) * align - 55;
        if version >= 7 {
            result -= 36;
        }
    }
    result
}

/// Data codewords of a version at level L.
fn data_codewords(version: usize) -> usize {
    raw_data_modules(version) / 8 - table(&ECC_PER_BLOCK, version) * table(&BLOCKS, version)
}

/// Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x^2 + 1.
fn gf_multiply(x: u8, y: u8) -> u8 {
    let mut z: u32 = 0;
    for i in (0..8).rev() {
        z = (z << 1) ^ ((z >> 7) * 0x11D);
        z ^= u32::from((y >> i) & 1) * u32::from(x);
    }
    z as u8
}

/// The Reed-Solomon error-correction codewords of `data` (`degree` of them).
fn reed_solomon(data: &[u8], degree: usize) -> Vec<u8> {
    // The generator polynomial, highest coefficient (always 1) left out.
    let mut divisor = vec![0u8; degree];
    if let Some(last) = divisor.last_mut() {
        *last = 1;
    }
    let mut root = 1u8;
    for _ in 0..degree {
        for j in 0..degree {
            let next = divisor.get(j + 1).copied().unwrap_or(0);
            if let Some(value) = divisor.get_mut(j) {
                *value = gf_multiply(*value, root) ^ next;
            }
        }
        root = gf_multiply(root, 0x02);
    }
    // Polynomial division: shift the remainder left by one and add factor · divisor.
    let mut remainder = vec![0u8; degree];
    for &byte in data {
        let factor = byte ^ remainder.first().copied().unwrap_or(0);
        for j in 0..degree {
            let next = remainder.get(j + 1).copied().unwrap_or(0);
            let coefficient = divisor.get(j).copied().unwrap_or(0);
            if let Some(value) = remainder.get_mut(j) {
                *value = next ^ gf_multiply(coefficient, factor);
            }
        }
    }
    remainder
}

/// Bits, most significant first, packed into bytes as they come.
#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    len: usize,
}

impl Bits {
    fn push(&mut self, value: u32, count: usize) {
        for i in (0..count).rev() {
            if self.len.is_multiple_of(8) {
                self.bytes.push(0);
            }
            if let Some(last) = self.bytes.last_mut() {
                *last |= (((value >> i) & 1) as u8) << (7 - self.len % 8);
            }
            self.len += 1;
        }
    }
}

/// The symbol under construction: one byte per module (bit 0 dark, bit 1 function).
struct Canvas {
    size: usize,
    modules: Vec<u8>,
}

impl Canvas {
    fn dark(&self, x: usize, y: usize) -> bool {
        self.modules.get(y * self.size + x).copied().unwrap_or(0) & 1 == 1
    }

    /// Sets a function module (outside the symbol: nothing).
    fn set(&mut self, x: usize, y: usize, dark: bool) {
        if x < self.size
            && let Some(module) = self.modules.get_mut(y * self.size + x)
        {
            *module = FUNCTION | u8::from(dark);
        }
    }

    /// A square pattern centred on (`x`, `y`): `dark(distance from the centre)`.
    fn pattern(&mut self, x: usize, y: usize, radius: usize, dark: fn(usize) -> bool) {
        for dy in 0..=2 * radius {
            for dx in 0..=2 * radius {
                let distance = dx.abs_diff(radius).max(dy.abs_diff(radius));
                if let (Some(px), Some(py)) =
                    ((x + dx).checked_sub(radius), (y + dy).checked_sub(radius))
                {
                    self.set(px, py, dark(distance));
                }
            }
        }
    }

    /// The format bits (level L, `mask`), both copies.
    fn draw_format(&mut self, mask: u32) {
        let data = (1 << 3) | mask; // level L = 01
        let mut rem = data;
        for _ in 0..10 {
            rem = (rem << 1) ^ ((rem >> 9) * 0x537);
        }
        let bits = ((data << 10) | rem) ^ 0x5412;
        let size = self.size;
        for i in 0..15 {
            let dark = (bits >> i) & 1 == 1;
            // First copy: down column 8 (skipping the timing row), then left along row 8.
            let (x, y) = match i {
                0..=5 => (8, i),
                6..=7 => (8, i + 1),
                8 => (7, 8),
                _ => (14 - i, 8),
            };
            self.set(x, y, dark);
            // Second copy: row 8 from the right, then column 8 from the bottom.
            let (x, y) = if i < 8 {
                (size - 1 - i, 8)
            } else {
                (8, size - 15 + i)
            };
            self.set(x, y, dark);
        }
        self.set(8, size - 8, true);
    }

    /// Inverts the non-function modules that `mask` selects (applied twice: undone).
    fn apply_mask(&mut self, mask: u32) {
        let size = self.size;
        for (index, module) in self.modules.iter_mut().enumerate() {
            let (x, y) = (index % size, index / size);
            let invert = match mask {
                0 => (x + y) % 2 == 0,
                1 => y % 2 == 0,
                2 => x % 3 == 0,
                3 => (x + y) % 3 == 0,
                4 => (x / 3 + y / 2) % 2 == 0,
                5 => x * y % 2 + x * y % 3 == 0,
                6 => (x * y % 2 + x * y % 3) % 2 == 0,
                _ => ((x + y) % 2 + x * y % 3) % 2 == 0,
            };
            if invert && *module & FUNCTION == 0 {
                *module ^= 1;
            }
        }
    }

    /// Nayuki's penalty score (runs, 2×2 blocks, finder-like patterns, balance).
    fn penalty(&self) -> i32 {
        let size = self.size;
        let mut result: i32 = 0;
        for transpose in [false, true] {
            for a in 0..size {
                let mut color = false;
                let mut run: i32 = 0;
                let mut history = Finder {
                    size: size as i32,
                    runs: [0; 7],
                };
                for b in 0..size {
                    let module = if transpose {
                        self.dark(a, b)
                    } else {
                        self.dark(b, a)
                    };
                    if module == color {
                        run += 1;
                        if run == 5 {
                            result += 3;
                        } else if run > 5 {
                            result += 1;
                        }
                    } else {
                        history.add(run);
                        if !color {
                            result += history.count() * 40;
                        }
                        color = module;
                        run = 1;
                    }
                }
                // The light border after the row closes the last run.
                if color {
                    history.add(run);
                    run = 0;
                }
                history.add(run + history.size);
                result += history.count() * 40;
            }
        }
        let mut dark = 0;
        for y in 0..size {
            for x in 0..size {
                let color = self.dark(x, y);
                dark += i32::from(color);
                if x + 1 < size
                    && y + 1 < size
                    && color == self.dark(x + 1, y)
                    && color == self.dark(x, y + 1)
                    && color == self.dark(x + 1, y + 1)
                {
                    result += 3;
                }
            }
        }
        let total = (size * size) as i32;
        let k = ((dark * 20 - total * 10).abs() + total - 1) / total - 1;
        result + k * 10
    }
}

/// The run history of one row or column, for finder-like patterns.
struct Finder {
    size: i32,
    runs: [i32; 7],
}

impl Finder {
    fn add(&mut self, mut run: i32) {
        let [r0, r1, r2, r3, r4, r5, _] = self.runs;
        if r0 == 0 {
            run += self.size; // light border before the first run
        }
        self.runs = [run, r0, r1, r2, r3, r4, r5];
    }

    fn count(&self) -> i32 {
        let [r0, n, r2, r3, r4, r5, r6] = self.runs;
        let core = n > 0 && r2 == n && r3 == n * 3 && r4 == n && r5 == n;
        i32::from(core && r0 >= n * 4 && r6 >= n) + i32::from(core && r6 >= n * 4 && r0 >= n)
    }
}

impl QrMatrix {
    /// Encodes `data` as v0.4 does.
    ///
    /// # Errors
    /// [`DataTooLong`] when even version 40 cannot hold it.
    pub fn encode(data: QrData<'_>) -> Result<Self, DataTooLong> {
        let (bytes, is_text) = match data {
            QrData::Text(text) => (text.as_bytes(), true),
            QrData::Bytes(bytes) => (bytes, false),
        };
        // v0.4 makes no segment at all for the empty string (but one for empty bytes).
        let has_segment = !(is_text && bytes.is_empty());
        let alphanumeric = |b: &u8| ALPHANUMERIC.iter().position(|c| c == b);
        let n = bytes.len();
        // Mode indicator and data bits of the one segment.
        let (mode, data_bits) = if is_text && bytes.iter().all(u8::is_ascii_digit) {
            (1, n / 3 * 10 + n % 3 * 3 + usize::from(n % 3 > 0))
        } else if is_text && bytes.iter().all(|b| alphanumeric(b).is_some()) {
            (2, n / 2 * 11 + n % 2 * 6)
        } else {
            (4, n * 8)
        };
        let count_bits = |version: usize| {
            let band = usize::from(version > 9) + usize::from(version > 26);
            match mode {
                1 => 10 + 2 * band,
                2 => 9 + 2 * band,
                _ if band == 0 => 8,
                _ => 16,
            }
        };
        let version = (1..=40)
            .find(|&v| {
                !has_segment
                    || (n < 1 << count_bits(v)
                        && 4 + count_bits(v) + data_bits <= data_codewords(v) * 8)
            })
            .ok_or(DataTooLong)?;
        let capacity = data_codewords(version) * 8;

        let mut bits = Bits::default();
        if has_segment {
            bits.push(mode, 4);
            bits.push(n as u32, count_bits(version));
            match mode {
                1 => {
                    for chunk in bytes.chunks(3) {
                        let value = chunk.iter().fold(0, |v, &d| v * 10 + u32::from(d - b'0'));
                        bits.push(value, chunk.len() * 3 + 1);
                    }
                }
                2 => {
                    for chunk in bytes.chunks(2) {
                        let value = chunk
                            .iter()
                            .fold(0, |v, b| v * 45 + alphanumeric(b).unwrap_or(0) as u32);
                        bits.push(value, chunk.len() * 5 + 1);
                    }
                }
                _ => {
                    for &byte in bytes {
                        bits.push(u32::from(byte), 8);
                    }
                }
            }
        }
        // Terminator, byte boundary, then the pad bytes 0xEC, 0x11, 0xEC, ...
        bits.push(0, (capacity - bits.len).min(4));
        bits.push(0, bits.len.wrapping_neg() & 7);
        let mut pad = 0xEC;
        while bits.len < capacity {
            bits.push(pad, 8);
            pad ^= 0xEC ^ 0x11;
        }

        // Error correction: blocks (the short ones first), then interleaved: the data
        // codewords column by column, then the error-correction ones.
        let blocks = table(&BLOCKS, version);
        let ecc_len = table(&ECC_PER_BLOCK, version);
        let raw = raw_data_modules(version) / 8;
        let short_blocks = blocks - raw % blocks;
        let short_len = raw / blocks - ecc_len;
        let mut split = Vec::with_capacity(blocks);
        let mut rest = bits.bytes.as_slice();
        for i in 0..blocks {
            let (block, tail) =
                rest.split_at(rest.len().min(short_len + usize::from(i >= short_blocks)));
            rest = tail;
            split.push((block, reed_solomon(block, ecc_len)));
        }
        let mut codewords: Vec<u8> = Vec::with_capacity(raw);
        for i in 0..=short_len {
            codewords.extend(split.iter().filter_map(|(block, _)| block.get(i)));
        }
        for i in 0..ecc_len {
            codewords.extend(split.iter().filter_map(|(_, ecc)| ecc.get(i)));
        }

        // Function patterns.
        let size = version * 4 + 17;
        let mut canvas = Canvas {
            size,
            modules: vec![0; size * size],
        };
        for i in 0..size {
            canvas.set(6, i, i % 2 == 0);
            canvas.set(i, 6, i % 2 == 0);
        }
        for (x, y) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            canvas.pattern(x, y, 4, |d| d != 2 && d != 4);
        }
        if version > 1 {
            let count = version / 7 + 2;
            let step = (version * 8 + count * 3 + 5) / (count * 4 - 4) * 2;
            // Centres: 6, then from the far side in steps (index 0 is 6).
            let position = |i: usize| {
                if i == 0 {
                    6
                } else {
                    size - 7 - (count - 1 - i) * step
                }
            };
            for i in 0..count {
                for j in 0..count {
                    // The three corners hold finder patterns.
                    let corner =
                        (i == 0 && (j == 0 || j == count - 1)) || (i == count - 1 && j == 0);
                    if !corner {
                        canvas.pattern(position(i), position(j), 2, |d| d != 1);
                    }
                }
            }
        }
        canvas.draw_format(0);
        if version >= 7 {
            let mut rem = version as u32;
            for _ in 0..12 {
                rem = (rem << 1) ^ ((rem >> 11) * 0x1F25);
            }
            let bits = ((version as u32) << 12) | rem;
            for i in 0..18 {
                let dark = (bits >> i) & 1 == 1;
                let (a, b) = (size - 11 + i % 3, i / 3);
                canvas.set(a, b, dark);
                canvas.set(b, a, dark);
            }
        }

        // Codewords in the zigzag order, right to left in column pairs.
        let mut bit = 0;
        let mut right = size - 1;
        loop {
            if right == 6 {
                right = 5;
            }
            for vertical in 0..size {
                for j in 0..2 {
                    let x = right - j;
                    let y = if (right + 1) & 2 == 0 {
                        size - 1 - vertical
                    } else {
                        vertical
                    };
                    let byte = codewords.get(bit >> 3).copied();
                    if let Some(module) = canvas.modules.get_mut(y * size + x)
                        && *module & FUNCTION == 0
                        && let Some(byte) = byte
                    {
                        *module = (byte >> (7 - (bit & 7))) & 1;
                        bit += 1;
                    }
                }
            }
            if right < 2 {
                break;
            }
            right -= 2;
        }

        // The mask with the lowest penalty (ties: the lowest number); the ninth round
        // applies the winner.
        let mut best = (i32::MAX, 0);
        for mask in 0..9 {
            let chosen = if mask == 8 { best.1 } else { mask };
            canvas.apply_mask(chosen);
            canvas.draw_format(chosen);
            if mask == 8 {
                break;
            }
            let penalty = canvas.penalty();
            if penalty < best.0 {
                best = (penalty, mask);
            }
            canvas.apply_mask(mask);
        }
        Ok(QrMatrix {
            size,
            modules: canvas.modules,
        })
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
        x < self.size
            && self
                .modules
                .get(y * self.size + x)
                .is_some_and(|m| m & 1 == 1)
    }

    /// The SVG of v0.4's `render`: 10 px per module, white background, one black path.
    pub fn to_svg(&self, border: usize) -> String {
        let n = self.size + 2 * border;
        let mut width = String::new();
        push_number(&mut width, n * 10);
        let mut svg = String::with_capacity(160 + self.modules.len() * 12);
        for part in [
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 "#,
            &width,
            " ",
            &width,
            r#""><rect fill="white" width=""#,
            &width,
            r#"" height=""#,
            &width,
            r#""/><path fill="black" d=""#,
        ] {
            svg.push_str(part);
        }
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
            for x in 0..n {
                let index = usize::from(dark(x, 2 * line)) * 2 + usize::from(dark(x, 2 * line + 1));
                text.push_str(["█", "▀", "▄", " "].get(index).copied().unwrap_or(" "));
            }
        }
        text
    }
}

/// Appends the decimal digits of `value` (no `core::fmt`).
pub(crate) fn push_number(out: &mut String, value: usize) {
    let mut divisor: usize = 1;
    while let Some(next) = divisor.checked_mul(10)
        && next <= value
    {
        divisor = next;
    }
    while divisor > 0 {
        out.push(char::from(b'0' + (value / divisor % 10) as u8));
        divisor /= 10;
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
