//! The request's QR code (encoded by the `qrcode` crate, error correction
//! level M) drawn three ways: SVG text, PNG bytes, and Unicode half blocks
//! for terminals. Each is drawn once, when first asked for.

use once_cell::sync::OnceCell;
use qrcode::render::unicode::Dense1x2;
use qrcode::{Color, EcLevel, QrCode};

use crate::error::{Error, ErrorKind, Result};

/// Light modules around the symbol, as the QR standard asks.
const QUIET_ZONE_MODULES: usize = 4;
/// Pixels per module in the PNG (a version 10 code is 456 px square).
const PNG_MODULE_PIXELS: usize = 8;
/// Size of one module in the SVG's own units (it scales to any size).
const SVG_MODULE: usize = 8;

/// A QR code for one text, with its renderings.
pub struct Qr {
    text: String,
    code: QrCode,
    svg: OnceCell<String>,
    png: OnceCell<Vec<u8>>,
    terminal: OnceCell<String>,
}

impl std::fmt::Debug for Qr {
    // The text holds a license key: not printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Qr")
            .field("version", &self.version())
            .field("text_len", &self.text.len())
            .finish_non_exhaustive()
    }
}

impl Qr {
    /// Encodes `text` (byte mode, error correction M, the smallest version
    /// that holds it).
    pub fn new(text: &str) -> Result<Qr> {
        let code =
            QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidArgument,
                    format!(
                        "the activation request ({} bytes) does not fit in a QR code: {e}",
                        text.len()
                    ),
                )
            })?;
        Ok(Qr {
            text: text.to_string(),
            code,
            svg: OnceCell::new(),
            png: OnceCell::new(),
            terminal: OnceCell::new(),
        })
    }

    /// The text the code holds.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The QR version, 1 to 40 (the symbol is `17 + 4 × version` modules wide).
    pub fn version(&self) -> i16 {
        match self.code.version() {
            qrcode::Version::Normal(v) | qrcode::Version::Micro(v) => v,
        }
    }

    /// Modules per side, without the quiet zone.
    pub fn modules(&self) -> usize {
        self.code.width()
    }

    /// Row-major dark modules, with the quiet zone.
    fn grid(&self) -> (usize, Vec<bool>) {
        let n = self.code.width();
        let side = n + 2 * QUIET_ZONE_MODULES;
        let colors = self.code.to_colors();
        let mut grid = vec![false; side * side];
        for y in 0..n {
            for x in 0..n {
                grid[(y + QUIET_ZONE_MODULES) * side + x + QUIET_ZONE_MODULES] =
                    colors[y * n + x] == Color::Dark;
            }
        }
        (side, grid)
    }

    /// An SVG document: a white square with one black path, each row's run
    /// of dark modules one rectangle (a few kilobytes; it scales to any size).
    pub fn svg(&self) -> &str {
        self.svg.get_or_init(|| {
            let (side, grid) = self.grid();
            let px = side * SVG_MODULE;
            let mut d = String::new();
            for y in 0..side {
                let mut x = 0;
                while x < side {
                    if !grid[y * side + x] {
                        x += 1;
                        continue;
                    }
                    let start = x;
                    while x < side && grid[y * side + x] {
                        x += 1;
                    }
                    d.push_str(&format!("M{start} {y}h{}v1H{start}z", x - start));
                }
            }
            format!(
                concat!(
                    r#"<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" "#,
                    r#"viewBox="0 0 {side} {side}" shape-rendering="crispEdges">"#,
                    r##"<rect width="{side}" height="{side}" fill="#fff"/>"##,
                    r##"<path fill="#000" d="{d}"/></svg>"##,
                    "\n"
                ),
                px = px,
                side = side,
                d = d
            )
        })
    }

    /// PNG bytes: 1-bit greyscale, `PNG_MODULE_PIXELS` pixels per module,
    /// with the quiet zone.
    pub fn png(&self) -> Result<&[u8]> {
        self.png
            .get_or_try_init(|| {
                let (side, grid) = self.grid();
                let px = side * PNG_MODULE_PIXELS;
                let row = px.div_ceil(8);
                let mut data = vec![0xffu8; row * px]; // 1 = white
                for my in 0..side {
                    for mx in 0..side {
                        if !grid[my * side + mx] {
                            continue;
                        }
                        for y in my * PNG_MODULE_PIXELS..(my + 1) * PNG_MODULE_PIXELS {
                            for x in mx * PNG_MODULE_PIXELS..(mx + 1) * PNG_MODULE_PIXELS {
                                data[y * row + x / 8] &= !(0x80u8 >> (x % 8));
                            }
                        }
                    }
                }
                encode_png(px as u32, &data).map_err(|e| {
                    Error::new(ErrorKind::Internal, format!("PNG encoding failed: {e}"))
                })
            })
            .map(Vec::as_slice)
    }

    /// Unicode half blocks (`▀ ▄ █` and space), two module rows per line,
    /// with the quiet zone, one `\n` after each line. Drawn for a dark
    /// terminal background: light modules are the block characters, dark
    /// modules the spaces between them, so the code reads the right way round
    /// when the terminal's text is lighter than its background.
    pub fn terminal(&self) -> &str {
        self.terminal.get_or_init(|| {
            let mut s = self
                .code
                .render::<Dense1x2>()
                .quiet_zone(true)
                .dark_color(Dense1x2::Light)
                .light_color(Dense1x2::Dark)
                .build();
            s.push('\n');
            s
        })
    }
}

fn encode_png(side: u32, data: &[u8]) -> std::result::Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    encoder.set_compression(png::Compression::High);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(data)?;
    writer.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "https://activate.example.com/#lic1.eyJ2IjoxLCJrIjoiQUJDRC0xMjM0IiwiZiI6ImYwMGQifQ";

    #[test]
    fn version_grows_with_the_text() {
        let small = Qr::new("lic1.e30").unwrap();
        let big = Qr::new(&"x".repeat(300)).unwrap();
        assert_eq!(small.version(), 1);
        assert_eq!(small.modules(), 21);
        assert!(big.version() > 10, "{}", big.version());
        assert_eq!(big.modules(), 17 + 4 * big.version() as usize);
        let e = Qr::new(&"x".repeat(3000)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidArgument);
    }

    #[test]
    fn terminal_has_two_rows_per_line_and_the_quiet_zone() {
        let qr = Qr::new(TEXT).unwrap();
        let t = qr.terminal();
        let side = qr.modules() + 2 * QUIET_ZONE_MODULES;
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), side.div_ceil(2));
        assert!(lines.iter().all(|l| l.chars().count() == side));
        // The quiet zone is light: full blocks on the first line.
        assert!(lines[0].chars().all(|c| c == '█'), "{}", lines[0]);
        assert!(t.ends_with('\n'));
    }

    #[test]
    fn svg_is_one_path_of_runs() {
        let qr = Qr::new(TEXT).unwrap();
        let svg = qr.svg();
        let side = qr.modules() + 2 * QUIET_ZONE_MODULES;
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.contains(&format!("viewBox=\"0 0 {side} {side}\"")));
        assert_eq!(svg.matches("<path").count(), 1);
        // Every dark module is covered exactly once by the runs.
        let dark: usize = qr
            .code
            .to_colors()
            .iter()
            .filter(|c| **c == Color::Dark)
            .count();
        let d = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let covered: usize = d
            .split('h')
            .skip(1)
            .map(|s| s.split('v').next().unwrap().parse::<usize>().unwrap())
            .sum();
        assert_eq!(covered, dark);
    }

    #[test]
    fn png_is_a_1_bit_square_image() {
        let qr = Qr::new(TEXT).unwrap();
        let bytes = qr.png().unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        let side = ((qr.modules() + 2 * QUIET_ZONE_MODULES) * PNG_MODULE_PIXELS) as u32;
        assert_eq!((info.width, info.height), (side, side));
        assert_eq!(info.bit_depth, png::BitDepth::One);
        // Same bytes every time it is asked for.
        assert_eq!(qr.png().unwrap().as_ptr(), bytes.as_ptr());
    }
}
