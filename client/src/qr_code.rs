//! QR codes for the cross-device login: SVG and terminal text, byte-identical to
//! passkey-magic v0.4's `qr.render`/`qr.renderText` (error correction L without boosting,
//! the smallest version that fits, one segment in the tightest mode, automatic mask).
//!
//! The encoder is a compact port of Project Nayuki's QR Code generator — the algorithm
//! v0.4's `uqr` implements — reduced to what v0.4 uses (level L, one segment). It reads
//! tables with `get` instead of indexing and builds output without `format!`, so the
//! browser bundle carries no panic formatting for it.

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

/// A QR symbol: its modules, row by row (`true` = dark).
#[derive(Debug, Clone)]
pub struct QrMatrix {
    size: usize,
    dark: Vec<bool>,
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

fn table(values: &[u8], version: usize) -> usize {
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

/// The Reed-Solomon error-correction codewords of `data`.
fn reed_solomon(data: &[u8], degree: usize) -> Vec<u8> {
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
    let mut remainder = vec![0u8; degree];
    for &byte in data {
        let factor = byte ^ remainder.first().copied().unwrap_or(0);
        remainder.rotate_left(1);
        if let Some(last) = remainder.last_mut() {
            *last = 0;
        }
        for (value, coefficient) in remainder.iter_mut().zip(&divisor) {
            *value ^= gf_multiply(*coefficient, factor);
        }
    }
    remainder
}

/// Bits, most significant first.
#[derive(Default)]
struct Bits(Vec<bool>);

impl Bits {
    fn push(&mut self, value: u32, count: usize) {
        for i in (0..count).rev() {
            self.0.push((value >> i) & 1 == 1);
        }
    }
}

/// One segment: mode indicator, characters and data bits.
struct Segment {
    mode: u32,
    chars: usize,
    data: Bits,
}

impl Segment {
    fn new(data: QrData<'_>) -> Option<Segment> {
        let mut bits = Bits::default();
        let bytes = match data {
            QrData::Text("") => return None,
            QrData::Text(text) => text.as_bytes(),
            QrData::Bytes(bytes) => bytes,
        };
        let is_text = matches!(data, QrData::Text(_));
        if is_text && bytes.iter().all(u8::is_ascii_digit) {
            for chunk in bytes.chunks(3) {
                let value = chunk.iter().fold(0, |n, &d| n * 10 + u32::from(d - b'0'));
                bits.push(value, chunk.len() * 3 + 1);
            }
            return Some(Segment {
                mode: 1,
                chars: bytes.len(),
                data: bits,
            });
        }
        let code = |b: &u8| ALPHANUMERIC.iter().position(|c| c == b).map(|i| i as u32);
        if is_text && bytes.iter().all(|b| code(b).is_some()) {
            for chunk in bytes.chunks(2) {
                let value = chunk.iter().fold(0, |n, b| n * 45 + code(b).unwrap_or(0));
                bits.push(value, if chunk.len() == 2 { 11 } else { 6 });
            }
            return Some(Segment {
                mode: 2,
                chars: bytes.len(),
                data: bits,
            });
        }
        for &byte in bytes {
            bits.push(u32::from(byte), 8);
        }
        Some(Segment {
            mode: 4,
            chars: bytes.len(),
            data: bits,
        })
    }

    fn count_bits(&self, version: usize) -> usize {
        let band = usize::from(version > 9) + usize::from(version > 26);
        let widths: [usize; 3] = match self.mode {
            1 => [10, 12, 14],
            2 => [9, 11, 13],
            _ => [8, 16, 16],
        };
        widths.get(band).copied().unwrap_or(16)
    }
}

/// The symbol under construction: modules and which of them are function patterns.
struct Canvas {
    size: usize,
    dark: Vec<bool>,
    function: Vec<bool>,
}

impl Canvas {
    fn get(&self, x: usize, y: usize) -> bool {
        self.dark.get(y * self.size + x).copied().unwrap_or(false)
    }

    fn is_function(&self, x: usize, y: usize) -> bool {
        self.function
            .get(y * self.size + x)
            .copied()
            .unwrap_or(true)
    }

    fn set(&mut self, x: usize, y: usize, dark: bool) {
        if x < self.size && y < self.size {
            let index = y * self.size + x;
            if let Some(module) = self.dark.get_mut(index) {
                *module = dark;
            }
            if let Some(function) = self.function.get_mut(index) {
                *function = true;
            }
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

    fn draw_format(&mut self, mask: u32) {
        let data = (1 << 3) | mask; // level L = 01
        let mut rem = data;
        for _ in 0..10 {
            rem = (rem << 1) ^ ((rem >> 9) * 0x537);
        }
        let bits = ((data << 10) | rem) ^ 0x5412;
        let bit = |i: usize| (bits >> i) & 1 == 1;
        let size = self.size;
        for i in 0..6 {
            self.set(8, i, bit(i));
        }
        self.set(8, 7, bit(6));
        self.set(8, 8, bit(7));
        self.set(7, 8, bit(8));
        for i in 9..15 {
            self.set(14 - i, 8, bit(i));
        }
        for i in 0..8 {
            self.set(size - 1 - i, 8, bit(i));
        }
        for i in 8..15 {
            self.set(8, size - 15 + i, bit(i));
        }
        self.set(8, size - 8, true);
    }

    fn apply_mask(&mut self, mask: u32) {
        for y in 0..self.size {
            for x in 0..self.size {
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
                if invert && !self.is_function(x, y) {
                    let index = y * self.size + x;
                    if let Some(module) = self.dark.get_mut(index) {
                        *module = !*module;
                    }
                }
            }
        }
    }

    /// Nayuki's penalty score (runs, 2×2 blocks, finder-like patterns, balance).
    fn penalty(&self) -> i64 {
        let size = self.size;
        let mut result: i64 = 0;
        for transpose in [false, true] {
            for a in 0..size {
                let mut color = false;
                let mut run: i64 = 0;
                let mut history = Finder::new(size);
                for b in 0..size {
                    let module = if transpose {
                        self.get(a, b)
                    } else {
                        self.get(b, a)
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
                result += history.finish(color, run) * 40;
            }
        }
        for y in 0..size.saturating_sub(1) {
            for x in 0..size.saturating_sub(1) {
                let color = self.get(x, y);
                if color == self.get(x + 1, y)
                    && color == self.get(x, y + 1)
                    && color == self.get(x + 1, y + 1)
                {
                    result += 3;
                }
            }
        }
        let dark = self.dark.iter().filter(|&&d| d).count() as i64;
        let total = (size * size) as i64;
        let k = ((dark * 20 - total * 10).abs() + total - 1) / total - 1;
        result + k * 10
    }
}

/// The run history of one row or column, for finder-like patterns.
struct Finder {
    size: i64,
    runs: [i64; 7],
}

impl Finder {
    fn new(size: usize) -> Self {
        Finder {
            size: size as i64,
            runs: [0; 7],
        }
    }

    fn add(&mut self, mut run: i64) {
        if self.runs[0] == 0 {
            run += self.size; // light border before the first run
        }
        self.runs.rotate_right(1);
        self.runs[0] = run;
    }

    fn count(&self) -> i64 {
        let [r0, n, r2, r3, r4, r5, r6] = self.runs;
        let core = n > 0 && r2 == n && r3 == n * 3 && r4 == n && r5 == n;
        i64::from(core && r0 >= n * 4 && r6 >= n) + i64::from(core && r6 >= n * 4 && r0 >= n)
    }

    fn finish(mut self, color: bool, mut run: i64) -> i64 {
        if color {
            self.add(run);
            run = 0;
        }
        self.add(run + self.size); // light border after the last run
        self.count()
    }
}

impl QrMatrix {
    /// Encodes `data` as v0.4 does.
    ///
    /// # Errors
    /// [`DataTooLong`] when even version 40 cannot hold it.
    pub fn encode(data: QrData<'_>) -> Result<Self, DataTooLong> {
        let segment = Segment::new(data);
        let used = |version: usize| {
            segment.as_ref().map_or(Some(0), |seg| {
                let count = seg.count_bits(version);
                (seg.chars < 1 << count).then(|| 4 + count + seg.data.0.len())
            })
        };
        let version = (1..=40)
            .find(|&v| used(v).is_some_and(|bits| bits <= data_codewords(v) * 8))
            .ok_or(DataTooLong)?;
        let capacity = data_codewords(version) * 8;

        let mut bits = Bits::default();
        if let Some(seg) = &segment {
            bits.push(seg.mode, 4);
            bits.push(seg.chars as u32, seg.count_bits(version));
            bits.0.extend_from_slice(&seg.data.0);
        }
        bits.push(0, (capacity - bits.0.len()).min(4));
        bits.push(0, bits.0.len().wrapping_neg() & 7);
        for pad in [0xEC, 0x11].into_iter().cycle() {
            if bits.0.len() >= capacity {
                break;
            }
            bits.push(pad, 8);
        }
        let data: Vec<u8> = bits
            .0
            .chunks(8)
            .map(|byte| {
                byte.iter()
                    .fold(0u8, |acc, &bit| (acc << 1) | u8::from(bit))
            })
            .collect();

        // Error correction: blocks, the short ones first, interleaved.
        let blocks = table(&BLOCKS, version);
        let ecc_len = table(&ECC_PER_BLOCK, version);
        let raw = raw_data_modules(version) / 8;
        let short_blocks = blocks - raw % blocks;
        let short_len = raw / blocks;
        let mut split = Vec::with_capacity(blocks);
        let mut rest = data.as_slice();
        for i in 0..blocks {
            let len = short_len - ecc_len + usize::from(i >= short_blocks);
            let (block, tail) = rest.split_at(len.min(rest.len()));
            rest = tail;
            let mut full = block.to_vec();
            let ecc = reed_solomon(block, ecc_len);
            if i < short_blocks {
                full.push(0); // the dummy byte skipped when interleaving
            }
            full.extend_from_slice(&ecc);
            split.push(full);
        }
        let mut codewords = Vec::with_capacity(raw);
        for i in 0..=short_len {
            for (j, block) in split.iter().enumerate() {
                if (i != short_len - ecc_len || j >= short_blocks)
                    && let Some(&byte) = block.get(i)
                {
                    codewords.push(byte);
                }
            }
        }

        // Function patterns.
        let size = version * 4 + 17;
        let mut canvas = Canvas {
            size,
            dark: vec![false; size * size],
            function: vec![false; size * size],
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
            let mut positions: Vec<usize> = (0..count - 1).map(|i| size - 7 - i * step).collect();
            positions.push(6);
            positions.reverse();
            for (i, &x) in positions.iter().enumerate() {
                for (j, &y) in positions.iter().enumerate() {
                    // The three corners hold finder patterns.
                    let corner =
                        (i == 0 && (j == 0 || j == count - 1)) || (i == count - 1 && j == 0);
                    if !corner {
                        canvas.pattern(x, y, 2, |d| d != 1);
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
        while right >= 1 {
            if right == 6 {
                right = 5;
            }
            for vertical in 0..size {
                for j in 0..2 {
                    let x = right - j;
                    let upward = (right + 1) & 2 == 0;
                    let y = if upward {
                        size - 1 - vertical
                    } else {
                        vertical
                    };
                    if !canvas.is_function(x, y) && bit < codewords.len() * 8 {
                        let byte = codewords.get(bit >> 3).copied().unwrap_or(0);
                        let index = y * size + x;
                        if let Some(module) = canvas.dark.get_mut(index) {
                            *module = (byte >> (7 - (bit & 7))) & 1 == 1;
                        }
                        bit += 1;
                    }
                }
            }
            if right < 2 {
                break;
            }
            right -= 2;
        }

        // The mask with the lowest penalty (ties: the lowest number).
        let mut best = (i64::MAX, 0);
        for mask in 0..8 {
            canvas.apply_mask(mask);
            canvas.draw_format(mask);
            let penalty = canvas.penalty();
            if penalty < best.0 {
                best = (penalty, mask);
            }
            canvas.apply_mask(mask);
        }
        canvas.apply_mask(best.1);
        canvas.draw_format(best.1);
        Ok(QrMatrix {
            size,
            dark: canvas.dark,
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
