//! One-time credentials through the real `tessera-wallet` (issue 14): one per showing;
//! offline with none left, the least-shown one again with a warning; a refill retires the
//! shown ones (deleted with their keys; their status bits left alone) and tops up; a refill killed with SIGKILL at any
//! moment loses nothing, issues nothing twice and never lets a shown credential pass as
//! fresh.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use tessera_credential::qr_text::Presentation;
use tessera_credential::verify::StatusOutcome;

use crate::common::{Env, holding_proxy, obama_id, start_issuer, testdata, text};

fn cti_of(code: &str) -> [u8; 8] {
    Presentation::from_qr_text(code.trim())
        .unwrap()
        .credential
        .claims
        .credential_id
}

fn unused(env: &Env, tier: &str) -> u64 {
    let out = env.run(&["status"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    status["one_time"][tier].as_u64().unwrap()
}

fn spawn(env: &Env, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_tessera-wallet"))
        .args([
            "--issuer",
            &env.issuer,
            "--keystore-service",
            &env.service,
            "--data-dir",
        ])
        .arg(&env.data)
        .args(env.anchor())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn one_credential_per_showing_offline_reuse_refill_and_sigkill_during_refill() {
    let dir = std::env::temp_dir().join(format!("tessera-wallet-refill-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let issuer = start_issuer(&dir);
    let service = format!("tessera-wallet-refill-test-{}", std::process::id());
    let online = Env {
        issuer: issuer.clone(),
        data: dir.join("wallet"),
        service: service.clone(),
    };
    // The same wallet with the issuer unreachable (nothing listens on port 9).
    let offline = Env {
        issuer: "http://127.0.0.1:9".into(),
        data: dir.join("wallet"),
        service: service.clone(),
    };
    let frames = testdata().join("liveness/obama");
    let out = online.run(
        &[
            "enrol",
            "--id-number",
            &obama_id(),
            "--frames",
            frames.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(unused(&online, "lightweight"), 10);
    assert_eq!(unused(&online, "age_only"), 10);

    // 1. Offline: ten showings, ten different credentials; the eleventh reuses one and
    //    says so.
    let mut seen = Vec::new();
    for n in 0..11 {
        let out = offline.run(&["show", "--tier", "lightweight"], None);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let code = String::from_utf8(out.stdout.clone()).unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let cti = cti_of(&code);
        if n < 10 {
            assert!(!seen.contains(&cti), "showing {n} reused a credential");
            assert!(!stderr.contains("can be linked"), "{stderr}");
        } else {
            assert!(seen.contains(&cti), "the eleventh showing must reuse one");
            assert!(stderr.contains("can be linked"), "{stderr}");
        }
        if n >= 7 {
            assert!(stderr.contains("could not refill"), "{stderr}");
        }
        seen.push(cti);
    }
    let history = offline.run(&["history"], None);
    let history: Vec<serde_json::Value> = serde_json::from_slice(&history.stdout).unwrap();
    assert_eq!(history.len(), 11, "one entry per showing");
    assert_eq!(
        history.iter().filter(|h| h["linkable"] == true).count(),
        1,
        "{history:?}"
    );
    let age = offline.run(&["show", "--tier", "age-only"], None);
    let age_code = String::from_utf8(age.stdout).unwrap();
    assert!(!seen.contains(&cti_of(&age_code)));
    assert_eq!(
        crate::check(&issuer, &age_code, None),
        Ok(StatusOutcome::Valid)
    );

    // 2. A refill killed after the issuer committed it, before the wallet heard: the pending
    //    refill is kept, and running again collects the same answer.
    let shown_code =
        String::from_utf8(offline.run(&["show", "--tier", "age-only"], None).stdout).unwrap();
    let answered = Arc::new(AtomicBool::new(false));
    let cut = Env {
        issuer: holding_proxy(&issuer, "POST /v1/refills", answered.clone()),
        data: dir.join("wallet"),
        service: service.clone(),
    };
    let mut child = spawn(&cut, &["refill"]);
    let started = Instant::now();
    while !answered.load(Ordering::SeqCst) {
        assert!(
            started.elapsed().as_secs() < 60,
            "the issuer never answered"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Nothing was lost and nothing changed yet: the shown ones are still counted as shown.
    assert_eq!(unused(&offline, "lightweight"), 0);
    let out = online.run(&["refill"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let refilled: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(refilled["retired"], 12, "{refilled}");
    assert_eq!(refilled["issued"], 12, "{refilled}");
    assert_eq!(unused(&online, "lightweight"), 10);
    assert_eq!(unused(&online, "age_only"), 10);
    // The retired credentials are gone from the wallet (with their keys), but their status
    // bits are left alone: the code shown just before the refill still verifies in its
    // 60 s, and the lists do not flip a whole group of showings at once.
    let first = offline.run(&["show", "--tier", "lightweight"], None);
    let fresh = String::from_utf8(first.stdout).unwrap();
    assert!(
        !seen.contains(&cti_of(&fresh)),
        "a shown credential came back as fresh"
    );
    assert_eq!(
        crate::check(&issuer, &fresh, None),
        Ok(StatusOutcome::Valid)
    );
    assert_eq!(
        crate::check(&issuer, &shown_code, None),
        Ok(StatusOutcome::Valid)
    );

    // 3. SIGKILL at random moments of refills (from before the challenge to after the
    //    answer): every time the wallet still opens, and in the end every showing uses a
    //    credential never shown before.
    let mut all_seen: HashSet<[u8; 8]> = seen.iter().copied().collect();
    all_seen.insert(cti_of(&fresh));
    all_seen.insert(cti_of(&shown_code));
    all_seen.insert(cti_of(&age_code));
    //    A killed refill may not have finished: then the offline showings run out and
    //    reuse one, which they must say; a credential never comes back silently.
    let mut completed_or_reused = 0;
    for round in 0..6u64 {
        for _ in 0..3 {
            let out = offline.run(&["show", "--tier", "lightweight"], None);
            let code = String::from_utf8(out.stdout).unwrap();
            let warned = String::from_utf8_lossy(&out.stderr).contains("can be linked");
            let fresh = all_seen.insert(cti_of(&code));
            assert!(
                fresh != warned,
                "round {round}: fresh {fresh}, warned {warned}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            completed_or_reused += 1;
        }
        let mut child = spawn(&online, &["refill"]);
        std::thread::sleep(Duration::from_millis(40 + round * 150));
        let _ = child.kill();
        child.wait().unwrap();
        let out = online.run(&["status"], None);
        assert_eq!(out.status.code(), Some(0), "round {round}: {}", text(&out));
    }
    assert_eq!(completed_or_reused, 18);
    let out = online.run(&["refill"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(unused(&online, "lightweight"), 10);
    for _ in 0..10 {
        let out = offline.run(&["show", "--tier", "lightweight"], None);
        let code = String::from_utf8(out.stdout).unwrap();
        assert!(all_seen.insert(cti_of(&code)), "a credential shown twice");
        assert_eq!(crate::check(&issuer, &code, None), Ok(StatusOutcome::Valid));
    }
    let out = online.run(&["reset", "--yes"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    std::fs::remove_dir_all(&dir).unwrap();
}
