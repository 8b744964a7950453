//! The desk's face check, frames received → outcome (not in the default run): base64
//! decoding, the size checks, decoding the portrait and three 640×480 JPEG frames (what the
//! desk page sends), quality
//! gates, templates and the comparison, with the models loaded once — everything the
//! handler does after the JSON is parsed, except fetching the portrait from the issuer
//! (one loopback or LAN request). Two ways: with the portrait's template prepared while the
//! camera captured (`POST /api/face-check/{id}/reference`, what the desk page does), and
//! with the portrait decoded and analysed in the check itself.
//!
//! `cargo bench -p tessera-verify --bench face_check`

use std::time::Instant;

use base64::Engine;
use tessera_face::analysis::FaceAnalyzer;
use tessera_face::comparison::Outcome;
use tessera_face::comparison::reference_template;
use tessera_face::source::decode_image_bytes;
use tessera_verify::desk::face_check::{decode_frames, judge, judge_prepared};

const RUNS: usize = 200;
/// As the desk page sends (`crates/verify/web/app.js`, `FACE_FRAMES`).
const FRAMES: usize = 3;

fn testdata(rel: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../face/testdata")
            .join(rel),
    )
    .unwrap()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let started = Instant::now();
    let faces = FaceAnalyzer::load().unwrap();
    println!(
        "models loaded once in {:.0} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let portrait = testdata("photos/obama.jpg");
    for (person, expected) in [
        ("obama", Outcome::SamePerson),
        ("biden", Outcome::NotSamePerson),
    ] {
        let frames: Vec<String> = (0..FRAMES)
            .map(|i| {
                base64::engine::general_purpose::STANDARD
                    .encode(testdata(&format!("liveness/{person}/front/{i:02}.jpg")))
            })
            .collect();
        let reference = reference_template(&faces, &decode_image_bytes(&portrait).unwrap())
            .unwrap()
            .unwrap();
        for prepared in [true, false] {
            let mut ms = Vec::with_capacity(RUNS);
            for _ in 0..RUNS {
                let t = Instant::now();
                let decoded = decode_frames(frames.clone()).unwrap();
                let c = if prepared {
                    judge_prepared(&faces, &reference, decoded).unwrap()
                } else {
                    judge(&faces, &portrait, decoded).unwrap()
                };
                ms.push(t.elapsed().as_secs_f64() * 1e3);
                assert_eq!(c.outcome, expected);
            }
            ms.sort_by(f64::total_cmp);
            println!(
                "face check, {FRAMES} frames 640×480 of {person} against obama.jpg ({expected:?}), {}, {RUNS} runs: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                if prepared {
                    "portrait template prepared while the camera captured"
                } else {
                    "portrait decoded and analysed in the check"
                },
                percentile(&ms, 0.5),
                percentile(&ms, 0.99),
                ms[ms.len() - 1]
            );
        }
    }
}
