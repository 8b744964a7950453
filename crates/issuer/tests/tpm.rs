//! TPM key attestation at the issuer (issue 15), with real evidence: a private software TPM
//! (`tessera-swtpm`) per test driven by the wallet's crate (`tessera-tpm`), the issuer
//! configured with swtpm's local CA as its trusted TPM manufacturer root.

mod common;

use std::sync::Arc;

use common::*;
use reqwest::StatusCode;
use tessera_credential::Es256Signer;
use tessera_credential::KeyProtection;
use tessera_credential::claims::Tier;
use tessera_credential::credential::Credential;
use tessera_issuer::Clock;
use tessera_issuer_api::binding::HolderAuthPurpose;
use tessera_issuer_api::tpm::{TpmAttestationStart, TpmKeyAttestation, TpmKeyCertification};
use tessera_issuer_api::{
    BatchKey, BatchKeys, BatchResponse, ChallengeRequest, ChallengeResponse, DeviceKey,
    DeviceKeyProof, EnrolRequest, ProblemType, RenewRequest,
};
use tessera_swtpm::SoftwareTpm;
use tessera_tpm::{AttestationStart, KeyAuth, KeyBlob, Tpm, TpmSigner};
use tessera_tpm_attestation::TrustedRoots;
use zeroize::Zeroizing;

const PIN: &[u8] = b"123456";

/// swtpm's local CA (root and intermediate), the EK certificates' issuer.
fn local_ca_roots() -> TrustedRoots {
    let dir = tempfile::tempdir().unwrap();
    for f in ["swtpm-localca-rootca-cert.pem", "issuercert.pem"] {
        std::fs::copy(tessera_swtpm::local_ca_dir().join(f), dir.path().join(f)).unwrap();
    }
    TrustedRoots::from_dir(dir.path()).unwrap()
}

/// A CA made here with openssl: a manufacturer this TPM's EK certificate is not from.
fn other_roots() -> TrustedRoots {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "3650",
            "-subj",
            "/CN=Another TPM Manufacturer Root",
            "-keyout",
        ])
        .arg(dir.path().join("key.pem"))
        .arg("-out")
        .arg(dir.path().join("ca.pem"))
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(status.success());
    std::fs::remove_file(dir.path().join("key.pem")).unwrap();
    TrustedRoots::from_dir(dir.path()).unwrap()
}

/// An issuer trusting `roots` (none: no `--tpm-roots`).
async fn issuer(backend: Backend, roots: Option<TrustedRoots>) -> Harness {
    start_with(backend, |c| c.tpm_roots = roots).await
}

/// Brings the test clock to the real time: the EK certificates swtpm makes are valid from
/// the moment it starts.
fn to_real_time(h: &Harness) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    h.clock.advance(now.saturating_sub(h.clock.now()));
}

/// A wallet's TPM: a software TPM, its EK certificate and an attestation key.
struct Wallet {
    _sw: SoftwareTpm,
    tpm: Arc<Tpm>,
    start: AttestationStart,
}

impl Wallet {
    fn new() -> Wallet {
        Wallet::on(SoftwareTpm::start().unwrap())
    }

    fn on(sw: SoftwareTpm) -> Wallet {
        let tpm = Arc::new(Tpm::open_with(&sw.tcti()).unwrap());
        let start = tpm.attestation_start().unwrap();
        Wallet {
            _sw: sw,
            tpm,
            start,
        }
    }

    fn start_message(&self) -> TpmAttestationStart {
        TpmAttestationStart {
            ek_certificate: self.start.ek_certificate.clone(),
            ak_public: self.start.ak_public.clone(),
        }
    }

    fn pin_key(&self) -> (KeyBlob, TpmSigner) {
        let blob = self
            .tpm
            .create_key(KeyAuth::Pin(Zeroizing::new(PIN.to_vec())))
            .unwrap();
        let signer = TpmSigner::new(
            self.tpm.clone(),
            blob.clone(),
            Some(Zeroizing::new(PIN.to_vec())),
        )
        .unwrap();
        (blob, signer)
    }

    fn plain_key(&self) -> (KeyBlob, TpmSigner) {
        let blob = self.tpm.create_key(KeyAuth::None).unwrap();
        let signer = TpmSigner::new(self.tpm.clone(), blob.clone(), None).unwrap();
        (blob, signer)
    }

    /// Opens the challenge's activation: the qualifying data for certifications.
    fn qualifying_data(&self, c: &ChallengeResponse) -> [u8; 32] {
        let a = c.tpm_activation.as_ref().expect("an activation");
        let secret = self
            .tpm
            .activate(&self.start.ak, &a.id_object, &a.encrypted_secret)
            .unwrap();
        let secret: [u8; 32] = secret.as_slice().try_into().unwrap();
        tessera_tpm_attestation::qualifying_data(&c.nonce, &secret)
    }

    fn certify(&self, key: &KeyBlob, pin: Option<&[u8]>, qd: &[u8]) -> TpmKeyCertification {
        let c = self.tpm.certify(&self.start.ak, key, pin, qd).unwrap();
        TpmKeyCertification {
            key_public: c.key_public,
            certify_info: c.certify_info,
            signature: c.signature,
        }
    }
}

/// A key made by openssl and imported into `sw` with tpm2-tools (`tpm2_import`) under the
/// storage key `tessera-tpm` uses (the TCG SRK template: ECC P-256, AES-128-CFB, unique
/// x = y = 32 zero bytes): the TPM holds and uses it, but did not generate it, so it has
/// neither fixedTPM nor sensitiveDataOrigin. Run before the wallet connects (swtpm serves
/// one connection at a time).
fn imported_key(sw: &SoftwareTpm) -> KeyBlob {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let tcti = sw.tcti();
    let run = |tool: &str, args: &[&str]| {
        let out = Command::new(tool)
            .args(["-T", &tcti])
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{tool}: {e} (install tpm2-tools)"));
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // No resource manager: flush what the tool left loaded.
        let flush = Command::new("tpm2_flushcontext")
            .args(["-T", &tcti, "-t"])
            .output()
            .unwrap();
        assert!(flush.status.success());
    };
    // The unique field: 64 zero bytes on stdin, which tpm2-tools splits into x and y.
    let mut child = Command::new("tpm2_createprimary")
        .args(["-T", &tcti])
        .args([
            "-C",
            "o",
            "-g",
            "sha256",
            "-G",
            "ecc256:aes128cfb",
            "-a",
            "restricted|decrypt|fixedtpm|fixedparent|sensitivedataorigin|userwithauth|noda",
            "-u",
            "-",
            "-c",
            "srk.ctx",
        ])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("tpm2_createprimary (install tpm2-tools)");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&[0u8; 64]).unwrap();
    }
    assert!(child.wait().unwrap().success());
    run("tpm2_flushcontext", &["-t"]);
    let key = Command::new("openssl")
        .args([
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
        ])
        .arg(dir.path().join("software.pem"))
        .output()
        .unwrap();
    assert!(key.status.success());
    run(
        "tpm2_import",
        &[
            "-C",
            "srk.ctx",
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
    KeyBlob {
        public: std::fs::read(dir.path().join("software.pub")).unwrap(),
        private: std::fs::read(dir.path().join("software.priv")).unwrap(),
    }
}

async fn draw(
    h: &Harness,
    device: &dyn tessera_credential::Es256Signer,
    tpm: Option<TpmAttestationStart>,
) -> Answer<ChallengeResponse> {
    to_real_time(h);
    let body = ChallengeRequest {
        device_key: Some(tessera_credential::keys::spki_der(&device.public_key())),
        tpm,
    };
    h.post_json("/v1/challenges", &body).await
}

/// An enrolment of Obama answering `c` with `main` and one lightweight and one age-only
/// batch key.
fn enrolment(
    c: &ChallengeResponse,
    main: &dyn tessera_credential::Es256Signer,
    batch: &[&dyn tessera_credential::Es256Signer],
    tpm: Option<TpmKeyAttestation>,
) -> EnrolRequest {
    let pop = DeviceKeyProof::create(main, &c.challenge_id, &c.nonce).unwrap();
    let tiers = [Tier::Lightweight, Tier::AgeOnly];
    let keys = batch
        .iter()
        .zip(tiers.iter().cycle())
        .map(|(k, t)| BatchKey::create(*t, *k, &c.challenge_id, &c.nonce).unwrap())
        .collect();
    EnrolRequest {
        challenge_id: c.challenge_id.clone(),
        id_number: obama_id(),
        device_key: DeviceKey {
            public_key: pop.key_der,
            proof: pop.signature,
        },
        frames: frames("obama", &c.actions),
        replace_existing: false,
        batch: Some(BatchKeys::create(keys, main, &c.challenge_id, &c.nonce).unwrap()),
        tpm,
    }
}

fn protections(batch: &BatchResponse) -> Vec<(String, KeyProtection)> {
    batch
        .credentials
        .iter()
        .map(|c| {
            let cred = Credential::from_bytes(&c.credential).unwrap();
            (c.tier.clone(), cred.claims.key_protection)
        })
        .collect()
}

async fn audit_details(h: &Harness) -> Vec<String> {
    h.issuer()
        .store()
        .audit_log()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.detail)
        .collect()
}

// ---------------------------------------------------------------- accepted

async fn attested_keys_give_hardware_credentials(backend: Backend) {
    let h = issuer(backend, Some(local_ca_roots())).await;
    let w = Wallet::new();
    let (main_blob, main) = w.pin_key();
    let (b1_blob, b1) = w.plain_key();
    let (b2_blob, b2) = w.plain_key();
    let c = draw(&h, &main, Some(w.start_message())).await.ok();
    let qd = w.qualifying_data(&c);
    let tpm = TpmKeyAttestation {
        device_key: w.certify(&main_blob, Some(PIN), &qd),
        batch_keys: vec![
            w.certify(&b1_blob, None, &qd),
            w.certify(&b2_blob, None, &qd),
        ],
    };
    let req = enrolment(&c, &main, &[&b1, &b2], Some(tpm));
    let batch: BatchResponse = h.post_json("/v1/enrolments", &req).await.ok();
    assert_eq!(
        protections(&batch),
        vec![
            ("upgraded".into(), KeyProtection::HardwareWithPin),
            ("lightweight".into(), KeyProtection::Hardware),
            ("age_only".into(), KeyProtection::Hardware),
        ]
    );
    let details = audit_details(&h).await;
    assert!(
        details
            .iter()
            .any(|d| d.contains("kind=enrol") && d.contains("key_protection=hardware_with_pin")),
        "{details:?}"
    );
}

async fn a_main_key_without_pin_is_hardware(backend: Backend) {
    let h = issuer(backend, Some(local_ca_roots())).await;
    let w = Wallet::new();
    let (main_blob, main) = w.plain_key();
    let (b1_blob, b1) = w.plain_key();
    let c = draw(&h, &main, Some(w.start_message())).await.ok();
    let qd = w.qualifying_data(&c);
    let tpm = TpmKeyAttestation {
        device_key: w.certify(&main_blob, None, &qd),
        batch_keys: vec![w.certify(&b1_blob, None, &qd)],
    };
    let req = enrolment(&c, &main, &[&b1], Some(tpm));
    let batch: BatchResponse = h.post_json("/v1/enrolments", &req).await.ok();
    assert_eq!(
        protections(&batch),
        vec![
            ("upgraded".into(), KeyProtection::Hardware),
            ("lightweight".into(), KeyProtection::Hardware),
        ]
    );
}

/// A renewal onto TPM keys (a wallet enrolled with software keys that now has a TPM), with
/// no batch: the upgraded and the single lightweight credential share the PIN key.
async fn a_renewal_with_attested_keys_gives_hardware_credentials(backend: Backend) {
    let h = issuer(backend, Some(local_ca_roots())).await;
    let old = new_device();
    let first = h.enrol(&obama_id(), "obama", &old).await.ok();
    let w = Wallet::new();
    let (main_blob, main) = w.pin_key();
    let c = draw(&h, &main, Some(w.start_message())).await.ok();
    let qd = w.qualifying_data(&c);
    let presentation = h.holder_presentation(
        &lightweight(&first),
        &old,
        &c,
        HolderAuthPurpose::renew(&tessera_credential::keys::spki_der(&main.public_key())),
    );
    let pop = DeviceKeyProof::create(&main, &c.challenge_id, &c.nonce).unwrap();
    let req = RenewRequest {
        challenge_id: c.challenge_id.clone(),
        presentation,
        device_key: DeviceKey {
            public_key: pop.key_der,
            proof: pop.signature,
        },
        frames: frames("obama", &c.actions),
        batch: None,
        tpm: Some(TpmKeyAttestation {
            device_key: w.certify(&main_blob, Some(PIN), &qd),
            batch_keys: vec![],
        }),
    };
    let batch: BatchResponse = h.post_json("/v1/renewals", &req).await.ok();
    assert_eq!(
        protections(&batch),
        vec![
            ("upgraded".into(), KeyProtection::HardwareWithPin),
            ("lightweight".into(), KeyProtection::HardwareWithPin),
        ]
    );
}

/// A wallet without a TPM, on an issuer that checks attestations: software, as before.
async fn no_tpm_gives_software_credentials(backend: Backend) {
    let h = issuer(backend, Some(local_ca_roots())).await;
    let device = new_device();
    let batch = h.enrol(&obama_id(), "obama", &device).await.ok();
    assert!(
        protections(&batch)
            .iter()
            .all(|(_, p)| *p == KeyProtection::Software)
    );
}

// ---------------------------------------------------------------- refused

async fn an_ek_from_an_untrusted_manufacturer_is_refused(backend: Backend) {
    let h = issuer(backend, Some(other_roots())).await;
    let w = Wallet::new();
    let (_, main) = w.pin_key();
    let (status, kind) = draw(&h, &main, Some(w.start_message())).await.problem();
    assert_eq!(
        (status, kind),
        (StatusCode::FORBIDDEN, ProblemType::TpmEkUntrusted)
    );
}

/// The certification of a real TPM key sent with another (software) device key.
async fn a_certification_of_another_key_is_refused(backend: Backend) {
    let h = issuer(backend, Some(local_ca_roots())).await;
    let w = Wallet::new();
    let (tpm_blob, _) = w.pin_key();
    let software = new_device();
    let (b1_blob, b1) = w.plain_key();
    let c = draw(&h, &software, Some(w.start_message())).await.ok();
    let qd = w.qualifying_data(&c);
    let tpm = TpmKeyAttestation {
        device_key: w.certify(&tpm_blob, Some(PIN), &qd),
        batch_keys: vec![w.certify(&b1_blob, None, &qd)],
    };
    let req = enrolment(&c, &software, &[&b1], Some(tpm));
    let (status, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(
        (status, kind),
        (StatusCode::FORBIDDEN, ProblemType::TpmAttestationOtherKey)
    );

    // A software batch key claimed as hardware with a TPM key's certification: the same.
    let (main_blob, main) = w.pin_key();
    let c = draw(&h, &main, Some(w.start_message())).await.ok();
    let qd = w.qualifying_data(&c);
    let soft_batch = new_device();
    let tpm = TpmKeyAttestation {
        device_key: w.certify(&main_blob, Some(PIN), &qd),
        batch_keys: vec![w.certify(&b1_blob, None, &qd)],
    };
    let req = enrolment(&c, &main, &[&soft_batch], Some(tpm));
    let (_, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(kind, ProblemType::TpmAttestationOtherKey);
}

/// A key made in software and imported into the TPM, claimed as hardware: the TPM signs
/// with it and certifies it, but its public area says it was not generated there.
async fn an_imported_key_is_not_in_the_tpm(backend: Backend) {
    let h = issuer(backend, Some(local_ca_roots())).await;
    let sw = SoftwareTpm::start().unwrap();
    let imported = imported_key(&sw);
    let w = Wallet::on(sw);
    let main = TpmSigner::new(w.tpm.clone(), imported.clone(), None).unwrap();
    let (b1_blob, b1) = w.plain_key();
    let c = draw(&h, &main, Some(w.start_message())).await.ok();
    let qd = w.qualifying_data(&c);
    let tpm = TpmKeyAttestation {
        device_key: w.certify(&imported, None, &qd),
        batch_keys: vec![w.certify(&b1_blob, None, &qd)],
    };
    let req = enrolment(&c, &main, &[&b1], Some(tpm));
    let (status, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(
        (status, kind),
        (StatusCode::FORBIDDEN, ProblemType::TpmKeyNotInTpm)
    );
}

/// Evidence made for one challenge, sent with another.
async fn a_replayed_attestation_is_refused(backend: Backend) {
    let h = issuer(backend, Some(local_ca_roots())).await;
    let w = Wallet::new();
    let (main_blob, main) = w.pin_key();
    let (b1_blob, b1) = w.plain_key();
    let first = draw(&h, &main, Some(w.start_message())).await.ok();
    let qd = w.qualifying_data(&first);
    let evidence = TpmKeyAttestation {
        device_key: w.certify(&main_blob, Some(PIN), &qd),
        batch_keys: vec![w.certify(&b1_blob, None, &qd)],
    };
    let second = draw(&h, &main, Some(w.start_message())).await.ok();
    let req = enrolment(&second, &main, &[&b1], Some(evidence.clone()));
    let (status, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(
        (status, kind),
        (StatusCode::FORBIDDEN, ProblemType::TpmAttestationReplayed)
    );

    // A challenge drawn without a TPM cannot take an attestation either.
    let third = draw(&h, &main, None).await.ok();
    assert!(third.tpm_activation.is_none());
    let req = enrolment(&third, &main, &[&b1], Some(evidence));
    let (_, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(kind, ProblemType::TpmAttestationReplayed);
}

/// Without `--tpm-roots` the challenge's TPM is ignored: no activation, and an attestation
/// sent anyway is refused rather than believed.
async fn without_roots_the_tpm_is_ignored(backend: Backend) {
    let h = issuer(backend, None).await;
    let w = Wallet::new();
    let (main_blob, main) = w.pin_key();
    let c = draw(&h, &main, Some(w.start_message())).await.ok();
    assert!(c.tpm_activation.is_none());
    let evidence = TpmKeyAttestation {
        device_key: w.certify(&main_blob, Some(PIN), &[7u8; 32]),
        batch_keys: vec![],
    };
    let mut req = enrolment(&c, &main, &[], Some(evidence));
    req.batch = None;
    let (_, kind) = h
        .post_json::<_, BatchResponse>("/v1/enrolments", &req)
        .await
        .problem();
    assert_eq!(kind, ProblemType::TpmAttestationReplayed);
}

/// `serve --tpm-roots DIR` stops at start naming a file it cannot use.
#[test]
fn serve_names_an_unusable_tpm_roots_file() {
    let data = tempfile::tempdir().unwrap();
    let roots = tempfile::tempdir().unwrap();
    std::fs::write(roots.path().join("vendor-root.pem"), b"not a certificate").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera-issuer"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .arg("--tpm-roots")
        .arg(roots.path())
        .env_remove("TESSERA_DATABASE_URL")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--tpm-roots") && err.contains("vendor-root.pem"),
        "{err}"
    );
}

/// The binary with `--tpm-roots` answers a challenge drawn with a TPM with an activation
/// the TPM opens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_with_tpm_roots_makes_activations() {
    let data = tempfile::tempdir().unwrap();
    let roots = tempfile::tempdir().unwrap();
    for f in ["swtpm-localca-rootca-cert.pem", "issuercert.pem"] {
        std::fs::copy(tessera_swtpm::local_ca_dir().join(f), roots.path().join(f)).unwrap();
    }
    let (mut child, base) = spawn_issuer(
        data.path(),
        None,
        &["--tpm-roots", roots.path().to_str().unwrap()],
        "warn",
        std::process::Stdio::null(),
    );
    let h = Harness::attach(&base);
    let w = Wallet::new();
    let (_, main) = w.pin_key();
    let c = draw(&h, &main, Some(w.start_message())).await.ok();
    child.kill().unwrap();
    let _ = child.wait();
    w.qualifying_data(&c);
}

mod sqlite {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn attested_keys_give_hardware_credentials() {
        super::attested_keys_give_hardware_credentials(Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_main_key_without_pin_is_hardware() {
        super::a_main_key_without_pin_is_hardware(Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_tpm_gives_software_credentials() {
        super::no_tpm_gives_software_credentials(Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_ek_from_an_untrusted_manufacturer_is_refused() {
        super::an_ek_from_an_untrusted_manufacturer_is_refused(Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_certification_of_another_key_is_refused() {
        super::a_certification_of_another_key_is_refused(Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_replayed_attestation_is_refused() {
        super::a_replayed_attestation_is_refused(Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_renewal_with_attested_keys_gives_hardware_credentials() {
        super::a_renewal_with_attested_keys_gives_hardware_credentials(Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_imported_key_is_not_in_the_tpm() {
        super::an_imported_key_is_not_in_the_tpm(Backend::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_roots_the_tpm_is_ignored() {
        super::without_roots_the_tpm_is_ignored(Backend::Sqlite).await
    }
}

/// PostgreSQL: the new columns (the challenge's activation state, the enrolment's key
/// protection) on the other backend.
mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn attested_keys_give_hardware_credentials() {
        super::attested_keys_give_hardware_credentials(Backend::Postgres).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_replayed_attestation_is_refused() {
        super::a_replayed_attestation_is_refused(Backend::Postgres).await
    }
}
