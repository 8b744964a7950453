//! What the journey is made of: the workspace's real binaries, the services they run as,
//! a fresh PostgreSQL database, the desk's HTTP API as a browser terminal uses it, the
//! headless wallet, and a timeline of the steps.

pub mod bins;
pub mod http;
pub mod postgres;
pub mod services;
pub mod timeline;
pub mod wallet;

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace root")
}

/// The face crate's committed photos and liveness recordings.
pub fn face_testdata() -> PathBuf {
    workspace().join("crates/face/testdata")
}

/// A registry person's recorded liveness frames (front/, left/, right/, blink/).
pub fn liveness(person: &str) -> PathBuf {
    face_testdata().join("liveness").join(person)
}

/// A valid 18-character ID number from its first 17 digits.
pub fn id_number(first17: &str) -> String {
    format!(
        "{first17}{}",
        tessera_issuer_api::ids::check_character(first17.as_bytes())
    )
}

/// Obama's registry photo: the citizen of the journey (李建国, born 1961-08-04).
pub fn citizen_id() -> String {
    id_number("11010119610804011")
}

/// Unix seconds.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs()
}

/// A new, empty folder for one run.
pub fn run_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .subsec_nanos();
    let dir = std::env::temp_dir().join(format!(
        "tessera-journey-{}-{nanos:08x}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    dir
}

/// Writes the authority's registry export into `dir`: a CSV and the photos it names (the
/// issuer reads photos only from the CSV's folder). Returns the CSV's path.
pub fn write_registry(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("photos")).expect("registry folder");
    let people = [
        (
            "11010119610804011",
            "李建国",
            "1961-08-04",
            "M",
            "obama.jpg",
        ),
        (
            "11010119421120013",
            "赵德明",
            "1942-11-20",
            "M",
            "biden.jpg",
        ),
        (
            "11010119460819022",
            "孙丽华",
            "1946-08-19",
            "F",
            "astronaut.jpg",
        ),
    ];
    let mut csv = String::from("id_number,full_name,date_of_birth,sex,photo\n");
    for (first17, name, born, sex, photo) in people {
        std::fs::copy(
            face_testdata().join("photos").join(photo),
            dir.join("photos").join(photo),
        )
        .expect("copy a registry photo");
        csv += &format!(
            "{},{name},{born},{sex},photos/{photo}\n",
            id_number(first17)
        );
    }
    let path = dir.join("registry.csv");
    std::fs::write(&path, csv).expect("write the registry CSV");
    path
}

/// The files of `dir`, sorted by name.
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}
