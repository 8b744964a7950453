//! A whole answer judged at once (`FaceAnalyzer::check_answer`) on the committed frame
//! sequences, all six orders for each of the three people: it agrees with the frame-by-frame
//! check, its evidence alone passes again with fewer frames, its templates are the person's
//! and come from the frames that completed *front* and *blink*; attacks and bad frames fail.

use std::path::Path;
use tessera_face::Detection;
use tessera_face::analysis::{FaceAnalyzer, FaceError};
use tessera_face::liveness::{Action, Challenge, Failure};
use tessera_face::source::{CaptureError, ReplaySource, image_files, load_image_file};
use tessera_face::template::MATCH_THRESHOLD;

fn encoded(person: &str, folders: &[&str]) -> Vec<Vec<u8>> {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/liveness")
        .join(person);
    folders
        .iter()
        .flat_map(|f| image_files(&base.join(f)).unwrap())
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

fn challenge(actions: &[Action]) -> Challenge {
    Challenge {
        nonce: [1; 16],
        actions: actions.to_vec(),
        issued_at: 0,
        expires_at: 1000,
    }
}

fn folder(a: Action) -> &'static str {
    match a {
        Action::Front => "front",
        Action::TurnLeft => "left",
        Action::TurnRight => "right",
        Action::Blink => "blink",
    }
}

/// The six orders `Challenge::from_random` draws (its last random byte picks one).
fn orders() -> Vec<Vec<Action>> {
    (0..6u8)
        .map(|order| {
            let mut random = [0u8; 17];
            random[16] = order;
            Challenge::from_random(random, 0, 1000).actions
        })
        .collect()
}

fn detection_of(analyzer: &FaceAnalyzer, bytes: &[u8]) -> Detection {
    let frame = tessera_face::source::decode_image_bytes(bytes).unwrap();
    analyzer.detect(&frame).unwrap()[0]
}

#[test]
fn answers_pass_with_their_evidence_alone_and_match_the_person() {
    let analyzer = FaceAnalyzer::load().unwrap();
    let registry = |p: &str| {
        let photo = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("testdata/photos/{p}.jpg"));
        analyzer
            .template(&load_image_file(&photo).unwrap())
            .unwrap()
            .template
    };
    let orders = orders();
    for (n, a) in orders.iter().enumerate() {
        assert!(
            orders[n + 1..].iter().all(|b| a != b),
            "six different orders"
        );
    }
    for person in ["obama", "biden", "astronaut"] {
        let reference = registry(person);
        for (n, actions) in orders.iter().enumerate() {
            let c = challenge(actions);
            let folders: Vec<&str> = actions.iter().map(|a| folder(*a)).collect();
            let frames = encoded(person, &folders);
            let report = analyzer.check_answer(&c, &frames, 10).unwrap();
            assert!(
                report.verdict.passed,
                "{person} {actions:?}: {:?}",
                report.verdict
            );
            if n == 0 || n == 5 {
                // The same verdict as frame by frame (slow in a debug build: two orders).
                let sequential = analyzer
                    .check_liveness(
                        &c,
                        &mut ReplaySource::from_encoded(frames.clone()),
                        100,
                        &mut || 10,
                    )
                    .unwrap();
                assert_eq!(report.verdict, sequential, "{person} {actions:?}");
            }
            assert_eq!(report.roles.len(), frames.len());

            let evidence = &report.evidence;
            assert!(evidence.windows(2).all(|w| w[0] < w[1]), "in order");
            assert!(
                evidence.len() < frames.len(),
                "{person} {actions:?}: {} of {} frames",
                evidence.len(),
                frames.len()
            );
            let subset: Vec<Vec<u8>> = evidence.iter().map(|&i| frames[i].clone()).collect();
            let again = analyzer.check_answer(&c, &subset, 10).unwrap();
            assert!(
                again.verdict.passed,
                "{person} {actions:?}: the evidence alone must pass: {:?}",
                again.verdict
            );

            // The faces matched are those of the frames that completed *front* and *blink*.
            let completed = |action: Action| {
                let step = actions.iter().position(|a| *a == action).unwrap();
                let i = report
                    .roles
                    .iter()
                    .position(|r| r.completed && r.step == step)
                    .unwrap();
                detection_of(&analyzer, &frames[i])
            };
            assert_eq!(
                report.first.as_ref().unwrap().detection,
                completed(Action::Front)
            );
            assert_eq!(
                report.last.as_ref().unwrap().detection,
                completed(Action::Blink)
            );
            for t in [&report.first, &report.last, &again.first, &again.last] {
                let s = t.as_ref().unwrap().template.similarity(&reference);
                assert!(s >= MATCH_THRESHOLD, "{person} {actions:?}: {s}");
            }
        }
    }
}

/// A registry photo held up for *front*, then a live stranger doing the rest: the face that
/// completed the blink is the stranger's, and it does not match.
#[test]
fn a_photo_for_front_does_not_carry_a_strangers_answer() {
    use Action::*;
    let analyzer = FaceAnalyzer::load().unwrap();
    let photo = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/photos/obama.jpg");
    let obama = analyzer
        .template(&load_image_file(&photo).unwrap())
        .unwrap()
        .template;
    let c = challenge(&[Front, Blink, TurnLeft, TurnRight]);
    let mut frames = encoded("obama", &["front"]);
    frames.truncate(1);
    frames.extend(encoded("biden", &["front", "blink", "left", "right"]));
    let report = analyzer.check_answer(&c, &frames, 10).unwrap();
    let first = report.first.unwrap().template.similarity(&obama);
    let last = report.last.unwrap().template.similarity(&obama);
    assert!(first >= MATCH_THRESHOLD, "{first}");
    assert!(
        !report.verdict.passed || last < MATCH_THRESHOLD,
        "{:?} {last}",
        report.verdict
    );
    assert!(
        report.verdict.passed,
        "the attack is only interesting if liveness passes"
    );
}

#[test]
fn attacks_fail_with_no_evidence_and_bad_frames_are_named() {
    use Action::*;
    let analyzer = FaceAnalyzer::load().unwrap();
    let c = challenge(&[Front, TurnLeft, TurnRight, Blink]);

    let wrong = analyzer
        .check_answer(
            &c,
            &encoded("obama", &["front", "right", "left", "blink"]),
            10,
        )
        .unwrap();
    assert!(!wrong.verdict.passed);
    assert!(
        wrong
            .verdict
            .failures
            .contains(&Failure::WrongAction { expected: TurnLeft })
    );
    assert!(wrong.evidence.is_empty());

    let still = analyzer
        .check_answer(&c, &encoded("obama", &["static", "static"]), 10)
        .unwrap();
    assert!(!still.verdict.passed);
    assert!(still.verdict.failures.contains(&Failure::StaticImage));
    assert!(still.evidence.is_empty());
    assert!(matches!(still.first, Err(FaceError::NotAnswered)));

    // Too late: every frame is stamped after the challenge expired.
    let late = analyzer
        .check_answer(
            &c,
            &encoded("obama", &["front", "left", "right", "blink"]),
            1001,
        )
        .unwrap();
    assert!(late.verdict.failures.contains(&Failure::Expired));

    let mut frames = encoded("obama", &["front"]);
    frames.insert(2, b"not a picture".to_vec());
    match analyzer.check_answer(&c, &frames, 10) {
        Err(FaceError::Capture(CaptureError::Decode { what, .. })) => assert_eq!(what, "frame 2"),
        other => panic!("{other:?}"),
    }
    // No frames at all: no face, nothing passes.
    let empty = analyzer.check_answer(&c, &[], 10).unwrap();
    assert!(!empty.verdict.passed);
    assert!(matches!(empty.first, Err(FaceError::NotAnswered)));
}
