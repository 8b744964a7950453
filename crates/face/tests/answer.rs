//! A whole answer judged at once (`FaceAnalyzer::check_answer`) on the committed frame
//! sequences: it agrees with the frame-by-frame check, its evidence alone passes again with
//! fewer frames, its templates are the person's, and attacks and bad frames fail.

use std::path::Path;
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

#[test]
fn answers_pass_with_their_evidence_alone_and_match_the_person() {
    use Action::*;
    let analyzer = FaceAnalyzer::load().unwrap();
    let registry = |p: &str| {
        let photo = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("testdata/photos/{p}.jpg"));
        analyzer
            .template(&load_image_file(&photo).unwrap())
            .unwrap()
            .template
    };
    // One challenge ending in a blink, one ending in a head turn, for each person.
    let orders = [
        [Front, TurnLeft, TurnRight, Blink],
        [Front, Blink, TurnRight, TurnLeft],
    ];
    for person in ["obama", "biden", "astronaut"] {
        let reference = registry(person);
        for actions in &orders {
            let c = challenge(actions);
            let folders: Vec<&str> = actions.iter().map(|a| folder(*a)).collect();
            let frames = encoded(person, &folders);
            let report = analyzer.check_answer(&c, &frames, 10).unwrap();
            let sequential = analyzer
                .check_liveness(
                    &c,
                    &mut ReplaySource::from_encoded(frames.clone()),
                    100,
                    &mut || 10,
                )
                .unwrap();
            assert_eq!(report.verdict, sequential, "{person} {actions:?}");
            assert!(
                report.verdict.passed,
                "{person} {actions:?}: {:?}",
                report.verdict
            );
            assert_eq!(report.roles.len(), frames.len());
            assert_eq!(
                report.roles.iter().filter(|r| r.completed).count(),
                actions.len(),
                "each action completed by exactly one frame"
            );

            let evidence = report.evidence(3);
            assert!(evidence.windows(2).all(|w| w[0] < w[1]), "in order");
            assert!(
                evidence.len() < frames.len() && evidence.len() <= 3 * actions.len(),
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

            for t in [&report.first, &report.last, &again.first, &again.last] {
                let t = t.as_ref().unwrap();
                let s = t.template.similarity(&reference);
                assert!(s >= MATCH_THRESHOLD, "{person} {actions:?}: {s}");
            }
            // The last template comes from a frontal frame, not the final head turn.
            let last = report.last.as_ref().unwrap();
            assert!(
                last.detection.yaw_proxy().abs() < 0.1,
                "{person} {actions:?}"
            );
        }
    }
    // Another person's answer does not match Obama's registry photo.
    let c = challenge(&orders[0]);
    let report = analyzer
        .check_answer(
            &c,
            &encoded("biden", &["front", "left", "right", "blink"]),
            10,
        )
        .unwrap();
    let s = report
        .first
        .unwrap()
        .template
        .similarity(&registry("obama"));
    assert!(s < MATCH_THRESHOLD, "{s}");
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
    assert!(wrong.evidence(3).is_empty());

    let still = analyzer
        .check_answer(&c, &encoded("obama", &["static", "static"]), 10)
        .unwrap();
    assert!(!still.verdict.passed);
    assert!(still.verdict.failures.contains(&Failure::StaticImage));
    assert!(still.evidence(3).is_empty());

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
    assert!(matches!(empty.first, Err(FaceError::NoFace)));
}
