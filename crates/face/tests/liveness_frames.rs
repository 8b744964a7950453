//! Liveness end to end on the committed frame sequences: the right answer passes, a static
//! photo and an answer to another challenge fail.

use std::path::{Path, PathBuf};
use tessera_face::analysis::FaceAnalyzer;
use tessera_face::liveness::{Action, Challenge, Failure};
use tessera_face::source::{ReplaySource, image_files};

fn frames(person: &str, folders: &[&str]) -> ReplaySource {
    let base = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/liveness")
        .join(person);
    let files: Vec<PathBuf> = folders
        .iter()
        .flat_map(|f| image_files(&base.join(f)).unwrap())
        .collect();
    ReplaySource::from_files(files)
}

fn challenge(actions: &[Action]) -> Challenge {
    Challenge {
        nonce: [1; 16],
        actions: actions.to_vec(),
        issued_at: 0,
        expires_at: 1000,
    }
}

#[test]
fn real_answers_pass_and_attacks_fail() {
    use Action::*;
    let analyzer = FaceAnalyzer::load().unwrap();
    let c = challenge(&[Front, TurnLeft, TurnRight, Blink]);
    let mut t = 0;
    let mut clock = || {
        t += 1;
        t
    };
    for person in ["obama", "astronaut"] {
        let v = analyzer
            .check_liveness(
                &c,
                &mut frames(person, &["front", "left", "right", "blink"]),
                100,
                &mut clock,
            )
            .unwrap();
        assert!(v.passed, "{person}: {v:?}");
    }
    // Answering another challenge (right before left).
    let v = analyzer
        .check_liveness(
            &c,
            &mut frames("obama", &["front", "right", "left", "blink"]),
            100,
            &mut clock,
        )
        .unwrap();
    assert!(!v.passed);
    assert!(
        v.failures
            .contains(&Failure::WrongAction { expected: TurnLeft }),
        "{v:?}"
    );
    // A printed photo held still.
    let v = analyzer
        .check_liveness(
            &c,
            &mut frames("obama", &["static", "static"]),
            100,
            &mut clock,
        )
        .unwrap();
    assert!(!v.passed);
    assert!(v.failures.contains(&Failure::StaticImage), "{v:?}");
}

#[cfg(feature = "camera")]
#[test]
fn no_camera_is_a_typed_error() {
    use tessera_face::source::CaptureError;
    // CI machines have no camera; where one exists this checks nothing about absence.
    if tessera_face::camera::list_cameras()
        .map(|c| c.is_empty())
        .unwrap_or(true)
    {
        let e = tessera_face::camera::CameraSource::open(0).unwrap_err();
        assert_eq!(e, CaptureError::NoCamera);
    }
    assert_eq!(
        tessera_face::camera::classify_message(
            "V4L2 Error: No such file or directory (os error 2)"
        ),
        CaptureError::NoCamera
    );
}
