//! The desk's one-to-one check (`comparison::compare`) on the committed photos and frames:
//! the registry person, another person, a still picture, no face.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use tessera_face::Frame;
use tessera_face::analysis::FaceAnalyzer;
use tessera_face::comparison::{Comparison, ComparisonError, Outcome, Unchecked, compare};
use tessera_face::source::load_image_file;

fn faces() -> &'static FaceAnalyzer {
    static FACES: OnceLock<FaceAnalyzer> = OnceLock::new();
    FACES.get_or_init(|| FaceAnalyzer::load().expect("models load"))
}

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

fn frame(rel: &str) -> Frame {
    load_image_file(&testdata(rel)).expect("test image loads")
}

fn frames(person: &str, folder: &str, n: usize) -> Vec<Frame> {
    (0..n)
        .map(|i| frame(&format!("liveness/{person}/{folder}/{i:02}.jpg")))
        .collect()
}

fn check(reference: &str, person: &str, folder: &str) -> Comparison {
    compare(faces(), &frame(reference), &frames(person, folder, 4)).expect("comparison runs")
}

#[test]
fn the_registry_person_is_the_same_person() {
    // Another photo of the person than the one the frames were made from.
    let c = check("photos/obama2.jpg", "obama", "front");
    assert_eq!(c.outcome, Outcome::SamePerson, "{c:?}");
    assert_eq!(c.reason, None);
    assert!(c.usable_frames >= 2, "{c:?}");
    let c = check("photos/biden.jpg", "biden", "front");
    assert_eq!(c.outcome, Outcome::SamePerson, "{c:?}");
}

#[test]
fn another_person_is_not_the_same_person() {
    let c = check("photos/obama.jpg", "biden", "front");
    assert_eq!(c.outcome, Outcome::NotSamePerson, "{c:?}");
    assert!(c.similarity.is_some_and(|s| s < 0.363), "{c:?}");
    let c = check("photos/astronaut.jpg", "obama", "front");
    assert_eq!(c.outcome, Outcome::NotSamePerson, "{c:?}");
}

#[test]
fn one_picture_sent_several_times_is_a_still_picture() {
    // `static/` holds byte-identical copies of `front/00.jpg`: a frozen frame or a photo.
    let c = check("photos/obama.jpg", "obama", "static");
    assert_eq!(c.outcome, Outcome::CouldNotCheck);
    assert_eq!(c.reason, Some(Unchecked::StillPicture));
    assert_eq!(c.similarity, None);
}

#[test]
fn frames_without_a_face_or_a_reference_without_one_cannot_be_checked() {
    let no_face: Vec<Frame> = ["photos/rocket.jpg", "photos/coffee.jpg"]
        .iter()
        .map(|p| frame(p))
        .collect();
    let c = compare(faces(), &frame("photos/obama.jpg"), &no_face).unwrap();
    assert_eq!(c.outcome, Outcome::CouldNotCheck);
    assert_eq!(c.reason, Some(Unchecked::NoFace));
    let c = compare(
        faces(),
        &frame("photos/rocket.jpg"),
        &frames("obama", "front", 4),
    )
    .unwrap();
    assert_eq!(c.reason, Some(Unchecked::ReferenceUnusable));
    let c = compare(
        faces(),
        &frame("photos/obama.jpg"),
        &[
            frame("photos/group_obama_biden_composed.jpg"),
            frame("liveness/obama/front/00.jpg"),
        ],
    )
    .unwrap();
    assert_eq!(c.outcome, Outcome::CouldNotCheck, "{c:?}");
}

#[test]
fn the_frame_count_is_bounded() {
    let one = frames("obama", "front", 1);
    assert!(matches!(
        compare(faces(), &frame("photos/obama.jpg"), &one),
        Err(ComparisonError::FrameCount(1))
    ));
    let nine: Vec<Frame> = (0..9).map(|_| one[0].clone()).collect();
    assert!(matches!(
        compare(faces(), &frame("photos/obama.jpg"), &nine),
        Err(ComparisonError::FrameCount(9))
    ));
}

#[test]
fn a_reference_prepared_beforehand_gives_the_same_answer() {
    use tessera_face::comparison::{compare_with_template, reference_template};
    let reference = reference_template(faces(), &frame("photos/obama2.jpg"))
        .unwrap()
        .unwrap();
    for (person, folder) in [("obama", "front"), ("biden", "front"), ("obama", "static")] {
        let frames = frames(person, folder, 4);
        let prepared = compare_with_template(faces(), &reference, &frames).unwrap();
        let whole = compare(faces(), &frame("photos/obama2.jpg"), &frames).unwrap();
        assert_eq!(prepared, whole, "{person}/{folder}");
    }
    assert_eq!(
        reference_template(faces(), &frame("photos/rocket.jpg")).unwrap(),
        Err(Unchecked::ReferenceUnusable)
    );
}
