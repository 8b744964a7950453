//! Criterion benchmarks of the wallet's and the verifier's hot paths (docs/PERFORMANCE.md).
//!
//! Run with `cargo bench -p tessera-vectors --bench credential`.
//!
//! * `es256`: one ES256 signature and one verification alone (p256 with the workspace's
//!   features), the unit cost behind the other numbers.
//! * `issue`: claims + ES256 issuer signature.
//! * `present`: holder proof + QR text + QR PNG (EC M, alphanumeric, 4 px/module), i.e. the
//!   whole "show QR" step; `present/proof_and_text` leaves out the rendering, and
//!   `present/qr_encode` and `present/png` time the two rendering steps alone.
//! * `verify_text`: verification from the QR text (Base45/zlib/CBOR decode, issuer and holder
//!   signatures, all checks).
//! * `verify_camera_frame`: QR detection and decoding in a synthetic 1280×720 greyscale
//!   camera frame, then verification; `verify_camera_frame/decode_only` is the QR reading alone.
//!
//! Every verification uses a fresh `MemoryReplayCache` (verification refuses a replayed
//! proof, and a benchmark verifies the same proof many times); creating the empty cache and
//! the one insertion it receives are part of the measured time.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use image::{GrayImage, Luma};
use p256::ecdsa::signature::Verifier;
use tessera_credential::status_list::NoStatusLists;
use tessera_credential::{
    Es256Signer, MemoryReplayCache, TrustList, VerifyOptions, verify_qr_text,
};
use tessera_vectors::{NOW, PERSON, SeededRandomness, Wallet, claims, identity, issue};

/// Pixels per module of the rendered PNG and of the QR in the camera frame.
const MODULE_PX: u32 = 4;
/// Camera frame size.
const FRAME_W: u32 = 1280;
const FRAME_H: u32 = 720;

const TIERS: [(&str, bool); 2] = [("lightweight", false), ("upgraded", true)];

fn show(wallet: &mut Wallet, upgraded: bool) -> tessera_credential::Presentation {
    if upgraded {
        wallet.show_upgraded(NOW)
    } else {
        wallet.show_lightweight(NOW)
    }
}

fn trust(wallet: &Wallet) -> TrustList {
    TrustList::single("Tessera demo issuer", wallet.issuer.public_key())
}

/// Verifies `text` at [`NOW`] with a fresh replay cache; panics if it does not verify.
fn verify_text(text: &str, trust: &TrustList, options: &VerifyOptions) {
    let mut replay = MemoryReplayCache::default();
    let verdict = verify_qr_text(text, trust, options, &NoStatusLists, &mut replay)
        .expect("the fixture verifies");
    black_box(verdict);
}

/// A realistic greyscale camera frame: the code at [`MODULE_PX`] px per module, off-centre
/// on a mid-grey background, with camera-like contrast (dark ≈ 40, light ≈ 210), a mild
/// Gaussian blur (σ = 0.8) and ±6 levels of deterministic noise.
fn camera_frame(text: &str) -> Vec<u8> {
    let code = tessera_qr::encode(text).expect("encodable");
    let qr = code.to_luma(MODULE_PX);
    assert!(qr.width() + 80 <= FRAME_W && qr.height() + 40 <= FRAME_H);
    let mut frame = GrayImage::from_pixel(FRAME_W, FRAME_H, Luma([128]));
    // Not centred and not on a multiple of the module size.
    let x0 = (FRAME_W - qr.width()) / 2 + 37;
    let y0 = (FRAME_H - qr.height()) / 2 - 13;
    for (x, y, p) in qr.enumerate_pixels() {
        let v = if p.0[0] < 128 { 40 } else { 210 };
        frame.put_pixel(x0 + x, y0 + y, Luma([v]));
    }
    let mut frame = image::imageops::blur(&frame, 0.8);
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for p in frame.pixels_mut() {
        // xorshift64
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state % 13) as i16 - 6;
        p.0[0] = (i16::from(p.0[0]) + noise).clamp(0, 255) as u8;
    }
    frame.into_raw()
}

/// Prints the QR text length and QR version of each tier (for docs/PERFORMANCE.md).
fn qr_sizes(_c: &mut Criterion) {
    let mut wallet = Wallet::standard();
    for (tier, upgraded) in TIERS {
        let text = show(&mut wallet, upgraded).to_qr_text();
        let code = tessera_qr::encode(&text).expect("encodable");
        let side = (code.width() as u32 + 2 * tessera_qr::QUIET_ZONE) * MODULE_PX;
        println!(
            "QR size {tier}: {} characters, version {}, {} modules, {side}×{side} px at {MODULE_PX} px/module",
            text.len(),
            code.version(),
            code.width(),
        );
    }
}

fn bench_es256(c: &mut Criterion) {
    let wallet = Wallet::standard();
    // A Sig_structure-sized message.
    let message = vec![0x5au8; 300];
    let public = wallet.device.public_key();
    let signature = wallet.device.sign(&message).expect("sign");
    let mut group = c.benchmark_group("es256");
    group.bench_function("sign", |b| {
        b.iter(|| black_box(wallet.device.sign(black_box(&message)).expect("sign")));
    });
    group.bench_function("verify", |b| {
        b.iter(|| {
            public
                .verify(black_box(&message), black_box(&signature))
                .expect("valid")
        });
    });
    group.finish();
}

fn bench_issue(c: &mut Criterion) {
    let wallet = Wallet::standard();
    let mut rng = SeededRandomness::new("bench-issue");
    let mut group = c.benchmark_group("issue");
    for (tier, upgraded) in TIERS {
        group.bench_function(tier, |b| {
            b.iter(|| {
                let claims = claims(
                    &wallet.device,
                    identity(&PERSON, upgraded),
                    NOW,
                    7,
                    &mut rng,
                );
                black_box(issue(claims, &wallet.issuer))
            });
        });
    }
    group.finish();
}

fn bench_present(c: &mut Criterion) {
    let mut wallet = Wallet::standard();
    let mut group = c.benchmark_group("present");
    for (tier, upgraded) in TIERS {
        group.bench_function(tier, |b| {
            b.iter(|| {
                let text = show(&mut wallet, upgraded).to_qr_text();
                let code = tessera_qr::encode(&text).expect("encodable");
                black_box(code.to_png(MODULE_PX))
            });
        });
    }
    for (tier, upgraded) in TIERS {
        group.bench_function(format!("proof_and_text/{tier}"), |b| {
            b.iter(|| black_box(show(&mut wallet, upgraded).to_qr_text()));
        });
    }
    for (tier, upgraded) in TIERS {
        let text = show(&mut wallet, upgraded).to_qr_text();
        group.bench_function(format!("qr_encode/{tier}"), |b| {
            b.iter(|| black_box(tessera_qr::encode(black_box(&text)).expect("encodable")));
        });
        let code = tessera_qr::encode(&text).expect("encodable");
        group.bench_function(format!("png/{tier}"), |b| {
            b.iter(|| black_box(code.to_png(MODULE_PX)));
        });
    }
    group.finish();
}

fn bench_verify_text(c: &mut Criterion) {
    let mut wallet = Wallet::standard();
    let trust = trust(&wallet);
    let options = VerifyOptions::at(NOW);
    let mut group = c.benchmark_group("verify_text");
    for (tier, upgraded) in TIERS {
        let text = show(&mut wallet, upgraded).to_qr_text();
        group.bench_function(tier, |b| {
            b.iter(|| verify_text(black_box(&text), &trust, &options));
        });
    }
    group.finish();
}

fn bench_verify_camera_frame(c: &mut Criterion) {
    let mut wallet = Wallet::standard();
    let trust = trust(&wallet);
    let options = VerifyOptions::at(NOW);
    let mut group = c.benchmark_group("verify_camera_frame");
    let mut frames = Vec::new();
    for (tier, upgraded) in TIERS {
        let text = show(&mut wallet, upgraded).to_qr_text();
        let frame = camera_frame(&text);
        // The frame must be readable, or the benchmark would time a failure.
        let read = tessera_qr::decode_luma(FRAME_W, FRAME_H, frame.clone())
            .unwrap_or_else(|e| panic!("{tier} camera frame unreadable: {e}"));
        assert_eq!(read, text, "{tier} camera frame misread");
        frames.push((tier, frame));
    }
    for (tier, frame) in &frames {
        // decode_luma takes the frame by value: the copy is made outside the timing.
        group.bench_function(*tier, |b| {
            b.iter_batched(
                || frame.clone(),
                |pixels| {
                    let text = tessera_qr::decode_luma(FRAME_W, FRAME_H, pixels).expect("read");
                    verify_text(&text, &trust, &options);
                },
                BatchSize::LargeInput,
            );
        });
    }
    for (tier, frame) in &frames {
        group.bench_function(format!("decode_only/{tier}"), |b| {
            b.iter_batched(
                || frame.clone(),
                |pixels| black_box(tessera_qr::decode_luma(FRAME_W, FRAME_H, pixels)),
                BatchSize::LargeInput,
            );
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(2))
        .sample_size(30);
    targets = qr_sizes, bench_es256, bench_issue, bench_present, bench_verify_text, bench_verify_camera_frame
}
criterion_main!(benches);
