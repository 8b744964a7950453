//! QR codes for Tessera presentations.
//!
//! This crate does two things:
//!
//! * **Render** a Tessera QR text (`TS1:` followed by Base45, usually
//!   470–560 characters) as a QR code: [`encode`] always uses the
//!   *alphanumeric* mode at error-correction level *M* with the smallest
//!   version that fits, and the resulting [`QrCode`] can be drawn as SVG,
//!   PNG or a greyscale [`image::GrayImage`].
//! * **Read** such a text back from a camera image: [`decode_image`] takes the
//!   bytes of a PNG or JPEG, [`decode_luma`] takes a raw 8-bit greyscale
//!   camera frame.
//!
//! What it must never do:
//!
//! * **No file or network I/O.** Callers pass bytes in and get bytes or
//!   strings out; the crate never opens paths, sockets or devices.
//! * **Never panic, on any input.** Every failure is a [`QrError`] or a
//!   [`ReadError`]; image sizes are bounded before anything large is
//!   allocated ([`MAX_IMAGE_BYTES`], [`MAX_IMAGE_PIXELS`]), and the
//!   third-party decoders are additionally run behind
//!   [`std::panic::catch_unwind`] as a last line of defence (this only helps
//!   when the final binary unwinds on panic, which is Rust's default).
//!
//! The crate does not interpret the text: checking the `TS1:` prefix, Base45
//! decoding and signature verification happen elsewhere.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::fmt::Write as _;
use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use image::{DynamicImage, GrayImage, ImageDecoder, ImageFormat, ImageReader, Limits, Luma};
use qrcode::bits::Bits;
use qrcode::{Color, EcLevel, Version};

/// Width of the light border drawn around every rendered code, in modules.
pub const QUIET_ZONE: u32 = 4;

/// Largest `module_px` used by the raster renderers ([`QrCode::to_png`],
/// [`QrCode::to_luma`]); larger values are clamped to this, and 0 is treated
/// as 1. A version-40 code at this size is 5920 × 5920 pixels (≈ 35 MB).
pub const MAX_MODULE_PX: u32 = 32;

/// Most characters a version-40 code holds in alphanumeric mode at EC level M.
pub const MAX_TEXT_LEN: usize = 3391;

/// [`decode_image`] refuses encoded images larger than this many bytes.
pub const MAX_IMAGE_BYTES: usize = 50 * 1024 * 1024;

/// [`decode_image`] and [`decode_luma`] refuse images with more pixels than
/// this (40 megapixels).
pub const MAX_IMAGE_PIXELS: u64 = 40_000_000;

/// Why a text could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// The text contains a character outside the QR alphanumeric set
    /// (`0-9 A-Z`, space and `$ % * + - . / :`).
    #[error(
        "character {ch:?} at position {position} is not in the QR alphanumeric set (0-9 A-Z space $ % * + - . / :)"
    )]
    InvalidCharacter {
        /// The offending character.
        ch: char,
        /// Its 0-based position, counted in characters (equal to the byte
        /// offset when everything before it is ASCII).
        position: usize,
    },
    /// The text does not fit into a version-40 code at EC level M.
    #[error("text of {len} characters is too long for a QR code (at most {max} at EC level M)")]
    TooLong {
        /// Length of the text, in characters.
        len: usize,
        /// The largest length that fits ([`MAX_TEXT_LEN`]).
        max: usize,
    },
}

/// Why no text could be read from an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// The bytes are not a PNG or JPEG image, or the image is corrupt.
    #[error("not a readable PNG or JPEG image")]
    NotAnImage,
    /// The image exceeds [`MAX_IMAGE_BYTES`] or [`MAX_IMAGE_PIXELS`] (or
    /// would need too much memory to decode); it was not decoded.
    #[error("image too large (limits: {MAX_IMAGE_BYTES} bytes, {MAX_IMAGE_PIXELS} pixels)")]
    ImageTooLarge,
    /// The pixel buffer given to [`decode_luma`] does not hold exactly
    /// `width × height` bytes.
    #[error("frame of {width}x{height} needs {expected} bytes, got {actual}")]
    FrameSizeMismatch {
        /// Declared width in pixels.
        width: u32,
        /// Declared height in pixels.
        height: u32,
        /// `width × height`.
        expected: u64,
        /// Length of the buffer that was passed.
        actual: usize,
    },
    /// The image was decoded but no readable QR code was found in it.
    #[error("no readable QR code found in the image")]
    NoQrCode,
}

/// An encoded QR code (always alphanumeric mode, EC level M).
#[derive(Clone, PartialEq, Eq)]
pub struct QrCode {
    version: u8,
    width: usize,
    /// Row-major, `width × width`, `true` = dark.
    modules: Vec<bool>,
}

impl std::fmt::Debug for QrCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QrCode")
            .field("version", &self.version)
            .field("width", &self.width)
            .finish_non_exhaustive()
    }
}

/// Returns whether `c` is in the QR alphanumeric character set.
fn is_alphanumeric(c: char) -> bool {
    matches!(c, '0'..='9' | 'A'..='Z' | ' ' | '$' | '%' | '*' | '+' | '-' | '.' | '/' | ':')
}

/// Encodes `text` as a QR code in alphanumeric mode at EC level M, using the
/// smallest version (1–40) that holds it.
///
/// # Errors
///
/// [`QrError::InvalidCharacter`] for the first character outside the
/// alphanumeric set (lowercase letters included), [`QrError::TooLong`] if the
/// text exceeds [`MAX_TEXT_LEN`] characters.
pub fn encode(text: &str) -> Result<QrCode, QrError> {
    if let Some((position, ch)) = text.chars().enumerate().find(|&(_, c)| !is_alphanumeric(c)) {
        return Err(QrError::InvalidCharacter { ch, position });
    }
    // All characters are ASCII from here on, so bytes == characters.
    let data = text.as_bytes();
    let too_long = || QrError::TooLong {
        len: data.len(),
        max: MAX_TEXT_LEN,
    };
    if data.len() > MAX_TEXT_LEN {
        return Err(too_long());
    }
    for v in 1..=40u8 {
        let mut bits = Bits::new(Version::Normal(i16::from(v)));
        if bits.push_alphanumeric_data(data).is_err() || bits.push_terminator(EcLevel::M).is_err() {
            continue;
        }
        let code = qrcode::QrCode::with_bits(bits, EcLevel::M).map_err(|_| too_long())?;
        let width = code.width();
        let modules = code
            .into_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        return Ok(QrCode {
            version: v,
            width,
            modules,
        });
    }
    Err(too_long())
}

fn clamp_module_px(module_px: u32) -> u32 {
    module_px.clamp(1, MAX_MODULE_PX)
}

impl QrCode {
    /// QR version, 1–40.
    #[must_use]
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Modules per side, without the quiet zone (`17 + 4 × version`).
    #[must_use]
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether the module at column `x`, row `y` is dark. Coordinates outside
    /// the symbol (e.g. in the quiet zone) are light.
    #[must_use]
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.width && self.modules.get(y * self.width + x) == Some(&true)
    }

    /// Side length in pixels of a rendering with the quiet zone.
    fn side_px(&self, module_px: u32) -> u64 {
        (self.width as u64 + 2 * u64::from(QUIET_ZONE)) * u64::from(module_px)
    }

    /// A minimal SVG (no `<title>`, no XML prolog): a white background and
    /// one black path, [`QUIET_ZONE`] modules of border,
    /// `shape-rendering="crispEdges"`. The drawing is in module units
    /// (`viewBox`); `module_px` only sets the `width`/`height` attributes
    /// (0 is treated as 1, no upper clamp).
    #[must_use]
    pub fn to_svg(&self, module_px: u32) -> String {
        let side = self.width as u64 + 2 * u64::from(QUIET_ZONE);
        let px = self.side_px(module_px.max(1));
        let mut svg = String::with_capacity(64 + self.width * self.width * 4);
        let _ = write!(
            svg,
            r##"<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" viewBox="0 0 {side} {side}" shape-rendering="crispEdges"><rect width="{side}" height="{side}" fill="#fff"/><path fill="#000" d=""##
        );
        let q = QUIET_ZONE as usize;
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if !self.is_dark(x, y) {
                    x += 1;
                    continue;
                }
                let start = x;
                while x < self.width && self.is_dark(x, y) {
                    x += 1;
                }
                let _ = write!(
                    svg,
                    "M{} {}h{}v1h-{}z",
                    start + q,
                    y + q,
                    x - start,
                    x - start
                );
            }
        }
        svg.push_str(r#""/></svg>"#);
        svg
    }

    /// Greyscale image (black on white) with [`QUIET_ZONE`] modules of
    /// border, `module_px` pixels per module (clamped to
    /// 1..=[`MAX_MODULE_PX`]).
    #[must_use]
    pub fn to_luma(&self, module_px: u32) -> GrayImage {
        let m = clamp_module_px(module_px);
        // At most (177 + 8) × 32 = 5920, so this fits a u32.
        let side = u32::try_from(self.side_px(m)).unwrap_or(u32::MAX);
        let q = QUIET_ZONE;
        GrayImage::from_fn(side, side, |px, py| {
            let (mx, my) = (px / m, py / m);
            let dark = mx >= q && my >= q && self.is_dark((mx - q) as usize, (my - q) as usize);
            Luma([if dark { 0 } else { 255 }])
        })
    }

    /// 8-bit greyscale PNG of [`QrCode::to_luma`] (same border and clamping).
    ///
    /// Writing a PNG into memory cannot fail for these images; should the
    /// encoder ever report an error anyway, the result is empty rather than
    /// a panic.
    #[must_use]
    pub fn to_png(&self, module_px: u32) -> Vec<u8> {
        let img = self.to_luma(module_px);
        let mut out = Cursor::new(Vec::new());
        match img.write_to(&mut out, ImageFormat::Png) {
            Ok(()) => out.into_inner(),
            Err(_) => Vec::new(),
        }
    }
}

/// Reads the text of the QR code in a PNG or JPEG image.
///
/// Colour images are converted to luma (transparent pixels count as white).
/// Images above [`MAX_IMAGE_BYTES`] or [`MAX_IMAGE_PIXELS`] are refused
/// before their pixels are decoded.
///
/// # Errors
///
/// [`ReadError::NotAnImage`], [`ReadError::ImageTooLarge`] or
/// [`ReadError::NoQrCode`].
pub fn decode_image(bytes: &[u8]) -> Result<String, ReadError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ReadError::ImageTooLarge);
    }
    let img = catch_unwind(AssertUnwindSafe(|| load_image(bytes)))
        .unwrap_or(Err(ReadError::NotAnImage))?;
    let (width, height) = (img.width(), img.height());
    let luma = if img.color().has_alpha() {
        flatten_on_white(&img)
    } else {
        img.into_luma8()
    };
    decode_luma(width, height, luma.into_raw())
}

fn load_image(bytes: &[u8]) -> Result<DynamicImage, ReadError> {
    let format = image::guess_format(bytes).map_err(|_| ReadError::NotAnImage)?;
    if !matches!(format, ImageFormat::Png | ImageFormat::Jpeg) {
        return Err(ReadError::NotAnImage);
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(65_535);
    limits.max_image_height = Some(65_535);
    // Worst case is 16-bit RGBA (8 bytes per pixel) at the pixel limit,
    // plus the decoders' working buffers.
    limits.max_alloc = Some(MAX_IMAGE_PIXELS * 8 + 64 * 1024 * 1024);
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(limits);
    let decoder = reader.into_decoder().map_err(map_image_error)?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_IMAGE_PIXELS {
        return Err(ReadError::ImageTooLarge);
    }
    if w == 0 || h == 0 {
        return Err(ReadError::NotAnImage);
    }
    DynamicImage::from_decoder(decoder).map_err(map_image_error)
}

fn map_image_error(e: image::ImageError) -> ReadError {
    match e {
        image::ImageError::Limits(_) => ReadError::ImageTooLarge,
        _ => ReadError::NotAnImage,
    }
}

/// Converts to luma, compositing any transparency onto white.
fn flatten_on_white(img: &DynamicImage) -> GrayImage {
    let la = img.to_luma_alpha8();
    GrayImage::from_fn(la.width(), la.height(), |x, y| {
        let [l, a] = la.get_pixel(x, y).0;
        let (l, a) = (u16::from(l), u16::from(a));
        // l·a + 255·(255 − a), divided by 255: stays within 0..=255.
        Luma([((l * a + 255 * (255 - a) + 127) / 255) as u8])
    })
}

/// Reads the text of the QR code in an 8-bit greyscale camera frame
/// (`pixels` row-major, exactly `width × height` bytes, 0 = black).
///
/// # Errors
///
/// [`ReadError::FrameSizeMismatch`] if the buffer length is wrong (including
/// a zero width or height with a non-empty buffer), [`ReadError::NotAnImage`]
/// for an empty frame, [`ReadError::ImageTooLarge`] above
/// [`MAX_IMAGE_PIXELS`], [`ReadError::NoQrCode`] if nothing is found.
pub fn decode_luma(width: u32, height: u32, pixels: Vec<u8>) -> Result<String, ReadError> {
    let expected = u64::from(width) * u64::from(height);
    if expected > MAX_IMAGE_PIXELS {
        return Err(ReadError::ImageTooLarge);
    }
    if pixels.len() as u64 != expected {
        return Err(ReadError::FrameSizeMismatch {
            width,
            height,
            expected,
            actual: pixels.len(),
        });
    }
    if expected == 0 {
        return Err(ReadError::NotAnImage);
    }
    let found = catch_unwind(AssertUnwindSafe(|| {
        let mut hints = rxing::DecodeHints {
            TryHarder: Some(true),
            ..Default::default()
        };
        rxing::helpers::detect_in_luma_with_hints(
            pixels,
            width,
            height,
            Some(rxing::BarcodeFormat::QR_CODE),
            &mut hints,
        )
        .map(|r| r.getText().to_owned())
    }));
    match found {
        Ok(Ok(text)) => Ok(text),
        Ok(Err(_)) | Err(_) => Err(ReadError::NoQrCode),
    }
}
