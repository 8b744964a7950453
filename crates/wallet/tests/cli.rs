//! `tessera-wallet` end to end: a real issuer on loopback, the real Secret Service (run
//! under `scripts/with-keyring.sh`), the committed liveness frames.

mod common;
// `tessera-wallet sign-in`: one test binary with the other CLI tests (each links the issuer).
#[path = "cli/refill.rs"]
mod refill;
#[path = "cli/sign_in.rs"]
mod sign_in;
#[path = "cli/slow_capture.rs"]
mod slow_capture;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::{Env, obama_id, start_issuer, testdata, text};

use tessera_credential::claims::Tier;
use tessera_credential::qr_text::Presentation;
use tessera_credential::verify::StatusOutcome;

/// The number of frames behind each issuance, from the issuer's audit records.
fn issued_frames(dir: &Path) -> Vec<usize> {
    let url = tessera_issuer::default_database_url(&dir.join("issuer"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let log = rt.block_on(async {
        let store = tessera_issuer::store::Store::connect(&url).await.unwrap();
        let log = store.audit_log().await.unwrap();
        store.close().await;
        log
    });
    log.iter()
        .filter(|r| r.outcome == "issued")
        .map(|r| {
            let n = r
                .detail
                .split("frames=")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .expect("frame count audited");
            n.parse().unwrap()
        })
        .collect()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The verifier's own loading and checking (`tessera-verify check --trust LIST
/// --trust-list-key PEM --status LIST --require-status`), on the lists the issuer serves.
use common::{check, check_at};

#[test]
fn enrol_show_both_tiers_refuse_without_pin_or_face_renew_history_reset() {
    let dir = std::env::temp_dir().join(format!("tessera-wallet-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let env = Env {
        issuer: start_issuer(&dir),
        data: dir.join("wallet"),
        service: format!("tessera-wallet-cli-test-{}", std::process::id()),
    };
    let obama = testdata().join("liveness/obama");
    let biden = testdata().join("liveness/biden");
    let obama = obama.to_str().unwrap();

    let out = env.run(&["status"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("not_enrolled"));

    // A recording whose first picture shows no face is stopped on the device.
    let no_face = dir.join("no-face");
    for a in ["front", "left", "right", "blink"] {
        std::fs::create_dir_all(no_face.join(a)).unwrap();
        std::fs::copy(
            testdata().join("photos/coffee.jpg"),
            no_face.join(a).join("00.jpg"),
        )
        .unwrap();
    }
    let out = env.run(
        &[
            "enrol",
            "--id-number",
            &obama_id(),
            "--frames",
            no_face.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no face found"),
        "{}",
        text(&out)
    );

    let out = env.run(
        &[
            "enrol",
            "--id-number",
            &obama_id(),
            "--frames",
            obama,
            "--pin-stdin",
        ],
        Some("246810\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["state"], "active");
    assert_eq!(status["pin_set"], true);
    // Changing the PIN needs the current one, and the birth date in the credential
    // (1961-08-04, here as DDMMYY) is refused even with it.
    let out = env.run(&["set-pin"], Some("135790"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--current-pin-stdin"),
        "{}",
        text(&out)
    );
    let out = env.run(
        &["set-pin", "--current-pin-stdin"],
        Some("246810\n040861\n"),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("date of birth"),
        "{}",
        text(&out)
    );
    // The wallet sent its evidence (the frames up to each completion), not
    // the whole 19-frame recording, and the issuer decided on it.
    let frames = issued_frames(&dir);
    assert_eq!(frames.len(), 1, "{frames:?}");
    assert!((4..=12).contains(&frames[0]), "{frames:?}");

    // Lightweight: verifies online with status.
    let out = env.run(&["show", "--tier", "lightweight"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let light = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let light_at = now();
    assert_eq!(check(&env.issuer, &light, None), Ok(StatusOutcome::Valid));
    assert_eq!(
        check(&env.issuer, &light, Some(Tier::Upgraded)).unwrap_err(),
        "tier_requirement_not_met"
    );

    // Upgraded: PIN and face.
    let out = env.run(
        &[
            "show",
            "--tier",
            "upgraded",
            "--pin-stdin",
            "--face-frames",
            obama,
        ],
        Some("246810"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let upgraded = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(
        check(&env.issuer, &upgraded, Some(Tier::Upgraded)),
        Ok(StatusOutcome::Valid)
    );
    let p = Presentation::from_qr_text(&upgraded).unwrap();
    assert_eq!(p.proof.claims.auth.names(), vec!["user", "pin", "face"]);

    // Refusals: no PIN, wrong PIN, no face, another face.
    for (args, stdin, what) in [
        (
            vec!["show", "--tier", "upgraded", "--face-frames", obama],
            None,
            "needs the PIN",
        ),
        (
            vec![
                "show",
                "--tier",
                "upgraded",
                "--pin-stdin",
                "--face-frames",
                obama,
            ],
            Some("111111"),
            "wrong PIN",
        ),
        (
            vec!["show", "--tier", "upgraded", "--pin-stdin"],
            Some("246810"),
            "needs a face check",
        ),
        (
            vec![
                "show",
                "--tier",
                "upgraded",
                "--pin-stdin",
                "--face-frames",
                biden.to_str().unwrap(),
            ],
            Some("246810"),
            "does not match",
        ),
    ] {
        let out = env.run(&args, stdin);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(what),
            "{what}: {}",
            text(&out)
        );
        assert!(out.stdout.is_empty());
    }

    // A PNG that reads back to a verifying code.
    let png = dir.join("qr.png");
    let out = env.run(
        &[
            "show",
            "--tier",
            "lightweight",
            "--format",
            "png",
            "--out",
            png.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let read = tessera_qr::decode_image(&std::fs::read(&png).unwrap()).unwrap();
    assert_eq!(check(&env.issuer, &read, None), Ok(StatusOutcome::Valid));

    // Renewal: a new key; the old credential is revoked.
    let out = env.run(&["renew", "--frames", obama], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // As of when it was shown: by now its 60 s proof may have expired, hiding the status.
    assert_eq!(
        check_at(&env.issuer, &light, None, light_at).unwrap_err(),
        "revoked"
    );
    let out = env.run(&["show", "--tier", "lightweight"], None);
    let renewed = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(check(&env.issuer, &renewed, None), Ok(StatusOutcome::Valid));
    let old = Presentation::from_qr_text(&light).unwrap();
    let new = Presentation::from_qr_text(&renewed).unwrap();
    assert_ne!(
        old.credential.claims.holder_key,
        new.credential.claims.holder_key
    );

    // History: time and tier only.
    let out = env.run(&["history"], None);
    let history: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(history.len(), 4, "{history:?}");

    // Nothing secret or personal in the wallet's files, the sealed vault file included
    // (ciphertext: the credentials are in it, but not readable).
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    let mut dirs = vec![env.data.clone()];
    while let Some(d) = dirs.pop() {
        for f in std::fs::read_dir(&d).unwrap().flatten() {
            if f.path().is_dir() {
                dirs.push(f.path());
            } else {
                files.push(f.path());
            }
        }
    }
    assert!(
        files
            .iter()
            .any(|f| f.to_string_lossy().ends_with(".sealed")),
        "{files:?}"
    );
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        let s = String::from_utf8_lossy(&bytes);
        for needle in ["246810", "TS1:", obama_id().as_str(), "李建国"] {
            assert!(!s.contains(needle), "{f:?} contains {needle}");
        }
        let cred = new.credential.to_tagged_bytes();
        assert!(!bytes.windows(cred.len()).any(|w| w == cred.as_slice()));
    }

    // The keystore unreachable: every command, status included, says so and exits 2.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tessera-wallet"));
    let out = cmd
        .args(["--keystore-service", &env.service, "status"])
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/no-bus")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Secret Service"),
        "{}",
        text(&out)
    );

    // Removing the ID needs the PIN.
    let out = env.run(&["reset", "--yes"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--pin-stdin"),
        "{}",
        text(&out)
    );
    let out = env.run(&["status"], None);
    assert!(!String::from_utf8_lossy(&out.stdout).contains("not_enrolled"));
    let out = env.run(&["reset", "--yes", "--pin-stdin"], Some("246810\n"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = env.run(&["status"], None);
    assert!(String::from_utf8_lossy(&out.stdout).contains("not_enrolled"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn killing_the_wallet_mid_enrolment_and_running_again_resumes() {
    let dir = std::env::temp_dir().join(format!("tessera-wallet-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let issuer = start_issuer(&dir);
    let service = format!("tessera-wallet-resume-test-{}", std::process::id());
    let frames = testdata().join("liveness/obama");
    let frames = frames.to_str().unwrap();
    let answered = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cut = Env {
        issuer: common::holding_proxy(&issuer, "POST /v1/enrolments", answered.clone()),
        data: dir.join("wallet"),
        service: service.clone(),
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera-wallet"))
        .args([
            "--issuer",
            &cut.issuer,
            "--keystore-service",
            &cut.service,
            "--data-dir",
        ])
        .arg(&cut.data)
        .args(cut.anchor())
        .args(["enrol", "--id-number", &obama_id(), "--frames", frames])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while !answered.load(std::sync::atomic::Ordering::SeqCst) {
        assert!(
            started.elapsed().as_secs() < 120,
            "the issuer never answered"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL while it waits for the answer
    child.wait().unwrap();
    let out = cut.run(&["status"], None);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"enrolling\""),
        "{}",
        text(&out)
    );

    // Run again (with the network back): the batch the issuer committed is collected, not a
    // second one issued (which the issuer would refuse as already enrolled). The frames
    // given now are someone else's: a resumed enrolment must keep the face of the answer the
    // issuer matched, never take a new, unchecked capture as the holder's face.
    let direct = Env {
        issuer: issuer.clone(),
        data: dir.join("wallet"),
        service,
    };
    let stranger = testdata().join("liveness/biden");
    let out = direct.run(
        &[
            "enrol",
            "--id-number",
            &obama_id(),
            "--frames",
            stranger.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"active\""),
        "{}",
        text(&out)
    );
    let out = direct.run(&["show", "--tier", "lightweight"], None);
    let qr = String::from_utf8(out.stdout).unwrap();
    assert_eq!(check(&issuer, qr.trim(), None), Ok(StatusOutcome::Valid));
    // The face enrolled on the device works for the upgraded tier too.
    direct.run(&["set-pin"], Some("135790"));
    let out = direct.run(
        &[
            "show",
            "--tier",
            "upgraded",
            "--pin-stdin",
            "--face-frames",
            frames,
        ],
        Some("135790"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = direct.run(&["reset", "--yes", "--pin-stdin"], Some("135790\n"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `set-pin` without an issuer: the first PIN needs nothing, a change needs the current PIN
/// (a wrong one counts towards the wait, which a change cannot skip), weak PINs are refused
/// with the reason, and nothing is said about the PINs on standard error but the refusal.
#[test]
fn set_pin_needs_the_current_pin_and_refuses_weak_ones() {
    let dir = std::env::temp_dir().join(format!("tessera-wallet-cli-pin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let env = Env {
        issuer: "http://127.0.0.1:9".into(),
        data: dir.join("wallet"),
        service: format!("tessera-wallet-cli-pin-{}", std::process::id()),
    };
    for (pin, why) in [
        ("123456", "run of digits"),
        ("000000", "one digit repeated"),
        ("123123", "repeats a short group"),
        ("147258", "people choose most often"),
    ] {
        let out = env.run(&["set-pin"], Some(pin));
        assert_eq!(out.status.code(), Some(1), "{pin}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(why),
            "{pin}: {}",
            text(&out)
        );
    }
    let out = env.run(&["set-pin"], Some("246810"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Overwriting without the current PIN is refused.
    let out = env.run(&["set-pin"], Some("135790"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    for _ in 0..3 {
        let out = env.run(
            &["set-pin", "--current-pin-stdin"],
            Some("999990\n135790\n"),
        );
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(String::from_utf8_lossy(&out.stderr).contains("wrong PIN"));
    }
    // Locked out now: the right current PIN waits too.
    let out = env.run(
        &["set-pin", "--current-pin-stdin"],
        Some("246810\n135790\n"),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains("try again in"), "{}", text(&out));
    assert!(!err.contains("246810") && !err.contains("135790"), "{err}");
    // Nothing enrolled: removing needs no PIN.
    let out = env.run(&["reset", "--yes"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&dir);
}
