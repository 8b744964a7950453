//! The `tessera-face` binary on the committed photos: exit codes, JSON and error messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn photo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/photos")
        .join(name)
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tessera-face"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn compare(a: &Path, b: &Path) -> Output {
    run(&["compare".as_ref(), a.as_os_str(), b.as_os_str()])
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn same_person_exits_0_with_similarity_above_threshold() {
    let out = compare(&photo("obama.jpg"), &photo("obama2.jpg"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["same_person"], true);
    let (s, t) = (
        v["similarity"].as_f64().unwrap(),
        v["threshold"].as_f64().unwrap(),
    );
    assert!(s >= t, "{s} < {t}");
}

#[test]
fn different_people_exit_1_with_similarity_below_threshold() {
    let out = compare(&photo("obama.jpg"), &photo("biden.jpg"));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["same_person"], false);
    assert!(v["similarity"].as_f64().unwrap() < v["threshold"].as_f64().unwrap());
}

#[test]
fn no_face_exits_2_naming_the_image() {
    let out = compare(&photo("obama.jpg"), &photo("coffee.jpg"));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let e = stderr(&out);
    assert!(e.contains("coffee.jpg") && e.contains("no face"), "{e}");
}

#[test]
fn several_faces_exit_2_naming_the_image() {
    let out = compare(
        &photo("group_obama_biden_composed.jpg"),
        &photo("obama.jpg"),
    );
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("group_obama_biden_composed.jpg") && e.contains("faces found"),
        "{e}"
    );
}

#[test]
fn unreadable_and_missing_files_exit_2_naming_the_file() {
    let not_an_image = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let out = compare(&photo("obama.jpg"), &not_an_image);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Cargo.toml"), "{}", stderr(&out));

    let missing = photo("does-not-exist.jpg");
    let out = compare(&missing, &photo("obama.jpg"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("does-not-exist.jpg"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn detect_reports_faces_and_quality() {
    let out = run(&["detect".as_ref(), photo("obama.jpg").as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["faces"].as_array().unwrap().len(), 1);
    assert!(v["quality"].is_object(), "{v}");

    let out = run(&["detect".as_ref(), photo("rocket.jpg").as_os_str()]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["faces"].as_array().unwrap().len(), 0);
    assert!(v["quality"].to_string().contains("no_face"), "{v}");
}

#[test]
fn cameras_says_so_when_there_are_none() {
    // Only meaningful where the machine has no video devices (CI, this container).
    let has_video = std::fs::read_dir("/dev")
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("video"))
        })
        .unwrap_or(false);
    let out = run(&["cameras".as_ref()]);
    if has_video {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        return;
    }
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["cameras"], serde_json::json!([]));
    assert!(stderr(&out).contains("no camera"), "{}", stderr(&out));
}

#[test]
fn liveness_replay_passes_the_recorded_answer_and_fails_a_turn_the_wrong_way() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/liveness/obama");
    let out = run(&["liveness".as_ref(), dir.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json(&out)["passed"], true);

    // A person asked to turn left who turns right: the recorded right turn filed under left/.
    let tmp = std::env::temp_dir().join(format!("tessera-face-cli-{}", std::process::id()));
    for (to, from) in [("front", "front"), ("left", "right")] {
        std::fs::create_dir_all(tmp.join(to)).unwrap();
        for f in std::fs::read_dir(dir.join(from)).unwrap().flatten() {
            std::fs::copy(f.path(), tmp.join(to).join(f.file_name())).unwrap();
        }
    }
    let out = run(&[
        "liveness".as_ref(),
        tmp.as_os_str(),
        "--actions".as_ref(),
        "front,left".as_ref(),
    ]);
    std::fs::remove_dir_all(&tmp).ok();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(json(&out)["passed"], false);
}
