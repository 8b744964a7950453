//! The workspace's real binaries: `tessera-issuer`, `tessera-verify`, `tessera-wallet`.
//!
//! `env!("CARGO_BIN_EXE_…")` names only a package's own binaries, and the other members'
//! tests reach across packages through libraries (in-process issuers), not binaries. And
//! `cargo test --workspace --test journey` builds no other package's binaries. So the
//! journey asks cargo to bring the three up to date in the target directory it runs from,
//! with a workspace-wide selection that includes a test target (so the same features are
//! unified as for `cargo test --workspace`): after a `cargo test --workspace` built them it
//! only checks they are fresh. Cargo holds no build lock while tests run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Paths of the built binaries.
#[derive(Debug)]
pub struct Binaries {
    pub issuer: PathBuf,
    pub verify: PathBuf,
    pub wallet: PathBuf,
}

const NAMES: [&str; 3] = ["tessera-issuer", "tessera-verify", "tessera-wallet"];

impl Binaries {
    /// Built (or found fresh) once per test process.
    pub fn get() -> &'static Binaries {
        static BINS: OnceLock<Binaries> = OnceLock::new();
        BINS.get_or_init(build)
    }
}

fn build() -> Binaries {
    // target/<profile>/deps/journey-<hash>
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from target/<profile>/deps")
        .to_owned();
    let target_dir = profile_dir.parent().expect("target/<profile> has a parent");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a profile folder name");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--manifest-path")
        .arg(super::workspace().join("Cargo.toml"))
        .args(["--workspace", "--test", "journey"])
        .env("CARGO_TARGET_DIR", target_dir);
    for name in NAMES {
        cmd.args(["--bin", name]);
    }
    match profile {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    let out = cmd
        .output()
        .expect("run cargo to build the workspace binaries");
    assert!(
        out.status.success(),
        "cargo could not build {NAMES:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = |name: &str| {
        let p = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
        assert!(p.exists(), "{} is missing after the build", p.display());
        p
    };
    Binaries {
        issuer: path(NAMES[0]),
        verify: path(NAMES[1]),
        wallet: path(NAMES[2]),
    }
}
