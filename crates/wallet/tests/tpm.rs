//! The wallet with its device keys in a TPM (issue 15), end to end: the real
//! `tessera-wallet` binary with `--keys tpm` against a software TPM (`swtpm`, its EK
//! certificate from swtpm's local CA), the real Secret Service (run under
//! `scripts/with-keyring.sh`) and a real issuer that checks the key attestation against that
//! CA (`serve --tpm-roots`).

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{Env, check, obama_id, start_issuer_with, testdata, text};
use tessera_credential::claims::Tier;
use tessera_credential::verify::StatusOutcome;
use tessera_swtpm::SoftwareTpm;
use tessera_wallet::keys::TpmKeys;
use tessera_wallet::keystore::{OsKeystore, SecretStore};
use tessera_wallet::vault::{VAULT_ENTRY, Vault, VaultStore};
use tessera_wallet::wallet::{RecordedFrames, Wallet};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Runs `tessera-wallet --keys tpm` of `env` on the TPM at `tcti`; returns the output and
/// the wall time.
fn run(env: &Env, tcti: &str, args: &[&str], stdin: Option<&str>) -> (Output, Duration) {
    use std::io::Write;
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tessera-wallet"))
        .args(["--issuer", &env.issuer, "--keystore-service", &env.service])
        .arg("--data-dir")
        .arg(&env.data)
        .args(env.anchor())
        .args(["--keys", "tpm"])
        .args(args)
        .env("TPM2TOOLS_TCTI", tcti)
        .env("TSS2_LOG", "all+NONE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    (out, started.elapsed())
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Three tries, no recovery within the test (swtpm starts like this; said explicitly).
fn set_da(sw: &SoftwareTpm, max_tries: u32) {
    let out = Command::new("tpm2_dictionarylockout")
        .args(["-T", &sw.tcti(), "--setup-parameters"])
        .arg(format!("--max-tries={max_tries}"))
        .args(["--recovery-time=600", "--lockout-recovery-time=600"])
        .output()
        .expect("tpm2_dictionarylockout runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

fn vault_of(env: &Env) -> Vault {
    let store =
        VaultStore::in_data_dir(Box::new(OsKeystore::open(&env.service).unwrap()), &env.data);
    Vault::load(&store).unwrap().expect("a vault")
}

fn upgraded(env: &Env, tcti: &str, pin: Option<&str>) -> (Output, Duration) {
    let obama = testdata().join("liveness/obama");
    let mut args = vec![
        "show",
        "--tier",
        "upgraded",
        "--face-frames",
        obama.to_str().unwrap(),
    ];
    if pin.is_some() {
        args.push("--pin-stdin");
    }
    run(env, tcti, &args, pin)
}

#[test]
fn attested_tpm_keys_pin_enforced_by_the_tpm_lockout_survives_copies_other_tpm_cannot_sign() {
    let mut sw = SoftwareTpm::start().expect("swtpm (apt-get install swtpm swtpm-tools)");
    set_da(&sw, 3);
    let tcti = sw.tcti();
    let dir = std::env::temp_dir().join(format!("tessera-wallet-tpm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The local CA's two certificates (its folder also holds keys and a serial file).
    let roots_dir = dir.join("tpm-roots");
    std::fs::create_dir_all(&roots_dir).unwrap();
    for f in ["issuercert.pem", "swtpm-localca-rootca-cert.pem"] {
        std::fs::copy(tessera_swtpm::local_ca_dir().join(f), roots_dir.join(f)).unwrap();
    }
    let roots =
        tessera_tpm_attestation::TrustedRoots::from_dir(&roots_dir).expect("swtpm's local CA");
    let env = Env {
        issuer: start_issuer_with(&dir, Some(roots)),
        data: dir.join("wallet"),
        service: format!("tessera-wallet-tpm-test-{}", std::process::id()),
    };
    let obama = testdata().join("liveness/obama");

    // Enrol with attested TPM keys; the PIN becomes the upgraded key's authValue.
    let (out, enrol_time) = run(
        &env,
        &tcti,
        &[
            "enrol",
            "--id-number",
            &obama_id(),
            "--frames",
            obama.to_str().unwrap(),
            "--pin-stdin",
        ],
        Some("246810\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let status = json(&out);
    assert_eq!(status["state"], "active");
    assert_eq!(status["pin_set"], true);
    assert_eq!(status["keys"], "tpm");
    assert_eq!(status["key_protection"], "hardware_with_pin", "{status}");
    assert_eq!(status["one_time_key_protection"], "hardware", "{status}");
    // The vault holds TPM blobs, no Argon2 verifier, no placeholder.
    let v = vault_of(&env);
    assert_eq!(v.key_holder(), "tpm");
    assert!(v.tpm_pin && v.pin_verifier.is_none() && v.device_key_auth.is_none());
    let main = tessera_tpm::KeyBlob::from_bytes(v.device_key.as_deref().unwrap()).unwrap();
    assert!(main.needs_pin().unwrap());
    let one = tessera_tpm::KeyBlob::from_bytes(&v.one_time[0].key).unwrap();
    assert!(!one.needs_pin().unwrap());

    // Both tiers show and verify at the desk.
    let (out, light_time) = run(&env, &tcti, &["show", "--tier", "lightweight"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let light = String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(check(&env.issuer, &light, None), Ok(StatusOutcome::Valid));
    let (out, upgraded_time) = upgraded(&env, &tcti, Some("246810\n"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let full = String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(
        check(&env.issuer, &full, Some(Tier::Upgraded)),
        Ok(StatusOutcome::Valid)
    );

    // A PIN change re-authorises the key (needs the current PIN); the old PIN is then wrong.
    let (out, _) = run(
        &env,
        &tcti,
        &["set-pin", "--current-pin-stdin"],
        Some("246810\n135790\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (out, _) = upgraded(&env, &tcti, Some("135790\n"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let full = String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(
        check(&env.issuer, &full, Some(Tier::Upgraded)),
        Ok(StatusOutcome::Valid)
    );

    // In process (the app's path, no process start): show → QR text with TPM keys.
    let wallet = Wallet::open(Box::new(OsKeystore::open(&env.service).unwrap()), &env.data)
        .unwrap()
        .with_key_holder(Box::new(TpmKeys::open_with(&tcti).unwrap()));
    let mut light_in = vec![];
    for _ in 0..4 {
        let t = Instant::now();
        let shown = wallet.show(Tier::Lightweight, None, None, now()).unwrap();
        light_in.push(t.elapsed());
        assert_eq!(
            check(&env.issuer, &shown.text, None),
            Ok(StatusOutcome::Valid)
        );
    }
    let t = Instant::now();
    wallet.authorise_change(Some("135790"), now()).unwrap();
    let pin_check = t.elapsed();
    let mut face = RecordedFrames(obama.clone());
    let t = Instant::now();
    let unlock = wallet
        .unlock_upgraded(Some("135790"), Some(&mut face), now())
        .unwrap();
    let unlock_time = t.elapsed();
    let showing = wallet.begin_showing(Tier::Upgraded, now()).unwrap();
    let mut full_in = vec![];
    for _ in 0..4 {
        let t = Instant::now();
        let shown = wallet.show_in(&showing, Some(&unlock), now()).unwrap();
        full_in.push(t.elapsed());
        assert_eq!(
            check(&env.issuer, &shown.text, Some(Tier::Upgraded)),
            Ok(StatusOutcome::Valid)
        );
    }
    // Another wallet object (e.g. a forged unlock) holds no PIN value: the TPM refuses.
    let other_wallet = Wallet::open(Box::new(OsKeystore::open(&env.service).unwrap()), &env.data)
        .unwrap()
        .with_key_holder(Box::new(TpmKeys::open_with(&tcti).unwrap()));
    let refused = other_wallet
        .show_in(&showing, Some(&unlock), now())
        .unwrap_err();
    assert!(refused.to_string().contains("needs its PIN"), "{refused}");
    drop((wallet, other_wallet));
    // The TPM's part of an attestation: the EK certificate and a new AK, then TPM2_Certify of
    // the main key (its PIN) and the 20 batch keys (as enrolment does after activation).
    let tpm = tessera_tpm::Tpm::open_with(&tcti).unwrap();
    let v = vault_of(&env);
    let t = Instant::now();
    let start = tpm.attestation_start().unwrap();
    let start_time = t.elapsed();
    let main_blob = tessera_tpm::KeyBlob::from_bytes(v.device_key.as_deref().unwrap()).unwrap();
    let auth = tessera_wallet::keys::pin_auth_value(v.pin_salt.as_deref().unwrap(), "135790");
    let t = Instant::now();
    tpm.certify(&start.ak, &main_blob, Some(&auth), &[9; 32])
        .unwrap();
    for o in &v.one_time {
        let b = tessera_tpm::KeyBlob::from_bytes(&o.key).unwrap();
        tpm.certify(&start.ak, &b, None, &[9; 32]).unwrap();
    }
    eprintln!(
        "attestation in the TPM (swtpm): attestation_start {start_time:?}, certify of {} keys {:?}",
        1 + v.one_time.len(),
        t.elapsed()
    );
    drop(tpm);
    eprintln!(
        "in process (debug build, swtpm): show lightweight → QR text {light_in:?}; PIN check by the TPM {pin_check:?}; \
         upgraded unlock (TPM PIN check + face check, models loaded) {unlock_time:?}; upgraded code (PIN signature) {full_in:?}"
    );

    // Without the PIN: no code.
    let (out, _) = upgraded(&env, &tcti, None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(out.stdout.is_empty());
    // The TPM itself refuses the upgraded key without its authValue (no signature).
    let tpm = tessera_tpm::Tpm::open_with(&tcti).unwrap();
    let main =
        tessera_tpm::KeyBlob::from_bytes(vault_of(&env).device_key.as_deref().unwrap()).unwrap();
    assert_eq!(
        tpm.sign(&main, None, b"x").unwrap_err(),
        tessera_tpm::TpmError::PinRequired
    );
    // A wrong PIN (the old one): refused by the TPM, and counted by it (try 1 of 3).
    let (out, _) = upgraded(&env, &tcti, Some("246810\n"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("wrong PIN"), "{}", text(&out));
    assert_eq!(tpm.dictionary_attack_status().unwrap().counter, 1);
    // A guess straight at the TPM with any value (as malware with the vault would): try 2.
    assert!(matches!(
        tpm.sign(&main, Some(&[7u8; 32]), b"x").unwrap_err(),
        tessera_tpm::TpmError::WrongPin { .. }
    ));
    let (out, _) = upgraded(&env, &tcti, Some("000001\n"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    // Locked out: even the right PIN is refused, with the wait the UI shows.
    let (out, _) = upgraded(&env, &tcti, Some("135790\n"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("too many wrong PINs"),
        "{}",
        text(&out)
    );
    // The basic code still works (its keys set noDA).
    let (out, _) = run(&env, &tcti, &["show", "--tier", "lightweight"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // A copy of the vault (keystore entry + sealed file) in a fresh wallet process: still
    // locked out, after a TPM restart too.
    let copy = Env {
        issuer: env.issuer.clone(),
        data: dir.join("wallet-copy"),
        service: format!("{}-copy", env.service),
    };
    let from = OsKeystore::open(&env.service).unwrap();
    let to = OsKeystore::open(&copy.service).unwrap();
    to.put(VAULT_ENTRY, &from.get(VAULT_ENTRY).unwrap().unwrap())
        .unwrap();
    copy_dir(&env.data.join("vault"), &copy.data.join("vault"));
    drop(tpm);
    sw.restart().unwrap();
    let tcti = sw.tcti();
    let (out, _) = upgraded(&copy, &tcti, Some("135790\n"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        stderr(&out).contains("too many wrong PINs"),
        "{}",
        text(&out)
    );
    assert!(out.stdout.is_empty());

    // The copy on another TPM cannot sign at all.
    let other = SoftwareTpm::start().unwrap();
    let (out, _) = run(
        &copy,
        &other.tcti(),
        &["show", "--tier", "lightweight"],
        None,
    );
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(out.stdout.is_empty());
    assert!(stderr(&out).contains("another TPM"), "{}", text(&out));
    let (out, _) = upgraded(&copy, &other.tcti(), Some("135790\n"));
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stderr(&out).contains("another TPM"), "{}", text(&out));
    // Read with software keys, the TPM vault is refused (never mistaken for scalars).
    let out = copy.run(
        &["--keys", "software", "show", "--tier", "lightweight"],
        None,
    );
    assert_ne!(out.status.code(), Some(0), "{}", text(&out));
    assert!(stderr(&out).contains("--keys tpm"), "{}", text(&out));
    // On the other TPM the copy can be removed without the PIN (it can never check it).
    let (out, _) = run(&copy, &other.tcti(), &["reset", "--yes"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // On its own TPM, removing the ID still needs the PIN (and, locked out, cannot be done).
    let (out, _) = run(&env, &tcti, &["reset", "--yes"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    eprintln!(
        "TPM timings (swtpm, debug build, whole CLI process): enrol with attestation {:?}, \
         show lightweight {:?}, show upgraded (PIN check by the TPM + face check) {:?}",
        enrol_time, light_time, upgraded_time
    );
    for e in [&env, &copy] {
        let _ = OsKeystore::open(&e.service).unwrap().delete(VAULT_ENTRY);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// An issuer that checks no TPM attestation (no `--tpm-roots`): the wallet sends none, its
/// keys are still in the TPM, the credentials say software. Renewal with TPM keys needs the
/// PIN (the new upgraded key is made with it) and refills make TPM keys too (refills carry
/// no attestation: their credentials say software).
#[test]
fn without_tpm_roots_the_credentials_say_software_renewal_needs_the_pin_refills_use_tpm_keys() {
    let sw = SoftwareTpm::start().expect("swtpm");
    let tcti = sw.tcti();
    let dir = std::env::temp_dir().join(format!("tessera-wallet-tpm-sw-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let env = Env {
        issuer: start_issuer_with(&dir, None),
        data: dir.join("wallet"),
        service: format!("tessera-wallet-tpm-sw-test-{}", std::process::id()),
    };
    let obama = testdata().join("liveness/obama");
    let obama = obama.to_str().unwrap();
    let (out, enrol_time) = run(
        &env,
        &tcti,
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
    let status = json(&out);
    assert_eq!(status["keys"], "tpm");
    assert_eq!(status["key_protection"], "software", "{status}");
    assert_eq!(status["one_time_key_protection"], "software", "{status}");
    eprintln!("enrolment with TPM keys, no attestation (CLI process, debug): {enrol_time:?}");
    // The PIN is still the TPM's (the key needs it), whatever the issuer checked.
    assert!(vault_of(&env).tpm_pin);
    let (out, _) = upgraded(&env, &tcti, Some("246810\n"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // `--keys auto` picks the vault's holder.
    let out = Command::new(env!("CARGO_BIN_EXE_tessera-wallet"))
        .args(["--keystore-service", &env.service, "--data-dir"])
        .arg(&env.data)
        .args(["--keys", "auto", "status"])
        .env("TPM2TOOLS_TCTI", &tcti)
        .output()
        .unwrap();
    assert_eq!(json(&out)["keys"], "tpm", "{}", text(&out));

    // Renewal: refused without the PIN, done with it; the new upgraded key needs the PIN.
    let (out, _) = run(&env, &tcti, &["renew", "--frames", obama], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(stderr(&out).contains("needs the PIN"), "{}", text(&out));
    let old_key = vault_of(&env).device_key.clone();
    let (out, _) = run(
        &env,
        &tcti,
        &["renew", "--frames", obama, "--pin-stdin"],
        Some("246810\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = vault_of(&env);
    assert_ne!(v.device_key, old_key);
    assert!(v.tpm_pin && v.device_key_auth.is_none());
    let main = tessera_tpm::KeyBlob::from_bytes(v.device_key.as_deref().unwrap()).unwrap();
    assert!(main.needs_pin().unwrap());
    let (out, _) = upgraded(&env, &tcti, Some("246810\n"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let full = String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(
        check(&env.issuer, &full, Some(Tier::Upgraded)),
        Ok(StatusOutcome::Valid)
    );

    // A code shown, then a refill: the shown credential retired, a new one on a new TPM key.
    let (out, _) = run(&env, &tcti, &["show", "--tier", "lightweight"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let light = String::from_utf8(out.stdout.clone())
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(check(&env.issuer, &light, None), Ok(StatusOutcome::Valid));
    let before: Vec<Vec<u8>> = v.one_time.iter().map(|o| o.key.clone()).collect();
    let (out, _) = run(&env, &tcti, &["refill"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json(&out)["issued"], 1, "{}", text(&out));
    let v = vault_of(&env);
    let fresh: Vec<_> = v
        .one_time
        .iter()
        .filter(|o| !before.contains(&o.key))
        .collect();
    assert_eq!(fresh.len(), 1);
    assert!(
        !tessera_tpm::KeyBlob::from_bytes(&fresh[0].key)
            .unwrap()
            .needs_pin()
            .unwrap()
    );
    let out = run(&env, &tcti, &["status"], None).0;
    assert_eq!(json(&out)["one_time_key_protection"], "software");

    let _ = OsKeystore::open(&env.service).unwrap().delete(VAULT_ENTRY);
    let _ = std::fs::remove_dir_all(&dir);
}
