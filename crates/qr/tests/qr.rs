//! Integration tests for `tessera-qr`: round trips, capacity, camera-like
//! frames, error handling and a small never-panic loop.

use std::io::Cursor;
use std::time::Instant;

use image::{GrayImage, ImageFormat, Luma};
use tessera_qr::{
    MAX_IMAGE_BYTES, MAX_TEXT_LEN, QUIET_ZONE, QrError, ReadError, decode_image, decode_luma,
    encode,
};

const BASE45: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// Small deterministic PRNG (xorshift64*), so tests need no extra crates.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// A Tessera-like text: `TS1:` plus random Base45 characters, `len` in total.
fn tessera_text(len: usize, seed: u64) -> String {
    let mut rng = Rng(seed | 1);
    let mut s = String::from("TS1:");
    while s.len() < len {
        s.push(BASE45[rng.below(BASE45.len() as u64) as usize] as char);
    }
    s
}

fn png_to_gray(png: &[u8]) -> GrayImage {
    let img = image::load_from_memory_with_format(png, ImageFormat::Png).expect("valid png");
    assert_eq!(
        img.color(),
        image::ColorType::L8,
        "PNG must be 8-bit greyscale"
    );
    img.into_luma8()
}

// ---------------------------------------------------------------- encoding

#[test]
fn round_trip_png_470_and_550_chars() {
    for (len, seed) in [(470, 1), (550, 2), (560, 3)] {
        let text = tessera_text(len, seed);
        let code = encode(&text).expect("encodes");
        let png = code.to_png(4);
        let gray = png_to_gray(&png);
        let side = (code.width() as u32 + 2 * QUIET_ZONE) * 4;
        assert_eq!(gray.dimensions(), (side, side));
        assert_eq!(
            decode_image(&png).as_deref(),
            Ok(text.as_str()),
            "len {len}"
        );
    }
}

#[test]
fn smallest_version_at_ec_m_in_alphanumeric_mode() {
    // Alphanumeric capacities at EC level M (ISO/IEC 18004 table 7). In byte
    // mode version 13-M holds only 331 characters, so these also show that
    // alphanumeric mode is used.
    let v = |len: usize| encode(&tessera_text(len, 7)).expect("encodes").version();
    assert_eq!(v(483), 13);
    assert_eq!(v(484), 14);
    assert_eq!(v(528), 14);
    assert_eq!(v(529), 15);
    assert_eq!(v(656), 16);
    assert_eq!(v(657), 17);
    assert_eq!(v(0), 1);
    assert_eq!(v(20), 1);
    assert_eq!(v(21), 2);
    let code = encode(&tessera_text(483, 7)).expect("encodes");
    assert_eq!(code.width(), 17 + 4 * 13);
}

#[test]
fn version_40_limit() {
    let code = encode(&tessera_text(MAX_TEXT_LEN, 9)).expect("max length fits");
    assert_eq!(code.version(), 40);
    assert_eq!(code.width(), 177);
    assert_eq!(
        encode(&tessera_text(MAX_TEXT_LEN + 1, 9)),
        Err(QrError::TooLong {
            len: MAX_TEXT_LEN + 1,
            max: MAX_TEXT_LEN
        })
    );
    assert!(matches!(
        encode(&"A".repeat(100_000)),
        Err(QrError::TooLong { len: 100_000, .. })
    ));
}

#[test]
fn lowercase_and_other_characters_are_refused_with_position() {
    assert_eq!(
        encode("TS1:ABCdEF"),
        Err(QrError::InvalidCharacter {
            ch: 'd',
            position: 7
        })
    );
    assert_eq!(
        encode("ts1:ABC"),
        Err(QrError::InvalidCharacter {
            ch: 't',
            position: 0
        })
    );
    // Positions count characters, not bytes.
    assert_eq!(
        encode("TS1:ÄB#"),
        Err(QrError::InvalidCharacter {
            ch: 'Ä',
            position: 4
        })
    );
    assert_eq!(
        encode("TS1:AB\n"),
        Err(QrError::InvalidCharacter {
            ch: '\n',
            position: 6
        })
    );
    let msg = encode("TS1:ABCdEF").unwrap_err().to_string();
    assert!(msg.contains("'d'") && msg.contains("position 7"), "{msg}");
    // Every character of the alphabet is accepted.
    let all = std::str::from_utf8(BASE45).expect("ascii");
    assert!(encode(all).is_ok());
}

#[test]
fn luma_rendering_matches_modules_and_has_quiet_zone() {
    let code = encode(&tessera_text(470, 11)).expect("encodes");
    let m = 3;
    let img = code.to_luma(m);
    let q = QUIET_ZONE;
    for (x, y, p) in img.enumerate_pixels() {
        let (mx, my) = (x / m, y / m);
        let dark = mx >= q && my >= q && code.is_dark((mx - q) as usize, (my - q) as usize);
        assert_eq!(p.0[0], if dark { 0 } else { 255 }, "pixel {x},{y}");
    }
    // Finder pattern corner is dark; outside the symbol reads as light.
    assert!(code.is_dark(0, 0));
    assert!(!code.is_dark(code.width(), 0));
    assert!(!code.is_dark(usize::MAX, usize::MAX));
    // module_px is clamped, never zero-sized or unbounded.
    assert_eq!(code.to_luma(0).width(), code.to_luma(1).width());
    assert_eq!(code.to_luma(u32::MAX).width(), code.to_luma(32).width());
    // PNG matches the luma rendering exactly.
    assert_eq!(png_to_gray(&code.to_png(m)), img);
}

#[test]
fn svg_is_minimal_and_matches_modules() {
    let code = encode(&tessera_text(470, 12)).expect("encodes");
    let svg = code.to_svg(5);
    let side = code.width() + 8;
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(svg.ends_with("</svg>"));
    assert!(svg.contains(r#"shape-rendering="crispEdges""#));
    assert!(svg.contains(&format!(r#"viewBox="0 0 {side} {side}""#)));
    assert!(svg.contains(&format!(r#"width="{0}" height="{0}""#, side * 5)));
    assert!(!svg.contains("<title"));
    // Re-draw the path's horizontal runs and compare with the modules.
    let d = svg
        .split(" d=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("path data");
    let mut grid = vec![vec![false; code.width()]; code.width()];
    for cmd in d.split('M').filter(|s| !s.is_empty()) {
        let nums: Vec<usize> = cmd
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().expect("number"))
            .collect();
        let (x, y, len) = (nums[0] - 4, nums[1] - 4, nums[2]);
        for cell in &mut grid[y][x..x + len] {
            assert!(!*cell, "overlapping runs");
            *cell = true;
        }
    }
    for (y, row) in grid.iter().enumerate() {
        for (x, &dark) in row.iter().enumerate() {
            assert_eq!(dark, code.is_dark(x, y), "module {x},{y}");
        }
    }
}

// ------------------------------------------------------------ camera frames

/// Draws `code` at `px_per_module` (fractional allowed) onto a 1280×720 grey
/// canvas, rotated by `degrees` around its centre, with bilinear sampling
/// (soft, anti-aliased edges), then blurs and adds noise.
fn camera_frame(text: &str, px_per_module: f32, degrees: f32, seed: u64) -> GrayImage {
    let code = encode(text).expect("encodes");
    let sym = code.to_luma(1); // one pixel per module incl. quiet zone
    let (w, h) = (1280u32, 720u32);
    let (cx, cy) = (w as f32 * 0.45, h as f32 * 0.55);
    let half = sym.width() as f32 * px_per_module / 2.0;
    let (sin, cos) = degrees.to_radians().sin_cos();
    // Paper is light grey, ink dark grey, background mid grey.
    let ink = |v: u8| if v == 0 { 45.0 } else { 215.0 };
    let sample = |u: f32, v: f32| -> Option<f32> {
        let n = sym.width() as f32;
        if !(0.0..n).contains(&u) || !(0.0..n).contains(&v) {
            return None;
        }
        Some(ink(sym.get_pixel(u as u32, v as u32).0[0]))
    };
    let mut frame = GrayImage::from_fn(w, h, |x, y| {
        // 2×2 supersampling per pixel for anti-aliasing.
        let mut acc = 0.0;
        for (ox, oy) in [(0.25, 0.25), (0.75, 0.25), (0.25, 0.75), (0.75, 0.75)] {
            let (dx, dy) = (x as f32 + ox - cx, y as f32 + oy - cy);
            // Inverse rotation into symbol space.
            let (rx, ry) = (cos * dx + sin * dy, -sin * dx + cos * dy);
            let (u, v) = ((rx + half) / px_per_module, (ry + half) / px_per_module);
            acc += sample(u, v).unwrap_or(128.0 + (x as f32 / 40.0));
        }
        Luma([(acc / 4.0).round().clamp(0.0, 255.0) as u8])
    });
    frame = image::imageops::blur(&frame, 0.8);
    let mut rng = Rng(seed | 1);
    for p in frame.pixels_mut() {
        let noise = (rng.unit() - 0.5) * 16.0; // ±8 grey levels
        p.0[0] = (f32::from(p.0[0]) + noise).round().clamp(0.0, 255.0) as u8;
    }
    frame
}

fn to_jpeg(img: &GrayImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .expect("jpeg encodes");
    out
}

#[test]
fn camera_frame_jpeg_and_raw_luma() {
    for (len, seed) in [(470, 21), (550, 22)] {
        let text = tessera_text(len, seed);
        let frame = camera_frame(&text, 4.0, 3.0, seed);
        let jpeg = to_jpeg(&frame, 85);
        assert_eq!(
            decode_image(&jpeg).as_deref(),
            Ok(text.as_str()),
            "JPEG, {len} chars"
        );
        let (w, h) = frame.dimensions();
        assert_eq!(
            decode_luma(w, h, frame.into_raw()).as_deref(),
            Ok(text.as_str()),
            "raw luma, {len} chars"
        );
    }
}

#[test]
fn camera_frame_small_modules() {
    // ≈ 3 px per module, slight rotation: still readable per RECIPES.md.
    let text = tessera_text(550, 23);
    let frame = camera_frame(&text, 3.0, 2.0, 23);
    assert_eq!(
        decode_image(&to_jpeg(&frame, 85)).as_deref(),
        Ok(text.as_str())
    );
}

#[test]
fn transparent_png_reads_as_white_background() {
    // Dark modules opaque black, light modules fully transparent *black*:
    // a naive luma conversion would see an all-black image.
    let text = tessera_text(470, 31);
    let code = encode(&text).expect("encodes");
    let luma = code.to_luma(4);
    let rgba = image::RgbaImage::from_fn(luma.width(), luma.height(), |x, y| {
        let dark = luma.get_pixel(x, y).0[0] == 0;
        image::Rgba([0, 0, 0, if dark { 255 } else { 0 }])
    });
    let mut png = Vec::new();
    rgba.write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .expect("png");
    assert_eq!(decode_image(&png).as_deref(), Ok(text.as_str()));
}

// ------------------------------------------------------------------ errors

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn not_an_image() {
    assert_eq!(decode_image(&[]), Err(ReadError::NotAnImage));
    assert_eq!(decode_image(b"TS1:ABC"), Err(ReadError::NotAnImage));
    let mut rng = Rng(41);
    let random: Vec<u8> = (0..4096).map(|_| rng.next() as u8).collect();
    assert_eq!(decode_image(&random), Err(ReadError::NotAnImage));
    // Truncated PNG: header intact, image data cut off.
    let png = encode(&tessera_text(470, 42)).expect("encodes").to_png(4);
    for cut in [8, 33, 60, png.len() / 2, png.len() - 13] {
        assert_eq!(
            decode_image(&png[..cut]),
            Err(ReadError::NotAnImage),
            "cut at {cut}"
        );
    }
    // Other formats are not accepted even if `image` could read them.
    let gif_magic = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;";
    assert_eq!(decode_image(gif_magic), Err(ReadError::NotAnImage));
}

#[test]
fn blank_images_have_no_qr_code() {
    let white = GrayImage::from_pixel(640, 480, Luma([255]));
    let mut png = Vec::new();
    white
        .write_to(&mut Cursor::new(&mut png), ImageFormat::Png)
        .expect("png");
    assert_eq!(decode_image(&png), Err(ReadError::NoQrCode));
    assert_eq!(decode_image(&to_jpeg(&white, 85)), Err(ReadError::NoQrCode));
    assert_eq!(
        decode_luma(640, 480, white.into_raw()),
        Err(ReadError::NoQrCode)
    );
    assert_eq!(decode_luma(1, 1, vec![0]), Err(ReadError::NoQrCode));
}

#[test]
fn oversized_images_are_refused_before_decoding() {
    // A valid PNG header claiming 10000 × 10000 pixels (100 MP).
    let png = encode("TS1:A").expect("encodes").to_png(1);
    let mut forged = png.clone();
    forged[16..20].copy_from_slice(&10_000u32.to_be_bytes());
    forged[20..24].copy_from_slice(&10_000u32.to_be_bytes());
    let crc = crc32(&forged[12..29]);
    forged[29..33].copy_from_slice(&crc.to_be_bytes());
    assert_eq!(decode_image(&forged), Err(ReadError::ImageTooLarge));
    // More bytes than MAX_IMAGE_BYTES: refused without looking inside.
    let mut huge = png;
    huge.resize(MAX_IMAGE_BYTES + 1, 0);
    assert_eq!(decode_image(&huge), Err(ReadError::ImageTooLarge));
    // Raw frames: declared size checked before the buffer.
    assert_eq!(
        decode_luma(10_000, 10_000, Vec::new()),
        Err(ReadError::ImageTooLarge)
    );
    assert_eq!(
        decode_luma(u32::MAX, u32::MAX, Vec::new()),
        Err(ReadError::ImageTooLarge)
    );
}

#[test]
fn wrong_frame_sizes() {
    assert_eq!(
        decode_luma(4, 4, vec![0; 15]),
        Err(ReadError::FrameSizeMismatch {
            width: 4,
            height: 4,
            expected: 16,
            actual: 15
        })
    );
    assert!(matches!(
        decode_luma(0, 4, vec![0; 4]),
        Err(ReadError::FrameSizeMismatch { .. })
    ));
    assert_eq!(decode_luma(0, 0, Vec::new()), Err(ReadError::NotAnImage));
}

#[test]
fn decode_never_panics_on_garbage() {
    let mut rng = Rng(0xDEC0DE);
    let png = encode(&tessera_text(470, 51)).expect("encodes").to_png(2);
    let jpeg = to_jpeg(&camera_frame(&tessera_text(470, 52), 2.0, 0.0, 52), 85);
    let mut ok = 0;
    for i in 0..300 {
        let input: Vec<u8> = match i % 4 {
            // Pure noise of random length.
            0 => (0..rng.below(2048)).map(|_| rng.next() as u8).collect(),
            // A valid magic number followed by noise.
            1 => {
                let magic: &[u8] = if rng.below(2) == 0 {
                    b"\x89PNG\r\n\x1a\n"
                } else {
                    b"\xff\xd8\xff\xe0"
                };
                let mut v = magic.to_vec();
                v.extend((0..rng.below(1024)).map(|_| rng.next() as u8));
                v
            }
            // Valid images with a few bytes flipped (decoders get deep).
            _ => {
                let mut v = if i % 4 == 2 {
                    png.clone()
                } else {
                    jpeg.clone()
                };
                for _ in 0..=rng.below(8) {
                    let at = rng.below(v.len() as u64) as usize;
                    v[at] ^= 1 << rng.below(8);
                }
                if rng.below(4) == 0 {
                    v.truncate(rng.below(v.len() as u64) as usize);
                }
                v
            }
        };
        if decode_image(&input).is_ok() {
            ok += 1;
        }
    }
    // Sanity: some mutated images still decode (the loop reaches the QR
    // decoder, not just the format check).
    assert!(ok > 0, "no mutated image decoded at all");
    for _ in 0..50 {
        let (w, h) = (1 + rng.below(200) as u32, 1 + rng.below(200) as u32);
        let pixels = (0..w * h).map(|_| rng.next() as u8).collect();
        assert!(decode_luma(w, h, pixels).is_err());
    }
}

// ------------------------------------------------------------------ timing

/// `cargo test --release -p tessera-qr -- --ignored --nocapture timing`
#[test]
#[ignore = "timing only; run in release mode"]
fn timing() {
    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }
    let text = tessera_text(470, 61);
    let runs = 50;
    let mut enc = Vec::new();
    let mut enc_png = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let code = encode(&text).expect("encodes");
        enc.push(t.elapsed().as_secs_f64() * 1e3);
        let png = code.to_png(4);
        enc_png.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(!png.is_empty());
    }
    let frame = camera_frame(&text, 4.0, 3.0, 61);
    let (w, h) = frame.dimensions();
    let raw = frame.into_raw();
    let mut dec = Vec::new();
    for _ in 0..runs {
        let px = raw.clone();
        let t = Instant::now();
        let out = decode_luma(w, h, px);
        dec.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(out.as_deref(), Ok(text.as_str()));
    }
    let jpeg = to_jpeg(&GrayImage::from_raw(w, h, raw).expect("frame"), 85);
    let mut dec_jpeg = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let out = decode_image(&jpeg);
        dec_jpeg.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(out.as_deref(), Ok(text.as_str()));
    }
    println!(
        "median of {runs}: encode {:.2} ms, encode+to_png(4) {:.2} ms, \
         decode_luma 1280x720 {:.2} ms, decode_image JPEG 1280x720 {:.2} ms",
        median(enc),
        median(enc_png),
        median(dec),
        median(dec_jpeg)
    );
}
