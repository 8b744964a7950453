//! End to end with the issuer's verifier (`tessera-tpm-attestation`, pure Rust): the
//! wallet side of this crate and the issuer side must agree on every byte.

use std::time::SystemTime;

use tessera_swtpm::SoftwareTpm;
use tessera_tpm::{KeyAuth, KeyCertification, Tpm, TpmError};
use tessera_tpm_attestation::{AttestationError, TrustedRoots, begin, qualifying_data, verify_key};
use zeroize::Zeroizing;

/// swtpm's local CA root and intermediate, copied (the CA directory also holds its keys).
fn local_ca_roots() -> (tempfile::TempDir, TrustedRoots) {
    let dir = tempfile::tempdir().unwrap();
    for f in ["swtpm-localca-rootca-cert.pem", "issuercert.pem"] {
        std::fs::copy(tessera_swtpm::local_ca_dir().join(f), dir.path().join(f)).unwrap();
    }
    let roots = TrustedRoots::from_dir(dir.path()).unwrap();
    (dir, roots)
}

fn to_issuer(c: &KeyCertification) -> tessera_tpm_attestation::KeyCertification {
    tessera_tpm_attestation::KeyCertification {
        key_public: c.key_public.clone(),
        certify_info: c.certify_info.clone(),
        signature: c.signature.clone(),
    }
}

#[test]
fn wallet_and_issuer_agree_end_to_end() {
    let sw = SoftwareTpm::start().unwrap();
    let tpm = Tpm::open_with(&sw.tcti()).unwrap();
    let (_dir, roots) = local_ca_roots();

    // 1. The wallet starts; the issuer checks the EK certificate and the AK and makes
    //    the credential.
    let start = tpm.attestation_start().unwrap();
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).unwrap();
    let (activation, state) = begin(
        &start.ek_certificate,
        &start.ak_public,
        &roots,
        SystemTime::now(),
        secret,
        &mut getrandom::SysRng,
    )
    .expect("the issuer accepts the EK certificate and the AK");

    // 2. The wallet activates it.
    let activated = tpm
        .activate(
            &start.ak,
            &activation.id_object,
            &activation.encrypted_secret,
        )
        .unwrap();
    assert_eq!(activated.as_slice(), secret);
    let activated: [u8; 32] = activated.as_slice().try_into().unwrap();

    // 3. The wallet certifies its device keys for the issuer's challenge.
    let nonce = b"issuer challenge nonce";
    let qd = qualifying_data(nonce, &activated);
    let pin_key = tpm
        .create_key(KeyAuth::Pin(Zeroizing::new(b"123456".to_vec())))
        .unwrap();
    let plain_key = tpm.create_key(KeyAuth::None).unwrap();

    let cert = tpm
        .certify(&start.ak, &pin_key, Some(b"123456"), &qd)
        .unwrap();
    let attested = verify_key(
        &state,
        nonce,
        &to_issuer(&cert),
        &pin_key.public_key().unwrap(),
    )
    .expect("the issuer accepts the PIN key");
    assert!(attested.requires_authorization);
    assert!(attested.dictionary_attack_protected);

    let cert = tpm.certify(&start.ak, &plain_key, None, &qd).unwrap();
    let attested = verify_key(
        &state,
        nonce,
        &to_issuer(&cert),
        &plain_key.public_key().unwrap(),
    )
    .expect("the issuer accepts the plain key");
    assert!(!attested.requires_authorization);
    // Keys without a PIN are made with noDA (da450ad), so that wrong PINs for the full tier
    // never lock out the other codes.
    assert!(!attested.dictionary_attack_protected);

    // Another challenge, or another key than claimed, is refused.
    assert!(matches!(
        verify_key(
            &state,
            b"other nonce",
            &to_issuer(&cert),
            &plain_key.public_key().unwrap()
        ),
        Err(AttestationError::QualifyingDataMismatch)
    ));
    assert!(matches!(
        verify_key(
            &state,
            nonce,
            &to_issuer(&cert),
            &pin_key.public_key().unwrap()
        ),
        Err(AttestationError::KeyMismatch)
    ));

    // Signatures from the certified keys verify with the keys the issuer attested.
    use p256::ecdsa::signature::Verifier;
    let sig = tpm
        .sign(&pin_key, Some(b"123456"), b"after attestation")
        .unwrap();
    pin_key
        .public_key()
        .unwrap()
        .verify(b"after attestation", &sig)
        .unwrap();
}

#[test]
fn a_credential_for_another_tpm_is_not_activated() {
    let sw1 = SoftwareTpm::start().unwrap();
    let sw2 = SoftwareTpm::start().unwrap();
    let tpm1 = Tpm::open_with(&sw1.tcti()).unwrap();
    let tpm2 = Tpm::open_with(&sw2.tcti()).unwrap();
    let (_dir, roots) = local_ca_roots();
    let start1 = tpm1.attestation_start().unwrap();
    let start2 = tpm2.attestation_start().unwrap();
    // A wallet presenting TPM 1's EK certificate with TPM 2's AK: TPM 2 cannot open it.
    let (activation, _state) = begin(
        &start1.ek_certificate,
        &start2.ak_public,
        &roots,
        SystemTime::now(),
        [5u8; 32],
        &mut getrandom::SysRng,
    )
    .unwrap();
    let err = tpm2
        .activate(
            &start2.ak,
            &activation.id_object,
            &activation.encrypted_secret,
        )
        .unwrap_err();
    assert_eq!(err, TpmError::CredentialMismatch);
}
