//! Face pipeline benchmarks on the committed 640×480 liveness frames.
//!
//! Goals (one core): detection + quality ≤ 20 ms per 640×480 frame, alignment + embedding
//! ≤ 50 ms. tract runs single-threaded, so one iteration of those uses one core; the whole
//! answers (`check_answer`) spread their frames over every core.

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use tessera_face::Frame;
use tessera_face::align;
use tessera_face::analysis::FaceAnalyzer;
use tessera_face::liveness::{Action, Challenge, Rules, Session};
use tessera_face::models::{Detector, Recognizer};
use tessera_face::source::load_image_file;

fn frame(rel: &str) -> Frame {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel);
    load_image_file(&path).expect("committed test frame")
}

fn benches(c: &mut Criterion) {
    let analyzer = FaceAnalyzer::load().expect("models load");
    let detector = Detector::load().expect("detector loads");
    let recognizer = Recognizer::load().expect("recognizer loads");
    let front = frame("liveness/obama/front/00.jpg");
    assert_eq!((front.width, front.height), (640, 480));
    let face = detector.detect(&front).expect("detects")[0];

    c.bench_function("detection + quality, 640x480 frame", |b| {
        b.iter(|| black_box(analyzer.quality(black_box(&front)).expect("runs")))
    });

    // One liveness step: detection, motion against the last frame, the eye mesh on a frontal
    // face, and the session's state machine.
    let blink = frame("liveness/obama/blink/02.jpg");
    c.bench_function("liveness step, 640x480 frame", |b| {
        let challenge = Challenge {
            nonce: [0; 16],
            actions: vec![Action::Front, Action::Blink],
            issued_at: 0,
            expires_at: u64::MAX,
        };
        let mut session = Session::new(challenge, Rules::default());
        let mut previous = Some(front.luma());
        let mut at = 0;
        b.iter(|| {
            at += 1;
            let o = analyzer
                .observe(black_box(&blink), at, &mut previous)
                .expect("runs");
            black_box(session.observe(&o))
        })
    });

    c.bench_function("alignment + embedding", |b| {
        b.iter(|| {
            let aligned = align::align(black_box(&front), &face.landmarks).expect("aligns");
            black_box(recognizer.embed(&aligned).expect("embeds"))
        })
    });

    c.bench_function(
        "template of a 640x480 frame (detect + align + embed)",
        |b| b.iter(|| black_box(analyzer.template(black_box(&front)).expect("one face"))),
    );
}

/// A whole answer as the issuer receives it: JPEG bytes, judged by `check_answer` on rayon's
/// pool (all cores), for the whole recording and for the wallet's evidence of it.
fn answers(c: &mut Criterion) {
    let analyzer = FaceAnalyzer::load().expect("models load");
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/liveness/obama");
    let challenge = Challenge {
        nonce: [0; 16],
        actions: vec![
            Action::Front,
            Action::TurnLeft,
            Action::TurnRight,
            Action::Blink,
        ],
        issued_at: 0,
        expires_at: u64::MAX,
    };
    let whole: Vec<Vec<u8>> = ["front", "left", "right", "blink"]
        .iter()
        .flat_map(|a| tessera_face::source::image_files(&base.join(a)).expect("frames"))
        .map(|p| std::fs::read(p).expect("frame"))
        .collect();
    let report = analyzer.check_answer(&challenge, &whole, 1).expect("runs");
    assert!(report.verdict.passed);
    let evidence: Vec<Vec<u8>> = report.evidence.iter().map(|&i| whole[i].clone()).collect();
    for (name, frames) in [("whole recording", &whole), ("evidence", &evidence)] {
        let label = format!("check_answer, {name} ({} frames)", frames.len());
        c.bench_function(&label, |b| {
            b.iter(|| {
                let r = analyzer
                    .check_answer(&challenge, black_box(frames), 1)
                    .expect("runs");
                assert!(r.verdict.passed);
                black_box(r)
            })
        });
    }
}

criterion_group! {
    name = face;
    config = Criterion::default().sample_size(30);
    targets = benches, answers
}
criterion_main!(face);
