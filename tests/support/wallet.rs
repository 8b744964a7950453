//! The citizen's phone: the headless `tessera-wallet` with its own OS keystore entries
//! (a service name of its own in the Secret Service `scripts/with-keyring.sh` provides), its
//! own data folder, the issuer's URL and the authority's trust-list key.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::bins::Binaries;
use super::services::{run, said};

#[derive(Debug)]
pub struct Wallet {
    issuer: String,
    anchor: PathBuf,
    data: PathBuf,
    keystore_service: String,
}

impl Wallet {
    /// A device named `name` (its keystore entries are filed under a name unique to this
    /// run).
    pub fn new(dir: &Path, name: &str, issuer: &str, anchor: &Path) -> Wallet {
        Wallet {
            issuer: issuer.to_owned(),
            anchor: anchor.to_owned(),
            data: dir.join(name),
            keystore_service: format!("tessera-journey-{}-{name}", std::process::id()),
        }
    }

    /// `tessera-wallet ARGS` on this device.
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut cmd = Command::new(&Binaries::get().wallet);
        cmd.arg("--issuer")
            .arg(&self.issuer)
            .arg("--trust-list-key")
            .arg(&self.anchor)
            .arg("--keystore-service")
            .arg(&self.keystore_service)
            .arg("--data-dir")
            .arg(&self.data)
            .args(args);
        run(cmd, stdin)
    }

    /// Runs `args`, which must succeed; its standard output.
    pub fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert_eq!(
            out.status.code(),
            Some(0),
            "wallet {args:?}: {}",
            said(&out)
        );
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    /// Fails with a clear message unless the OS keystore answers.
    pub fn check_keystore(&self) {
        let out = self.run(&["status"], None);
        assert!(
            out.status.code() == Some(0),
            "the wallet cannot reach the OS keystore; run the journey under \
             scripts/with-keyring.sh (a private D-Bus session with gnome-keyring):\n{}",
            said(&out)
        );
    }

    /// `tessera-wallet enrol` (moving the ID from another device with `replace`) with a
    /// recording of the liveness actions, and a PIN if given.
    pub fn try_enrol(&self, id: &str, frames: &Path, replace: bool, pin: Option<&str>) -> Output {
        let frames = frames.to_str().expect("a UTF-8 path");
        let mut args = vec!["enrol", "--id-number", id, "--frames", frames];
        if replace {
            args.push("--replace");
        }
        if pin.is_some() {
            args.push("--pin-stdin");
        }
        self.run(&args, pin.map(|p| format!("{p}\n")).as_deref())
    }

    /// [`Wallet::try_enrol`] with a PIN, which must succeed; the status it prints.
    pub fn enrol(&self, id: &str, frames: &Path, replace: bool, pin: &str) -> serde_json::Value {
        let out = self.try_enrol(id, frames, replace, Some(pin));
        assert_eq!(out.status.code(), Some(0), "wallet enrol: {}", said(&out));
        serde_json::from_slice(&out.stdout).expect("the status as JSON")
    }

    /// The lightweight QR text.
    pub fn show_lightweight(&self) -> String {
        let text = self.ok(&["show", "--tier", "lightweight"], None);
        text.trim().to_owned()
    }

    /// The upgraded QR text, unlocked by the PIN and a face check on the device.
    pub fn show_upgraded(&self, pin: &str, face: &Path) -> String {
        let face = face.to_str().expect("a UTF-8 path");
        let text = self.ok(
            &[
                "show",
                "--tier",
                "upgraded",
                "--pin-stdin",
                "--face-frames",
                face,
            ],
            Some(pin),
        );
        text.trim().to_owned()
    }

    /// `renew` with a new recording; the status it prints.
    pub fn renew(&self, frames: &Path) -> serde_json::Value {
        let frames = frames.to_str().expect("a UTF-8 path");
        let out = self.ok(&["renew", "--frames", frames], None);
        serde_json::from_str(&out).expect("the status as JSON")
    }

    /// Removes the ID, keys and history from this device (and so from the keystore).
    pub fn reset(&self, pin: &str) {
        self.ok(
            &["reset", "--yes", "--pin-stdin"],
            Some(&format!("{pin}\n")),
        );
    }
}
