//! Pure-Rust properties, without a TPM: the parsers never panic on any input, every change
//! of valid evidence is refused, and fixed vectors from swtpm (testdata/) still pass.
//!
//! The valid evidence here is made in software (an AK key held by the test): it exercises
//! the byte formats and the checks after the signature, not the TPM binding — that comes
//! from the activation, tested against swtpm in tests/swtpm.rs.

use std::time::SystemTime;

use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use tessera_tpm_attestation::{
    ActivationState, AttestationError, AttestedKey, KeyCertification, TrustedRoots, begin,
    policy_auth_value_digest, qualifying_data, verify_key,
};

const NONCE: &[u8] = b"nonce";
const SECRET: [u8; 32] = [0x5e; 32];
const FIXED_TPM: u32 = 1 << 1;
const FIXED_PARENT: u32 = 1 << 4;
const SENSITIVE_DATA_ORIGIN: u32 = 1 << 5;
const USER_WITH_AUTH: u32 = 1 << 6;
const NO_DA: u32 = 1 << 10;
const RESTRICTED: u32 = 1 << 16;
const SIGN: u32 = 1 << 18;
const DEVICE_KEY: u32 = FIXED_TPM | FIXED_PARENT | SENSITIVE_DATA_ORIGIN | SIGN;

fn testdata(name: &str) -> Vec<u8> {
    std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/").to_owned() + name).unwrap()
}

fn roots() -> TrustedRoots {
    TrustedRoots::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/roots")).unwrap()
}

fn tpm2b(v: &[u8]) -> Vec<u8> {
    let mut out = (v.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(v);
    out
}

/// A TPMT_PUBLIC of an ECC P-256 ECDSA-SHA256 key (TPM 2.0 Part 2 §12.2.4).
fn ecc_tpmt(key: &VerifyingKey, attributes: u32, policy: &[u8]) -> Vec<u8> {
    let point = key.to_sec1_point(false);
    let xy = &point.as_bytes()[1..];
    let mut t = Vec::new();
    t.extend_from_slice(&0x0023u16.to_be_bytes()); // TPM_ALG_ECC
    t.extend_from_slice(&0x000Bu16.to_be_bytes()); // nameAlg SHA-256
    t.extend_from_slice(&attributes.to_be_bytes());
    t.extend(tpm2b(policy));
    t.extend_from_slice(&0x0010u16.to_be_bytes()); // symmetric NULL
    t.extend_from_slice(&0x0018u16.to_be_bytes()); // ECDSA
    t.extend_from_slice(&0x000Bu16.to_be_bytes()); // SHA-256
    t.extend_from_slice(&0x0003u16.to_be_bytes()); // NIST P-256
    t.extend_from_slice(&0x0010u16.to_be_bytes()); // kdf NULL
    t.extend(tpm2b(&xy[..32]));
    t.extend(tpm2b(&xy[32..]));
    t
}

fn name(tpmt: &[u8]) -> Vec<u8> {
    let mut n = vec![0x00, 0x0B];
    n.extend_from_slice(&Sha256::digest(tpmt));
    n
}

/// TPMS_ATTEST of type TPM_ST_ATTEST_CERTIFY (Part 2 §10.12.12).
fn attest(magic: u32, extra: &[u8], certified_name: &[u8]) -> Vec<u8> {
    let mut a = Vec::new();
    a.extend_from_slice(&magic.to_be_bytes());
    a.extend_from_slice(&0x8017u16.to_be_bytes());
    a.extend(tpm2b(&[0x00, 0x0B].repeat(17))); // qualifiedSigner (not checked)
    a.extend(tpm2b(extra));
    a.extend_from_slice(&[0u8; 17]); // clockInfo
    a.extend_from_slice(&[0u8; 8]); // firmwareVersion
    a.extend(tpm2b(certified_name));
    a.extend(tpm2b(certified_name)); // qualifiedName (not checked)
    a
}

fn sign(ak: &SigningKey, attest: &[u8]) -> Vec<u8> {
    let sig: Signature = ak.sign_prehash(&Sha256::digest(attest)).unwrap();
    let (r, s) = sig.split_bytes();
    let mut t = Vec::new();
    t.extend_from_slice(&0x0018u16.to_be_bytes());
    t.extend_from_slice(&0x000Bu16.to_be_bytes());
    t.extend(tpm2b(&r));
    t.extend(tpm2b(&s));
    t
}

struct Fixture {
    ak: SigningKey,
    state: ActivationState,
    device: VerifyingKey,
}

fn fixture() -> Fixture {
    let ak = SigningKey::from_slice(&[0x11; 32]).unwrap();
    let device = *SigningKey::from_slice(&[0x22; 32]).unwrap().verifying_key();
    let point = ak.verifying_key().to_sec1_point(false);
    let xy = &point.as_bytes()[1..];
    let json = serde_json::json!({ "ak_x": &xy[..32], "ak_y": &xy[32..], "secret": SECRET });
    let state = serde_json::from_value(json).unwrap();
    Fixture { ak, state, device }
}

fn certification(f: &Fixture, attributes: u32, policy: &[u8], magic: u32) -> KeyCertification {
    let tpmt = ecc_tpmt(&f.device, attributes, policy);
    let a = attest(magic, &qualifying_data(NONCE, &SECRET), &name(&tpmt));
    KeyCertification {
        key_public: tpm2b(&tpmt),
        signature: sign(&f.ak, &a),
        certify_info: tpm2b(&a),
    }
}

#[test]
fn software_made_evidence_passes_and_each_attribute_matters() {
    let f = fixture();
    let ok = |attrs, policy: &[u8]| {
        verify_key(
            &f.state,
            NONCE,
            &certification(&f, attrs, policy, 0xff54_4347),
            &f.device,
        )
    };
    let pin_policy = policy_auth_value_digest();
    assert_eq!(
        ok(DEVICE_KEY | USER_WITH_AUTH, &[]),
        Ok(AttestedKey {
            requires_authorization: false,
            dictionary_attack_protected: true
        })
    );
    assert_eq!(
        ok(DEVICE_KEY, &pin_policy),
        Ok(AttestedKey {
            requires_authorization: true,
            dictionary_attack_protected: true
        })
    );
    // userWithAuth set: the authValue is not required (a policy session is not needed).
    assert_eq!(
        ok(DEVICE_KEY | USER_WITH_AUTH, &pin_policy),
        Ok(AttestedKey {
            requires_authorization: false,
            dictionary_attack_protected: true
        })
    );
    // Another policy: not reported as requiring the authValue.
    assert_eq!(
        ok(DEVICE_KEY, &[0xAB; 32]),
        Ok(AttestedKey {
            requires_authorization: false,
            dictionary_attack_protected: true
        })
    );
    assert_eq!(
        ok(DEVICE_KEY | USER_WITH_AUTH | NO_DA, &[]),
        Ok(AttestedKey {
            requires_authorization: false,
            dictionary_attack_protected: false
        })
    );
    assert_eq!(
        ok(DEVICE_KEY | NO_DA, &pin_policy),
        Err(AttestationError::PinKeyWithoutLockout)
    );
    assert!(matches!(
        ok(DEVICE_KEY & !FIXED_TPM, &[]),
        Err(AttestationError::KeyNotGeneratedInTpm(_))
    ));
    assert!(matches!(
        ok(DEVICE_KEY & !FIXED_PARENT, &[]),
        Err(AttestationError::KeyNotGeneratedInTpm(_))
    ));
    assert!(matches!(
        ok(DEVICE_KEY & !SENSITIVE_DATA_ORIGIN, &[]),
        Err(AttestationError::KeyNotGeneratedInTpm(_))
    ));
    assert!(matches!(
        ok(DEVICE_KEY & !SIGN, &[]),
        Err(AttestationError::KeyNotSigningKey(_))
    ));
    assert!(matches!(
        ok(DEVICE_KEY | RESTRICTED, &[]),
        Err(AttestationError::KeyNotSigningKey(_))
    ));
    assert!(matches!(
        ok(DEVICE_KEY | (1 << 17), &[]),
        Err(AttestationError::KeyNotSigningKey(_))
    ));
}

/// A restricted AK signs nothing starting with TPM_GENERATED_VALUE unless the TPM made it;
/// anything else it signed is refused.
#[test]
fn a_structure_not_generated_by_the_tpm_is_refused() {
    let f = fixture();
    let c = certification(&f, DEVICE_KEY, &[], 0x1234_5678);
    assert_eq!(
        verify_key(&f.state, NONCE, &c, &f.device),
        Err(AttestationError::NotTpmGenerated)
    );
}

#[test]
fn a_quote_is_not_a_certification() {
    let f = fixture();
    let mut a = attest(0xff54_4347, &qualifying_data(NONCE, &SECRET), &[]);
    a[4..6].copy_from_slice(&0x8018u16.to_be_bytes()); // TPM_ST_ATTEST_QUOTE
    let c = KeyCertification {
        key_public: tpm2b(&ecc_tpmt(&f.device, DEVICE_KEY, &[])),
        signature: sign(&f.ak, &a),
        certify_info: tpm2b(&a),
    };
    assert_eq!(
        verify_key(&f.state, NONCE, &c, &f.device),
        Err(AttestationError::NotACertification(0x8018))
    );
}

#[test]
fn a_signature_by_another_key_is_refused() {
    let f = fixture();
    let other = SigningKey::from_slice(&[0x33; 32]).unwrap();
    let mut c = certification(&f, DEVICE_KEY, &[], 0xff54_4347);
    let a = &c.certify_info[2..];
    c.signature = sign(&other, a);
    assert_eq!(
        verify_key(&f.state, NONCE, &c, &f.device),
        Err(AttestationError::BadSignature)
    );
}

/// swtpm's AK public and Name (tpm2_createak -u/-n), EK certificate and local CA.
#[test]
fn swtpm_vectors() {
    let ak = testdata("swtpm-ak.pub");
    let expected_name = testdata("swtpm-ak.name");
    assert_eq!(name(&ak[2..]), expected_name);
    let ek = testdata("swtpm-ek-rsa.der");
    let (activation, state) = begin(
        &ek,
        &ak,
        &roots(),
        SystemTime::now(),
        SECRET,
        &mut getrandom::SysRng,
    )
    .unwrap();
    // TPM2B_ID_OBJECT: size, TPM2B_DIGEST(HMAC-SHA-256), encrypted TPM2B_DIGEST(secret).
    assert_eq!(activation.id_object.len(), 2 + 2 + 32 + 2 + 32);
    assert_eq!(&activation.id_object[..4], &[0x00, 0x44, 0x00, 0x20]);
    // TPM2B_ENCRYPTED_SECRET: RSA 2048 ciphertext.
    assert_eq!(&activation.encrypted_secret[..2], &[0x01, 0x00]);
    assert_eq!(activation.encrypted_secret.len(), 258);
    let point = state.ak_key().unwrap().to_sec1_point(false);
    assert_eq!(&point.as_bytes()[1..33], &ak[24..56]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(
        a in proptest::collection::vec(any::<u8>(), 0..200),
        b in proptest::collection::vec(any::<u8>(), 0..200),
        c in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let f = fixture();
        let cert = KeyCertification { key_public: a.clone(), certify_info: b.clone(), signature: c };
        prop_assert!(verify_key(&f.state, &b, &cert, &f.device).is_err());
        let now = SystemTime::now();
        prop_assert!(begin(&a, &b, &roots(), now, SECRET, &mut getrandom::SysRng).is_err());
        // With a valid EK certificate, random AK bytes reach the AK parser.
        let ek = testdata("swtpm-ek-rsa.der");
        prop_assert!(begin(&ek, &a, &roots(), now, SECRET, &mut getrandom::SysRng).is_err());
    }

    #[test]
    fn changed_evidence_never_panics_and_is_refused(
        field in 0usize..3,
        at in any::<prop::sample::Index>(),
        xor in 1u8..=255,
        cut in any::<bool>(),
        extra in proptest::collection::vec(any::<u8>(), 0..4),
    ) {
        let f = fixture();
        let mut c = certification(&f, DEVICE_KEY, &policy_auth_value_digest(), 0xff54_4347);
        let v = match field {
            0 => &mut c.key_public,
            1 => &mut c.certify_info,
            _ => &mut c.signature,
        };
        let i = at.index(v.len());
        if cut {
            v.truncate(i);
            v.extend_from_slice(&extra);
        } else {
            v[i] ^= xor;
        }
        let original = certification(&f, DEVICE_KEY, &policy_auth_value_digest(), 0xff54_4347);
        prop_assume!(c != original);
        prop_assert!(verify_key(&f.state, NONCE, &c, &f.device).is_err());
    }

    #[test]
    fn random_ak_publics_with_valid_framing_never_panic(
        body in proptest::collection::vec(any::<u8>(), 0..120),
    ) {
        let ek = testdata("swtpm-ek-rsa.der");
        let mut ak = vec![0x00, 0x23, 0x00, 0x0B];
        ak.extend_from_slice(&body);
        let framed = tpm2b(&ak);
        prop_assert!(begin(&ek, &framed, &roots(), SystemTime::now(), SECRET, &mut getrandom::SysRng).is_err());
    }
}

/// Each AK refusal of `begin` (the EK certificate is swtpm's, from testdata).
#[test]
fn ak_refusals() {
    let ek = testdata("swtpm-ek-rsa.der");
    let ak = *SigningKey::from_slice(&[0x44; 32]).unwrap().verifying_key();
    const AK: u32 = DEVICE_KEY | RESTRICTED | USER_WITH_AUTH;
    let try_ak = |edit: &dyn Fn(&mut Vec<u8>)| {
        let mut t = ecc_tpmt(&ak, AK, &[]);
        edit(&mut t);
        begin(
            &ek,
            &tpm2b(&t),
            &roots(),
            SystemTime::now(),
            SECRET,
            &mut getrandom::SysRng,
        )
        .map(|_| ())
    };
    assert_eq!(try_ak(&|_| {}), Ok(()));
    let set =
        |at: usize, v: u16| move |t: &mut Vec<u8>| t[at..at + 2].copy_from_slice(&v.to_be_bytes());
    let unsupported = |r: Result<(), AttestationError>| {
        assert!(
            matches!(r, Err(AttestationError::AkAlgorithmUnsupported(_))),
            "{r:?}"
        )
    };
    unsupported(try_ak(&set(0, 0x0001))); // TPM_ALG_RSA
    unsupported(try_ak(&set(2, 0x0004))); // nameAlg SHA-1
    unsupported(try_ak(&set(16, 0x0004))); // NIST P-384
    unsupported(try_ak(&set(14, 0x000C))); // ECDSA with SHA-384
    let attrs = |a: u32| move |t: &mut Vec<u8>| t[4..8].copy_from_slice(&a.to_be_bytes());
    for (a, why) in [
        (AK & !RESTRICTED, "restricted is clear"),
        (AK & !FIXED_TPM, "fixedTPM is clear"),
        (AK & !SENSITIVE_DATA_ORIGIN, "sensitiveDataOrigin is clear"),
        (AK | (1 << 17), "decrypt is set"),
    ] {
        assert_eq!(
            try_ak(&attrs(a)),
            Err(AttestationError::AkNotRestrictedTpmKey(why))
        );
    }
    // A point off the curve.
    let r = try_ak(&|t: &mut Vec<u8>| {
        let last = t.len() - 1;
        t[last] ^= 1;
    });
    unsupported(r);
    assert!(matches!(
        begin(
            &ek,
            &[0x00, 0x05, 0x00],
            &roots(),
            SystemTime::now(),
            SECRET,
            &mut getrandom::SysRng
        ),
        Err(AttestationError::AkPublicMalformed(_))
    ));
}
