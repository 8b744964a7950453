//! Device keys against a private software TPM per test.

use std::process::Command;

use p256::ecdsa::signature::Verifier;
use tessera_credential::keys::Es256Signer;
use tessera_swtpm::SoftwareTpm;
use tessera_tpm::{KeyAuth, KeyBlob, Tpm, TpmError, TpmSigner};
use zeroize::Zeroizing;

fn pin(p: &str) -> KeyAuth {
    KeyAuth::Pin(Zeroizing::new(p.as_bytes().to_vec()))
}

fn start() -> (SoftwareTpm, Tpm) {
    let sw = SoftwareTpm::start().expect("swtpm starts");
    let tpm = Tpm::open_with(&sw.tcti()).expect("TPM opens");
    (sw, tpm)
}

/// Low DA parameters: 3 tries, no automatic recovery within a test.
fn set_da(sw: &SoftwareTpm, max_tries: u32) {
    let out = Command::new("tpm2_dictionarylockout")
        .args(["-T", &sw.tcti(), "--setup-parameters"])
        .arg(format!("--max-tries={max_tries}"))
        .args(["--recovery-time=600", "--lockout-recovery-time=600"])
        .output()
        .expect("tpm2_dictionarylockout runs");
    assert!(
        out.status.success(),
        "tpm2_dictionarylockout: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn create_sign_verify_without_pin() {
    let (_sw, tpm) = start();
    let blob = tpm.create_key(KeyAuth::None).unwrap();
    assert!(!blob.needs_pin().unwrap());
    let key = blob.public_key().unwrap();
    let sig = tpm.sign(&blob, None, b"hello tessera").unwrap();
    key.verify(b"hello tessera", &sig).unwrap();
    assert!(key.verify(b"hello tessera!", &sig).is_err());
    // The stored form comes back intact and still signs.
    let again = KeyBlob::from_bytes(&blob.to_bytes()).unwrap();
    let sig = tpm.sign(&again, None, b"x").unwrap();
    key.verify(b"x", &sig).unwrap();
}

#[test]
fn create_sign_verify_with_pin_and_public_area_shows_policy() {
    let (_sw, tpm) = start();
    let blob = tpm.create_key(pin("123456")).unwrap();
    let area = blob.public_area().unwrap();
    assert!(area.is_pin_key());
    use tessera_tpm::public_area::attr;
    assert_eq!(area.attributes & attr::USER_WITH_AUTH, 0);
    assert_eq!(area.attributes & attr::ADMIN_WITH_POLICY, 0);
    assert_eq!(area.attributes & attr::NO_DA, 0);
    assert_ne!(area.attributes & attr::FIXED_TPM, 0);
    assert_ne!(area.attributes & attr::FIXED_PARENT, 0);
    assert_ne!(area.attributes & attr::SENSITIVE_DATA_ORIGIN, 0);
    assert_ne!(area.attributes & attr::SIGN, 0);
    assert_eq!(area.attributes & (attr::RESTRICTED | attr::DECRYPT), 0);
    assert_eq!(area.auth_policy, tessera_tpm::policy_auth_value_digest());
    let key = blob.public_key().unwrap();
    for i in 0..5 {
        let msg = format!("message {i}");
        let sig = tpm.sign(&blob, Some(b"123456"), msg.as_bytes()).unwrap();
        key.verify(msg.as_bytes(), &sig).unwrap();
        assert!(sig.normalize_s() == sig, "low s");
    }
}

#[test]
fn pin_key_refuses_without_or_with_wrong_pin() {
    let (_sw, tpm) = start();
    let blob = tpm.create_key(pin("123456")).unwrap();
    assert_eq!(
        tpm.sign(&blob, None, b"m").unwrap_err(),
        TpmError::PinRequired
    );
    let before = tpm.dictionary_attack_status().unwrap();
    let err = tpm.sign(&blob, Some(b"654321"), b"m").unwrap_err();
    assert!(matches!(err, TpmError::WrongPin { .. }), "{err:?}");
    let after = tpm.dictionary_attack_status().unwrap();
    assert_eq!(after.counter, before.counter + 1, "a wrong PIN counts");
    if let TpmError::WrongPin { tries_left } = err {
        assert_eq!(tries_left, Some(after.max_tries - after.counter));
    }
    // The right PIN still works.
    tpm.sign(&blob, Some(b"123456"), b"m").unwrap();
}

#[test]
fn lockout_after_threshold_even_with_right_pin_and_after_reboot() {
    let (mut sw, tpm) = start();
    // swtpm (libtpms) starts with 3 tries and 1000 s intervals.
    let defaults = tpm.dictionary_attack_status().unwrap();
    assert_eq!(
        (defaults.counter, defaults.max_tries),
        (0, 3),
        "{defaults:?}"
    );
    let open_key = tpm.create_key(KeyAuth::None).unwrap();
    set_da(&sw, 3);
    let status = tpm.dictionary_attack_status().unwrap();
    assert_eq!(status.max_tries, 3);
    assert_eq!(status.counter, 0);
    let blob = tpm.create_key(pin("123456")).unwrap();
    for _ in 0..3 {
        let err = tpm.sign(&blob, Some(b"000000"), b"m").unwrap_err();
        assert!(matches!(err, TpmError::WrongPin { .. }), "{err:?}");
    }
    let err = tpm.sign(&blob, Some(b"123456"), b"m").unwrap_err();
    assert!(matches!(err, TpmError::LockedOut { .. }), "{err:?}");
    if let TpmError::LockedOut { retry_after } = err {
        assert!(
            retry_after.is_some_and(|d| d.as_secs() >= 600),
            "{retry_after:?}"
        );
    }
    // The key without PIN sets noDA (an empty authValue has nothing to guess): wrong PINs
    // for the full tier do not block the basic codes.
    let signature = tpm.sign(&open_key, None, b"m").unwrap();
    use p256::ecdsa::signature::Verifier;
    open_key
        .public_key()
        .unwrap()
        .verify(b"m", &signature)
        .unwrap();
    drop(tpm);
    // A reboot, and a fresh process with a copy of the vault: still locked out.
    sw.restart().unwrap();
    let fresh = Tpm::open_with(&sw.tcti()).unwrap();
    let copy = KeyBlob::from_bytes(&blob.to_bytes()).unwrap();
    let err = fresh.sign(&copy, Some(b"123456"), b"m").unwrap_err();
    assert!(matches!(err, TpmError::LockedOut { .. }), "{err:?}");
    let status = fresh.dictionary_attack_status().unwrap();
    assert!(status.locked_out(), "{status:?}");
}

#[test]
fn blob_from_another_tpm_cannot_sign() {
    let (_sw1, tpm1) = start();
    let (_sw2, tpm2) = start();
    let blob = tpm1.create_key(KeyAuth::None).unwrap();
    let err = tpm2.sign(&blob, None, b"m").unwrap_err();
    assert_eq!(err, TpmError::NotThisTpm);
    let blob = tpm1.create_key(pin("123456")).unwrap();
    let err = tpm2.sign(&blob, Some(b"123456"), b"m").unwrap_err();
    assert_eq!(err, TpmError::NotThisTpm);
}

#[test]
fn change_auth_old_pin_refused_new_pin_signs() {
    let (_sw, tpm) = start();
    let blob = tpm.create_key(pin("111111")).unwrap();
    let new = tpm.change_auth(&blob, b"111111", b"222222").unwrap();
    assert_eq!(new.public, blob.public);
    assert_ne!(new.private, blob.private);
    let key = new.public_key().unwrap();
    let err = tpm.sign(&new, Some(b"111111"), b"m").unwrap_err();
    assert!(matches!(err, TpmError::WrongPin { .. }), "{err:?}");
    let sig = tpm.sign(&new, Some(b"222222"), b"m").unwrap();
    key.verify(b"m", &sig).unwrap();
    // A wrong old PIN does not change anything.
    let err = tpm.change_auth(&new, b"999999", b"333333").unwrap_err();
    assert!(matches!(err, TpmError::WrongPin { .. }), "{err:?}");
}

#[test]
fn change_auth_leaves_the_old_blob_usable_with_the_old_pin() {
    // Documented limitation: the TPM cannot revoke a private part it handed out, so the
    // vault must overwrite the old blob.
    let (_sw, tpm) = start();
    let blob = tpm.create_key(pin("111111")).unwrap();
    let _new = tpm.change_auth(&blob, b"111111", b"222222").unwrap();
    tpm.sign(&blob, Some(b"111111"), b"m").unwrap();
}

#[test]
fn tpm_signer_implements_es256_signer() {
    let (_sw, tpm) = start();
    let tpm = std::sync::Arc::new(tpm);
    let blob = tpm.create_key(pin("123456")).unwrap();
    let signer = TpmSigner::new(
        tpm.clone(),
        blob.clone(),
        Some(Zeroizing::new(b"123456".to_vec())),
    )
    .unwrap();
    let sig = signer.sign(b"sig structure").unwrap();
    signer.public_key().verify(b"sig structure", &sig).unwrap();
    let wrong = TpmSigner::new(tpm, blob, Some(Zeroizing::new(b"1".to_vec()))).unwrap();
    assert!(wrong.sign(b"x").is_err());
}

#[test]
fn unreachable_tpm_is_unavailable() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Tpm::open_with(&format!("swtpm:host=127.0.0.1,port={port}")).unwrap_err();
    assert!(matches!(err, TpmError::Unavailable { .. }), "{err:?}");
    let err = Tpm::open_with("nonsense:").unwrap_err();
    assert!(matches!(err, TpmError::Unavailable { .. }), "{err:?}");
}

#[test]
fn empty_or_overlong_pins_are_refused_before_the_tpm() {
    let (_sw, tpm) = start();
    for bad in [String::new(), "1".repeat(33)] {
        let err = tpm.create_key(pin(&bad)).unwrap_err();
        assert!(matches!(err, TpmError::Malformed { .. }), "{err:?}");
    }
    // 32 bytes is the most a SHA-256 key's authValue can hold.
    let blob = tpm.create_key(pin(&"7".repeat(32))).unwrap();
    tpm.sign(&blob, Some("7".repeat(32).as_bytes()), b"m")
        .unwrap();
    let err = tpm
        .change_auth(&blob, "7".repeat(32).as_bytes(), b"")
        .unwrap_err();
    assert!(matches!(err, TpmError::Malformed { .. }), "{err:?}");
    assert_eq!(tpm.dictionary_attack_status().unwrap().counter, 0);
}

#[test]
fn a_key_without_pin_takes_no_pin() {
    let (_sw, tpm) = start();
    let blob = tpm.create_key(KeyAuth::None).unwrap();
    assert_eq!(
        tpm.sign(&blob, Some(b"123456"), b"m").unwrap_err(),
        TpmError::NoPinOnThisKey
    );
    assert_eq!(
        tpm.change_auth(&blob, b"", b"123456").unwrap_err(),
        TpmError::NoPinOnThisKey
    );
    let start = tpm.attestation_start().unwrap();
    assert_eq!(
        tpm.certify(&start.ak, &blob, Some(b"1"), &[0; 32])
            .unwrap_err(),
        TpmError::NoPinOnThisKey
    );
}
