//! The client side of TCG credential activation and key certification, against a private
//! software TPM, with tpm2-tools' `tpm2_makecredential -T none` playing the issuer.

use std::path::Path;
use std::process::Command;

use p256::ecdsa::Signature;
use p256::ecdsa::signature::Verifier;
use sha2::{Digest, Sha256};
use tessera_swtpm::SoftwareTpm;
use tessera_tpm::{AkBlob, KeyAuth, Tpm, TpmError, tpm_name};
use zeroize::Zeroizing;

fn start() -> (SoftwareTpm, Tpm) {
    let sw = SoftwareTpm::start().expect("swtpm starts");
    let tpm = Tpm::open_with(&sw.tcti()).expect("TPM opens");
    (sw, tpm)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("tool runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What the issuer does: encrypts `secret` to the EK in `ek_cert_der` for the AK `name`.
/// Returns the marshalled TPM2B_ID_OBJECT and TPM2B_ENCRYPTED_SECRET.
fn make_credential(
    dir: &Path,
    ek_cert_der: &[u8],
    name: &[u8],
    secret: &[u8],
) -> (Vec<u8>, Vec<u8>) {
    let cert = dir.join("ek.der");
    let pem = dir.join("ek.pem");
    let secret_file = dir.join("secret.bin");
    let out = dir.join("cred.out");
    std::fs::write(&cert, ek_cert_der).unwrap();
    std::fs::write(&secret_file, secret).unwrap();
    run(Command::new("openssl")
        .args(["x509", "-inform", "DER", "-noout", "-pubkey", "-in"])
        .arg(&cert)
        .arg("-out")
        .arg(&pem));
    run(Command::new("tpm2_makecredential")
        .args(["-T", "none", "-G", "rsa", "-u"])
        .arg(&pem)
        .arg("-s")
        .arg(&secret_file)
        .args(["-n", &hex(name), "-o"])
        .arg(&out));
    let blob = std::fs::read(&out).unwrap();
    // tpm2-tools' file header: magic 0xBADCC0DE and version 1, then the two TPM2Bs.
    assert_eq!(&blob[..8], &[0xBA, 0xDC, 0xC0, 0xDE, 0, 0, 0, 1]);
    let rest = &blob[8..];
    let id_len = 2 + usize::from(u16::from_be_bytes([rest[0], rest[1]]));
    let (id_object, encrypted_secret) = rest.split_at(id_len);
    let es_len = 2 + usize::from(u16::from_be_bytes([
        encrypted_secret[0],
        encrypted_secret[1],
    ]));
    assert_eq!(encrypted_secret.len(), es_len);
    (id_object.to_vec(), encrypted_secret.to_vec())
}

#[test]
fn attestation_start_gives_ek_certificate_and_ak() {
    let (_sw, tpm) = start();
    let start = tpm.attestation_start().unwrap();
    // A DER SEQUENCE whose length covers exactly the bytes returned.
    let c = &start.ek_certificate;
    assert_eq!(c[0..2], [0x30, 0x82]);
    assert_eq!(usize::from(u16::from_be_bytes([c[2], c[3]])) + 4, c.len());
    assert_eq!(start.ak_public, start.ak.public);
    let area = tessera_tpm::PublicArea::parse(&start.ak_public).unwrap();
    use tessera_tpm::public_area::{self as pa, attr};
    assert_ne!(area.attributes & attr::RESTRICTED, 0);
    assert_ne!(area.attributes & attr::SIGN, 0);
    assert_ne!(area.attributes & attr::FIXED_TPM, 0);
    assert_eq!(area.attributes & attr::DECRYPT, 0);
    assert_eq!(area.name_alg, pa::TPM_ALG_SHA256);
    assert_eq!(
        (area.scheme, area.scheme_hash),
        (pa::TPM_ALG_ECDSA, pa::TPM_ALG_SHA256)
    );
    assert_eq!(area.curve, pa::TPM_ECC_NIST_P256);
    start.ak.public_key().unwrap();
    assert_eq!(AkBlob::from_bytes(&start.ak.to_bytes()).unwrap(), start.ak);
    // The same TPM gives the same EK certificate every time.
    assert_eq!(
        tpm.attestation_start().unwrap().ek_certificate,
        start.ek_certificate
    );
}

#[test]
fn activate_returns_the_secret_only_for_the_named_ak() {
    let (_sw, tpm) = start();
    let dir = tempfile::tempdir().unwrap();
    let start = tpm.attestation_start().unwrap();
    let other = tpm.attestation_start().unwrap();
    let name = tpm_name(&start.ak_public).unwrap();
    assert_eq!(name.len(), 34);
    let secret = b"0123456789abcdef0123456789abcdef";
    let (id_object, encrypted_secret) =
        make_credential(dir.path(), &start.ek_certificate, &name, secret);
    let got = tpm
        .activate(&start.ak, &id_object, &encrypted_secret)
        .unwrap();
    assert_eq!(got.as_slice(), secret);
    // Made for another AK's name: the TPM refuses to release it to this one.
    let other_name = other.ak.name().unwrap();
    let (id_object, encrypted_secret) =
        make_credential(dir.path(), &start.ek_certificate, &other_name, secret);
    let err = tpm
        .activate(&start.ak, &id_object, &encrypted_secret)
        .unwrap_err();
    assert!(matches!(err, TpmError::CredentialMismatch), "{err:?}");
    // ... and the right AK gets it.
    let got = tpm
        .activate(&other.ak, &id_object, &encrypted_secret)
        .unwrap();
    assert_eq!(got.as_slice(), secret);
    // Garbage is refused before the TPM sees it.
    let err = tpm
        .activate(&start.ak, &id_object[1..], &encrypted_secret)
        .unwrap_err();
    assert!(matches!(err, TpmError::Malformed { .. }), "{err:?}");
}

#[test]
fn activate_on_another_tpm_fails() {
    let (_sw1, tpm1) = start();
    let (_sw2, tpm2) = start();
    let dir = tempfile::tempdir().unwrap();
    let start1 = tpm1.attestation_start().unwrap();
    let start2 = tpm2.attestation_start().unwrap();
    // A credential for TPM 1's EK and TPM 2's AK name: TPM 2's EK cannot open it.
    let (id_object, encrypted_secret) = make_credential(
        dir.path(),
        &start1.ek_certificate,
        &start2.ak.name().unwrap(),
        b"s3cret",
    );
    let err = tpm2
        .activate(&start2.ak, &id_object, &encrypted_secret)
        .unwrap_err();
    assert_eq!(err, TpmError::CredentialMismatch);
    // (libtpms answers with TPM_RC_FAILURE here but stays usable.)
    tpm2.create_key(KeyAuth::None).unwrap();
    // TPM 1 cannot load TPM 2's AK.
    let err = tpm1
        .activate(&start2.ak, &id_object, &encrypted_secret)
        .unwrap_err();
    assert_eq!(err, TpmError::NotThisTpm);
}

/// Enough of TPMS_ATTEST to check a certification.
struct Attest {
    magic: u32,
    kind: u16,
    extra_data: Vec<u8>,
    name: Vec<u8>,
}

fn parse_attest(b: &[u8]) -> Attest {
    let mut at = 0usize;
    let mut take = |n: usize| {
        let s = &b[at..at + n];
        at += n;
        s.to_vec()
    };
    let magic = u32::from_be_bytes(take(4).try_into().unwrap());
    let kind = u16::from_be_bytes(take(2).try_into().unwrap());
    let n = u16::from_be_bytes(take(2).try_into().unwrap());
    let _qualified_signer = take(n.into());
    let n = u16::from_be_bytes(take(2).try_into().unwrap());
    let extra_data = take(n.into());
    let _clock_info = take(8 + 4 + 4 + 1);
    let _firmware = take(8);
    let n = u16::from_be_bytes(take(2).try_into().unwrap());
    let name = take(n.into());
    let n = u16::from_be_bytes(take(2).try_into().unwrap());
    let _qualified_name = take(n.into());
    assert_eq!(at, b.len(), "no trailing bytes");
    Attest {
        magic,
        kind,
        extra_data,
        name,
    }
}

fn check_certification(ak: &AkBlob, cert: &tessera_tpm::KeyCertification, qualifying: &[u8]) {
    let info = &cert.certify_info;
    let size = usize::from(u16::from_be_bytes([info[0], info[1]]));
    assert_eq!(size + 2, info.len());
    let attest_bytes = &info[2..];
    let attest = parse_attest(attest_bytes);
    assert_eq!(attest.magic, 0xff54_4347);
    assert_eq!(attest.kind, 0x8017);
    assert_eq!(attest.extra_data, qualifying);
    assert_eq!(attest.name, tpm_name(&cert.key_public).unwrap());
    // TPMT_SIGNATURE: ECDSA, SHA-256, r, s.
    let s = &cert.signature;
    assert_eq!(&s[..4], &[0x00, 0x18, 0x00, 0x0B]);
    let rl = usize::from(u16::from_be_bytes([s[4], s[5]]));
    let r = &s[6..6 + rl];
    let sl = usize::from(u16::from_be_bytes([s[6 + rl], s[7 + rl]]));
    let sv = &s[8 + rl..8 + rl + sl];
    assert_eq!(s.len(), 8 + rl + sl);
    let mut rs = [0u8; 64];
    rs[32 - r.len()..32].copy_from_slice(r);
    rs[64 - sv.len()..].copy_from_slice(sv);
    let sig = Signature::from_slice(&rs).unwrap().normalize_s();
    // The AK signed SHA-256 of the TPMS_ATTEST bytes.
    ak.public_key().unwrap().verify(attest_bytes, &sig).unwrap();
    let mut tampered = attest_bytes.to_vec();
    tampered[10] ^= 1;
    assert!(ak.public_key().unwrap().verify(&tampered, &sig).is_err());
}

#[test]
fn certify_a_pin_key_and_a_plain_key() {
    let (_sw, tpm) = start();
    let start = tpm.attestation_start().unwrap();
    let mut h = Sha256::new();
    h.update(b"tessera-tpm-certify-v1");
    h.update([7u8; 32]); // challenge nonce
    h.update([9u8; 32]); // activated secret
    let qualifying = h.finalize().to_vec();

    let pin_key = tpm
        .create_key(KeyAuth::Pin(Zeroizing::new(b"123456".to_vec())))
        .unwrap();
    let cert = tpm
        .certify(&start.ak, &pin_key, Some(b"123456"), &qualifying)
        .unwrap();
    assert_eq!(cert.key_public, pin_key.public);
    check_certification(&start.ak, &cert, &qualifying);
    assert!(
        tessera_tpm::PublicArea::parse(&cert.key_public)
            .unwrap()
            .is_pin_key()
    );

    let err = tpm
        .certify(&start.ak, &pin_key, Some(b"000000"), &qualifying)
        .unwrap_err();
    assert!(matches!(err, TpmError::WrongPin { .. }), "{err:?}");

    let plain = tpm.create_key(KeyAuth::None).unwrap();
    let cert = tpm.certify(&start.ak, &plain, None, &qualifying).unwrap();
    check_certification(&start.ak, &cert, &qualifying);
    assert!(
        !tessera_tpm::PublicArea::parse(&cert.key_public)
            .unwrap()
            .is_pin_key()
    );

    // A key from another TPM cannot be certified here.
    let (_sw2, tpm2) = {
        let sw = SoftwareTpm::start().unwrap();
        let t = Tpm::open_with(&sw.tcti()).unwrap();
        (sw, t)
    };
    let foreign = tpm2.create_key(KeyAuth::None).unwrap();
    let err = tpm
        .certify(&start.ak, &foreign, None, &qualifying)
        .unwrap_err();
    assert_eq!(err, TpmError::NotThisTpm);
}
