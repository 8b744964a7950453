//! The issuer's checks against evidence made by a real software TPM (swtpm) driven with
//! tpm2-tools, independently of the wallet's code: the EK certificate read from NV, an AK
//! from tpm2_createak, the credential opened by tpm2_activatecredential, and TPM2_Certify
//! sent raw with tpm2_send (tpm2-tools 5.4's tpm2_certify cannot pass qualifying data).
//!
//! The TPM work is done once (about 3 s) and shared; each test then checks one accepted or
//! refused case.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use p256::ecdsa::VerifyingKey;
use p256::pkcs8::DecodePublicKey;
use tessera_swtpm::SoftwareTpm;
use tessera_tpm_attestation::{
    Activation, ActivationState, AttestationError, AttestedKey, KeyCertification, TrustedRoots,
    begin, policy_auth_value_digest, qualifying_data, verify_key,
};

const AK_HANDLE: u32 = 0x8100_0010;
const AK2_HANDLE: u32 = 0x8100_0013;
const PLAIN_HANDLE: u32 = 0x8100_0011;
const PIN_HANDLE: u32 = 0x8100_0012;
const SOFTWARE_HANDLE: u32 = 0x8100_0014;
const PIN: &str = "123456";
const NONCE: &[u8] = b"issuer challenge nonce 1";

struct Evidence {
    ek_cert: Vec<u8>,
    ecc_ek_cert: Vec<u8>,
    ak_public: Vec<u8>,
    ak2_public: Vec<u8>,
    state: ActivationState,
    activated_with_other_ak: bool,
    /// What the TPM gave back from the credential made for its P-256 EK.
    ecc_activated: Option<Vec<u8>>,
    plain: (KeyCertification, VerifyingKey),
    pin: (KeyCertification, VerifyingKey),
    software: (KeyCertification, VerifyingKey),
    /// The plain key certified by the second AK, with qualifying data from a guessed
    /// secret (what a wallet that could not activate would send).
    by_other_ak: KeyCertification,
    tpm_policy_digest: Vec<u8>,
    roots_dir: tempfile::TempDir,
    _work: tempfile::TempDir,
}

fn evidence() -> &'static Evidence {
    static E: OnceLock<Evidence> = OnceLock::new();
    E.get_or_init(make_evidence)
}

/// The trusted roots of the tests: swtpm's local CA root and intermediate, copied (the CA
/// directory also holds its private keys).
fn local_ca_roots() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["swtpm-localca-rootca-cert.pem", "issuercert.pem"] {
        std::fs::copy(tessera_swtpm::local_ca_dir().join(f), dir.path().join(f)).unwrap();
    }
    dir
}

struct Tools<'a> {
    tcti: String,
    dir: &'a Path,
}

impl Tools<'_> {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Runs a tpm2 tool in the work directory; returns (success, stdout, stderr). Transient
    /// objects are flushed afterwards (there is no resource manager).
    fn try_run(&self, tool: &str, args: &[&str]) -> (bool, Vec<u8>, String) {
        let out = Command::new(tool)
            .args(["-T", &self.tcti])
            .args(args)
            .current_dir(self.dir)
            .output()
            .unwrap_or_else(|e| panic!("{tool}: {e} (install tpm2-tools)"));
        let flush = Command::new("tpm2_flushcontext")
            .args(["-T", &self.tcti, "-t"])
            .output()
            .unwrap();
        assert!(flush.status.success());
        (
            out.status.success(),
            out.stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn run(&self, tool: &str, args: &[&str]) -> Vec<u8> {
        let (ok, stdout, stderr) = self.try_run(tool, args);
        assert!(ok, "{tool} {args:?} failed: {stderr}");
        stdout
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    /// The key's public point, read by tpm2-tools as a DER SubjectPublicKeyInfo.
    fn verifying_key(&self, ctx: &str) -> VerifyingKey {
        let der = format!("{ctx}.spki.der");
        self.run("tpm2_readpublic", &["-c", ctx, "-f", "der", "-o", &der]);
        VerifyingKey::from_public_key_der(&self.read(&der)).unwrap()
    }

    /// TPM2_Certify(object, AK, qualifyingData, scheme NULL) with password sessions (TPM 2.0
    /// Part 3 §18.2), sent raw; returns the KeyCertification as the wallet sends it.
    fn certify(
        &self,
        object: u32,
        object_auth: &str,
        ak: u32,
        qualifying: &[u8],
        key_public: Vec<u8>,
    ) -> KeyCertification {
        let pw_session = |auth: &[u8]| {
            let mut s = Vec::new();
            s.extend_from_slice(&0x4000_0009u32.to_be_bytes()); // TPM_RS_PW
            s.extend_from_slice(&0u16.to_be_bytes()); // nonce
            s.push(0); // sessionAttributes
            s.extend_from_slice(&(auth.len() as u16).to_be_bytes());
            s.extend_from_slice(auth);
            s
        };
        let mut auth = pw_session(object_auth.as_bytes());
        auth.extend(pw_session(b""));
        let mut body = Vec::new();
        body.extend_from_slice(&object.to_be_bytes());
        body.extend_from_slice(&ak.to_be_bytes());
        body.extend_from_slice(&(auth.len() as u32).to_be_bytes());
        body.extend(auth);
        body.extend_from_slice(&(qualifying.len() as u16).to_be_bytes());
        body.extend_from_slice(qualifying);
        body.extend_from_slice(&0x0010u16.to_be_bytes()); // inScheme: TPM_ALG_NULL
        let mut cmd = Vec::new();
        cmd.extend_from_slice(&0x8002u16.to_be_bytes()); // TPM_ST_SESSIONS
        cmd.extend_from_slice(&((10 + body.len()) as u32).to_be_bytes());
        cmd.extend_from_slice(&0x0000_0148u32.to_be_bytes()); // TPM_CC_Certify
        cmd.extend(body);
        std::fs::write(self.path("certify.cmd"), &cmd).unwrap();
        self.run("tpm2_send", &["-o", "certify.rsp", "certify.cmd"]);
        let rsp = self.read("certify.rsp");
        let rc = u32::from_be_bytes(rsp[6..10].try_into().unwrap());
        assert_eq!(rc, 0, "TPM2_Certify failed: {rc:#x}");
        // header (10) ‖ parameterSize (4) ‖ TPM2B_ATTEST ‖ TPMT_SIGNATURE ‖ sessions
        let param_size = u32::from_be_bytes(rsp[10..14].try_into().unwrap()) as usize;
        let params = &rsp[14..14 + param_size];
        let attest_len = 2 + u16::from_be_bytes([params[0], params[1]]) as usize;
        KeyCertification {
            key_public,
            certify_info: params[..attest_len].to_vec(),
            signature: params[attest_len..].to_vec(),
        }
    }
}

fn make_evidence() -> Evidence {
    let tpm = SoftwareTpm::start().expect("software TPM");
    let work = tempfile::tempdir().unwrap();
    let t = Tools {
        tcti: tpm.tcti(),
        dir: work.path(),
    };

    // 1. The wallet's EK certificates (RSA at 0x01c00002, ECC P-384 at 0x01c00016), the EK and
    //    an ECC P-256 AK.
    t.run("tpm2_nvread", &["0x01c00002", "-o", "ek.der"]);
    t.run("tpm2_nvread", &["0x01c00016", "-o", "ek-ecc.der"]);
    t.run(
        "tpm2_createek",
        &["-c", "ek.ctx", "-G", "rsa", "-u", "ek.pub"],
    );
    let ak_args = |n: &str| {
        [
            "-C",
            "ek.ctx",
            "-c",
            &format!("{n}.ctx"),
            "-G",
            "ecc",
            "-g",
            "sha256",
            "-s",
            "ecdsa",
            "-u",
            &format!("{n}.pub"),
            "-f",
            "tss",
        ]
        .map(str::to_owned)
    };
    let args = ak_args("ak");
    t.run(
        "tpm2_createak",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let args = ak_args("ak2");
    t.run(
        "tpm2_createak",
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let ek_cert = t.read("ek.der");
    let ak_public = t.read("ak.pub");

    // 2. The issuer's begin.
    let roots_dir = local_ca_roots();
    let roots = TrustedRoots::from_dir(roots_dir.path()).unwrap();
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).unwrap();
    let (activation, state) = begin(
        &ek_cert,
        &ak_public,
        &roots,
        SystemTime::now(),
        secret,
        &mut getrandom::SysRng,
    )
    .expect("begin accepts the swtpm's EK certificate and AK");

    // 3. The wallet's activation: tpm2-tools' credential file is a header (magic
    //    0xBADCC0DE, version 1) then the two TPM2Bs.
    let write_blob = |file: &str, a: &Activation| {
        let mut blob = Vec::new();
        blob.extend_from_slice(&0xBADC_C0DEu32.to_be_bytes());
        blob.extend_from_slice(&1u32.to_be_bytes());
        blob.extend_from_slice(&a.id_object);
        blob.extend_from_slice(&a.encrypted_secret);
        std::fs::write(t.path(file), &blob).unwrap();
    };
    let activate = |ak_ctx: &str, ek_ctx: &str, blob: &str, out: &str| {
        t.run(
            "tpm2_startauthsession",
            &["--policy-session", "-S", "s.ctx"],
        );
        t.run("tpm2_policysecret", &["-S", "s.ctx", "-c", "e"]);
        let (ok, _, _) = t.try_run(
            "tpm2_activatecredential",
            &[
                "-c",
                ak_ctx,
                "-C",
                ek_ctx,
                "-i",
                blob,
                "-o",
                out,
                "-P",
                "session:s.ctx",
            ],
        );
        t.run("tpm2_flushcontext", &["s.ctx"]);
        ok
    };
    write_blob("cred.blob", &activation);
    assert!(
        activate("ak.ctx", "ek.ctx", "cred.blob", "activated.bin"),
        "tpm2_activatecredential refused the credential"
    );
    assert_eq!(
        t.read("activated.bin"),
        secret,
        "the TPM gave back another secret"
    );
    // The same credential with another AK of the same TPM: the TPM refuses (the Name is
    // bound into the credential's HMAC).
    let activated_with_other_ak = activate("ak2.ctx", "ek.ctx", "cred.blob", "activated2.bin");

    // An ECC P-256 EK (template L-2). swtpm certifies only its P-384 ECC EK, so this EK's
    // certificate comes from a CA made here.
    t.run(
        "tpm2_createek",
        &[
            "-c",
            "ekecc.ctx",
            "-G",
            "ecc",
            "-u",
            "ekecc.pem",
            "-f",
            "pem",
        ],
    );
    let openssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(t.dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        "ca.key",
    ]);
    openssl(&[
        "req",
        "-x509",
        "-new",
        "-key",
        "ca.key",
        "-subj",
        "/CN=Test EK CA",
        "-days",
        "2",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-new",
        "-key",
        "ca.key",
        "-subj",
        "/CN=ecc ek",
        "-out",
        "ekecc.csr",
    ]);
    std::fs::write(
        t.path("ekecc.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyAgreement\nextendedKeyUsage=2.23.133.8.1\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "ekecc.csr",
        "-force_pubkey",
        "ekecc.pem",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-set_serial",
        "2",
        "-days",
        "2",
        "-extfile",
        "ekecc.ext",
        "-outform",
        "der",
        "-out",
        "ekecc.der",
    ]);
    let mut ecc_roots = TrustedRoots::new();
    ecc_roots.add_pem(&t.read("ca.pem")).unwrap();
    let ecc_secret = [0xEC; 32];
    let (ecc_activation, _) = begin(
        &t.read("ekecc.der"),
        &ak_public,
        &ecc_roots,
        SystemTime::now(),
        ecc_secret,
        &mut getrandom::SysRng,
    )
    .expect("begin accepts a P-256 EK");
    write_blob("cred-ecc.blob", &ecc_activation);
    let ecc_activated = activate("ak.ctx", "ekecc.ctx", "cred-ecc.blob", "activated-ecc.bin")
        .then(|| t.read("activated-ecc.bin"));

    // 4. Device keys under a storage primary, made persistent so that the raw Certify can
    //    name them by handle.
    t.run(
        "tpm2_evictcontrol",
        &["-C", "o", "-c", "ak.ctx", &format!("{AK_HANDLE:#x}")],
    );
    t.run(
        "tpm2_evictcontrol",
        &["-C", "o", "-c", "ak2.ctx", &format!("{AK2_HANDLE:#x}")],
    );
    t.run(
        "tpm2_createprimary",
        &["-C", "o", "-g", "sha256", "-G", "ecc256", "-c", "prim.ctx"],
    );
    let load_persist = |name: &str, handle: u32| {
        t.run(
            "tpm2_load",
            &[
                "-C",
                "prim.ctx",
                "-u",
                &format!("{name}.pub"),
                "-r",
                &format!("{name}.priv"),
                "-c",
                &format!("{name}.ctx"),
            ],
        );
        let key = t.verifying_key(&format!("{name}.ctx"));
        t.run(
            "tpm2_evictcontrol",
            &[
                "-C",
                "o",
                "-c",
                &format!("{name}.ctx"),
                &format!("{handle:#x}"),
            ],
        );
        key
    };
    // A plain key (tpm2_create's defaults: fixedtpm|fixedparent|sensitivedataorigin|
    // userwithauth|sign).
    t.run(
        "tpm2_create",
        &[
            "-C",
            "prim.ctx",
            "-G",
            "ecc256:ecdsa-sha256",
            "-u",
            "plain.pub",
            "-r",
            "plain.priv",
        ],
    );
    let plain_key = load_persist("plain", PLAIN_HANDLE);
    // A PIN key: usable only through a policy session with TPM2_PolicyAuthValue.
    t.run("tpm2_startauthsession", &["-S", "trial.ctx"]);
    t.run(
        "tpm2_policyauthvalue",
        &["-S", "trial.ctx", "-L", "policy.dig"],
    );
    t.run("tpm2_flushcontext", &["trial.ctx"]);
    t.run(
        "tpm2_create",
        &[
            "-C",
            "prim.ctx",
            "-G",
            "ecc256:ecdsa-sha256",
            "-a",
            "fixedtpm|fixedparent|sensitivedataorigin|sign",
            "-L",
            "policy.dig",
            "-p",
            PIN,
            "-u",
            "pin.pub",
            "-r",
            "pin.priv",
        ],
    );
    let pin_key = load_persist("pin", PIN_HANDLE);
    // A key made in software and imported: the TPM holds it, but did not generate it.
    let sw = Command::new("openssl")
        .args([
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
        ])
        .arg(t.path("software.pem"))
        .output()
        .unwrap();
    assert!(sw.status.success());
    t.run(
        "tpm2_import",
        &[
            "-C",
            "prim.ctx",
            "-G",
            "ecc",
            "-i",
            "software.pem",
            "-a",
            "userwithauth|sign",
            "-u",
            "software.pub",
            "-r",
            "software.priv",
        ],
    );
    let software_key = load_persist("software", SOFTWARE_HANDLE);

    // 5. The wallet's certifications, with the qualifying data of the activated secret.
    let q = qualifying_data(NONCE, &secret);
    let plain = t.certify(PLAIN_HANDLE, "", AK_HANDLE, &q, t.read("plain.pub"));
    let pin = t.certify(PIN_HANDLE, PIN, AK_HANDLE, &q, t.read("pin.pub"));
    let software = t.certify(SOFTWARE_HANDLE, "", AK_HANDLE, &q, t.read("software.pub"));
    let guessed = qualifying_data(NONCE, &[0u8; 32]);
    let by_other_ak = t.certify(PLAIN_HANDLE, "", AK2_HANDLE, &guessed, t.read("plain.pub"));

    Evidence {
        ek_cert,
        ecc_ek_cert: t.read("ek-ecc.der"),
        ak_public,
        ak2_public: t.read("ak2.pub"),
        state,
        activated_with_other_ak,
        ecc_activated,
        plain: (plain, plain_key),
        pin: (pin, pin_key),
        software: (software, software_key),
        by_other_ak,
        tpm_policy_digest: t.read("policy.dig"),
        roots_dir,
        _work: work,
    }
}

fn roots() -> TrustedRoots {
    TrustedRoots::from_dir(evidence().roots_dir.path()).unwrap()
}

fn begin_with(
    roots: &TrustedRoots,
    now: SystemTime,
) -> Result<(Activation, ActivationState), AttestationError> {
    let e = evidence();
    begin(
        &e.ek_cert,
        &e.ak_public,
        roots,
        now,
        [7; 32],
        &mut getrandom::SysRng,
    )
}

// --- accepted ------------------------------------------------------------------------------

#[test]
fn the_tpm_activates_the_credential_and_a_plain_key_is_accepted() {
    let e = evidence();
    let (cert, key) = &e.plain;
    assert_eq!(
        verify_key(&e.state, NONCE, cert, key),
        Ok(AttestedKey {
            requires_authorization: false,
            dictionary_attack_protected: true
        })
    );
}

#[test]
fn a_pin_key_is_accepted_as_requiring_authorization() {
    let e = evidence();
    assert_eq!(
        e.tpm_policy_digest,
        policy_auth_value_digest(),
        "TPM's PolicyAuthValue digest"
    );
    let (cert, key) = &e.pin;
    assert_eq!(
        verify_key(&e.state, NONCE, cert, key),
        Ok(AttestedKey {
            requires_authorization: true,
            dictionary_attack_protected: true
        })
    );
}

#[test]
fn the_activation_state_survives_a_database_row() {
    let e = evidence();
    let json = serde_json::to_string(&e.state).unwrap();
    assert!(format!("{:?}", e.state).contains("<redacted>"));
    let back: ActivationState = serde_json::from_str(&json).unwrap();
    assert_eq!(back, e.state);
    let (cert, key) = &e.plain;
    assert!(verify_key(&back, NONCE, cert, key).is_ok());
}

// --- refused: the EK certificate ------------------------------------------------------------

#[test]
fn an_empty_root_set_trusts_no_ek_certificate() {
    assert!(matches!(
        begin_with(&TrustedRoots::new(), SystemTime::now()),
        Err(AttestationError::EkCertificateUntrusted { .. })
    ));
}

#[test]
fn the_intermediate_alone_is_not_a_root() {
    let mut roots = TrustedRoots::new();
    let pem = std::fs::read(tessera_swtpm::local_ca_dir().join("issuercert.pem")).unwrap();
    roots.add_pem(&pem).unwrap();
    assert!(matches!(
        begin_with(&roots, SystemTime::now()),
        Err(AttestationError::EkCertificateUntrusted { .. })
    ));
}

/// A CA of the attacker's, with the same name as swtpm's intermediate: the names match,
/// the signature does not.
#[test]
fn an_ek_certificate_not_signed_by_the_trusted_root_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=swtpm-localca",
        ])
        .args([
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ])
        .arg("-keyout")
        .arg(dir.path().join("key.pem"))
        .arg("-out")
        .arg(dir.path().join("ca.pem"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(dir.path().join("key.pem")).unwrap();
    let roots = TrustedRoots::from_dir(dir.path()).unwrap();
    let r = begin_with(&roots, SystemTime::now());
    assert!(
        matches!(r, Err(AttestationError::EkCertificateBadSignature { .. })),
        "{r:?}"
    );
}

#[test]
fn an_ek_certificate_before_its_validity_is_refused() {
    let then = SystemTime::UNIX_EPOCH + Duration::from_secs(86_400);
    assert!(matches!(
        begin_with(&roots(), then),
        Err(AttestationError::EkCertificateNotValidNow { .. })
    ));
}

#[test]
fn a_p256_ek_activates_the_credential() {
    assert_eq!(evidence().ecc_activated.as_deref(), Some(&[0xEC; 32][..]));
}

#[test]
fn a_p384_ek_is_not_supported() {
    let e = evidence();
    let r = begin(
        &e.ecc_ek_cert,
        &e.ak_public,
        &roots(),
        SystemTime::now(),
        [1; 32],
        &mut getrandom::SysRng,
    );
    assert!(
        matches!(r, Err(AttestationError::UnsupportedEkKey(_))),
        "{r:?}"
    );
}

#[test]
fn nv_padding_after_the_ek_certificate_is_tolerated_but_not_other_data() {
    let e = evidence();
    let mut padded = e.ek_cert.clone();
    padded.extend_from_slice(&[0; 16]);
    let now = SystemTime::now();
    assert!(
        begin(
            &padded,
            &e.ak_public,
            &roots(),
            now,
            [1; 32],
            &mut getrandom::SysRng
        )
        .is_ok()
    );
    padded.push(1);
    assert!(matches!(
        begin(
            &padded,
            &e.ak_public,
            &roots(),
            now,
            [1; 32],
            &mut getrandom::SysRng
        ),
        Err(AttestationError::EkCertificateMalformed(_))
    ));
}

#[test]
fn roots_directory_errors_name_the_file() {
    let dir = local_ca_roots();
    std::fs::write(dir.path().join("notes.txt"), b"not a certificate").unwrap();
    let err = TrustedRoots::from_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("notes.txt"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    assert!(TrustedRoots::from_dir(empty.path()).is_err());
    // An intermediate without its root trusts nothing: refused when loading.
    std::fs::copy(
        tessera_swtpm::local_ca_dir().join("issuercert.pem"),
        empty.path().join("issuercert.pem"),
    )
    .unwrap();
    let err = TrustedRoots::from_dir(empty.path())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no self-signed root"), "{err}");
    assert!(
        TrustedRoots::from_dir(empty.path().join("missing"))
            .unwrap_err()
            .to_string()
            .contains("missing")
    );
}

// --- refused: the AK ----------------------------------------------------------------------

#[test]
fn a_non_restricted_key_is_not_accepted_as_ak() {
    let e = evidence();
    let r = begin(
        &e.ek_cert,
        &e.plain.0.key_public,
        &roots(),
        SystemTime::now(),
        [1; 32],
        &mut getrandom::SysRng,
    );
    assert_eq!(
        r.unwrap_err(),
        AttestationError::AkNotRestrictedTpmKey("restricted is clear")
    );
}

/// The credential is made for AK 1's Name; a wallet that activates it with AK 2 (another
/// AK of the same TPM) gets nothing from the TPM, and its certification by AK 2 (with a
/// guessed secret) is refused.
#[test]
fn a_wrong_activation_is_refused() {
    let e = evidence();
    assert!(
        !e.activated_with_other_ak,
        "the TPM activated a credential for another AK's Name"
    );
    assert_eq!(
        verify_key(&e.state, NONCE, &e.by_other_ak, &e.plain.1),
        Err(AttestationError::BadSignature)
    );
    // Had the issuer begun with AK 2, AK 2's certification would still lack the secret.
    let (_, state2) = begin(
        &e.ek_cert,
        &e.ak2_public,
        &roots(),
        SystemTime::now(),
        [9; 32],
        &mut getrandom::SysRng,
    )
    .unwrap();
    assert_eq!(
        verify_key(&state2, NONCE, &e.by_other_ak, &e.plain.1),
        Err(AttestationError::QualifyingDataMismatch)
    );
}

// --- refused: the certification --------------------------------------------------------------

#[test]
fn the_certification_of_another_key_is_refused() {
    let e = evidence();
    assert_eq!(
        verify_key(&e.state, NONCE, &e.plain.0, &e.pin.1),
        Err(AttestationError::KeyMismatch)
    );
}

#[test]
fn a_key_made_in_software_is_refused_as_not_generated_in_the_tpm() {
    let e = evidence();
    let (cert, key) = &e.software;
    assert!(matches!(
        verify_key(&e.state, NONCE, cert, key),
        Err(AttestationError::KeyNotGeneratedInTpm(_))
    ));
}

#[test]
fn a_replayed_certification_is_refused() {
    let e = evidence();
    let (cert, key) = &e.plain;
    // Another challenge nonce.
    assert_eq!(
        verify_key(&e.state, b"issuer challenge nonce 2", cert, key),
        Err(AttestationError::QualifyingDataMismatch)
    );
    // Another activation (a new secret for the same AK) with the same nonce.
    let (_, other) = begin(
        &e.ek_cert,
        &e.ak_public,
        &roots(),
        SystemTime::now(),
        [3; 32],
        &mut getrandom::SysRng,
    )
    .unwrap();
    assert_eq!(
        verify_key(&other, NONCE, cert, key),
        Err(AttestationError::QualifyingDataMismatch)
    );
}

#[test]
fn a_key_public_other_than_the_certified_one_is_refused() {
    let e = evidence();
    let mut cert = e.plain.0.clone();
    cert.key_public = e.pin.0.key_public.clone();
    assert_eq!(
        verify_key(&e.state, NONCE, &cert, &e.pin.1),
        Err(AttestationError::CertifiedNameMismatch)
    );
}

/// Every single-byte change of real evidence is refused (and nothing panics).
#[test]
fn every_single_byte_change_is_refused() {
    let e = evidence();
    let (cert, key) = &e.pin;
    for field in 0..3 {
        let len = [&cert.key_public, &cert.certify_info, &cert.signature][field].len();
        for i in 0..len {
            let mut c = cert.clone();
            let bytes = [&mut c.key_public, &mut c.certify_info, &mut c.signature];
            let b = bytes.into_iter().nth(field).unwrap();
            b[i] ^= 0x01;
            assert!(
                verify_key(&e.state, NONCE, &c, key).is_err(),
                "field {field} byte {i} changed and still accepted"
            );
        }
    }
}
