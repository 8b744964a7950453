//! The EK certificate path checks against small PKIs made with the openssl command line:
//! ECDSA P-256 CAs (swtpm's own CA, in tests/swtpm.rs, is RSA), an intermediate, and EK
//! certificates with the TCG extensions or without the right ones.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use tessera_tpm_attestation::{AttestationError, TrustedRoots, begin};

const EK_EXTS: &str = "basicConstraints=critical,CA:FALSE\n\
    keyUsage=critical,keyEncipherment\n\
    extendedKeyUsage=2.23.133.8.1\n\
    subjectAltName=critical,dirName:tpm\n\
    [tpm]\n\
    a.2.23.133.2.1=UTF8:id:00001014\n\
    b.2.23.133.2.2=UTF8:swtpm\n\
    c.2.23.133.2.3=UTF8:id:20191023\n";
const CA_EXTS: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Pki {
        Pki {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn openssl(&self, args: &[&str]) {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `alg`: "ec" (P-256), "ec384" (P-384) or "rsa:BITS".
    fn key(&self, name: &str, alg: &str) {
        let key = format!("{name}.key");
        if alg == "ec384" {
            return self.openssl(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-384",
                "-out",
                &key,
            ]);
        }
        match alg.strip_prefix("rsa:") {
            Some(bits) => self.openssl(&[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                &format!("rsa_keygen_bits:{bits}"),
                "-out",
                &key,
            ]),
            None => self.openssl(&[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &key,
            ]),
        }
    }

    fn root(&self, name: &str, exts: &str) {
        self.root_with(name, "ec", "-sha256", exts);
    }

    fn root_with(&self, name: &str, alg: &str, digest: &str, exts: &str) {
        self.key(name, alg);
        let cnf = format!(
            "[req]\ndistinguished_name=dn\nx509_extensions=ext\nprompt=no\n[dn]\nCN={name}\n[ext]\n{exts}"
        );
        std::fs::write(self.p(&format!("{name}.cnf")), cnf).unwrap();
        self.openssl(&[
            "req",
            "-x509",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-config",
            &format!("{name}.cnf"),
            "-days",
            "10",
            digest,
            "-out",
            &format!("{name}.pem"),
        ]);
    }

    /// A certificate for `name` (key `alg`) issued by `issuer`, with the extensions `exts`.
    fn issue(&self, name: &str, alg: &str, issuer: &str, exts: &str) {
        self.issue_with(name, alg, issuer, "-sha256", exts);
    }

    fn issue_with(&self, name: &str, alg: &str, issuer: &str, digest: &str, exts: &str) {
        self.key(name, alg);
        std::fs::write(self.p(&format!("{name}.ext")), exts).unwrap();
        std::fs::write(
            self.p("min.cnf"),
            "[req]\ndistinguished_name=dn\nprompt=no\n[dn]\nCN=x\n",
        )
        .unwrap();
        self.openssl(&[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-config",
            "min.cnf",
            "-subj",
            &format!("/CN={name}"),
            "-out",
            &format!("{name}.csr"),
        ]);
        self.openssl(&[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{issuer}.pem"),
            "-CAkey",
            &format!("{issuer}.key"),
            "-set_serial",
            "7",
            "-days",
            "10",
            digest,
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}.pem"),
        ]);
        self.openssl(&[
            "x509",
            "-in",
            &format!("{name}.pem"),
            "-outform",
            "der",
            "-out",
            &format!("{name}.der"),
        ]);
    }

    /// Trusted roots made of the named certificates.
    fn trust(&self, names: &[&str]) -> TrustedRoots {
        let dir = self.p("trusted");
        std::fs::create_dir_all(&dir).unwrap();
        for n in names {
            std::fs::copy(self.p(&format!("{n}.pem")), dir.join(format!("{n}.pem"))).unwrap();
        }
        TrustedRoots::from_dir(&dir).unwrap()
    }

    fn begin(
        &self,
        leaf: &str,
        roots: &TrustedRoots,
        now: SystemTime,
    ) -> Result<(), AttestationError> {
        let ek = std::fs::read(self.p(&format!("{leaf}.der"))).unwrap();
        begin(
            &ek,
            &ak_public(),
            roots,
            now,
            [1; 32],
            &mut getrandom::SysRng,
        )
        .map(|_| ())
    }
}

fn ak_public() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/swtpm-ak.pub")).unwrap()
}

/// Root → intermediate → EK, all ECDSA P-256 signatures; the EK with TCG's critical SAN.
fn chain(pki: &Pki, inter_exts: &str, ek_exts: &str, ek_alg: &str) {
    pki.root("Root", CA_EXTS);
    pki.issue("Inter", "ec", "Root", inter_exts);
    pki.issue("Ek", ek_alg, "Inter", ek_exts);
}

#[test]
fn an_ecdsa_chain_with_an_intermediate_and_tcg_extensions_is_accepted() {
    let pki = Pki::new();
    chain(&pki, CA_EXTS, EK_EXTS, "rsa:2048");
    let roots = pki.trust(&["Root", "Inter"]);
    assert_eq!(pki.begin("Ek", &roots, SystemTime::now()), Ok(()));
    // Without the intermediate there is no path.
    assert!(matches!(
        pki.begin("Ek", &pki_only_root(&pki), SystemTime::now()),
        Err(AttestationError::EkCertificateUntrusted { .. })
    ));
    // After the certificates' validity.
    let later = SystemTime::now() + Duration::from_secs(30 * 86_400);
    assert!(matches!(
        pki.begin("Ek", &roots, later),
        Err(AttestationError::EkCertificateNotValidNow { .. })
    ));
}

fn pki_only_root(pki: &Pki) -> TrustedRoots {
    let mut roots = TrustedRoots::new();
    roots
        .add_pem(&std::fs::read(pki.p("Root.pem")).unwrap())
        .unwrap();
    roots
}

#[test]
fn an_intermediate_that_is_not_a_ca_is_refused() {
    let pki = Pki::new();
    chain(
        &pki,
        "basicConstraints=critical,CA:FALSE\n",
        EK_EXTS,
        "rsa:2048",
    );
    let r = pki.begin("Ek", &pki.trust(&["Root", "Inter"]), SystemTime::now());
    assert!(
        matches!(r, Err(AttestationError::IssuerNotCa { .. })),
        "{r:?}"
    );
}

#[test]
fn a_root_path_length_constraint_is_enforced() {
    let pki = Pki::new();
    pki.root(
        "Root",
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign\n",
    );
    pki.issue("Inter", "ec", "Root", CA_EXTS);
    pki.issue("Ek", "rsa:2048", "Inter", EK_EXTS);
    let r = pki.begin("Ek", &pki.trust(&["Root", "Inter"]), SystemTime::now());
    assert!(
        matches!(r, Err(AttestationError::IssuerNotCa { .. })),
        "{r:?}"
    );
}

#[test]
fn an_unknown_critical_extension_is_refused() {
    let pki = Pki::new();
    chain(
        &pki,
        CA_EXTS,
        &format!("1.2.3.4=critical,ASN1:NULL\n{EK_EXTS}"),
        "rsa:2048",
    );
    let r = pki.begin("Ek", &pki.trust(&["Root", "Inter"]), SystemTime::now());
    assert_eq!(
        r,
        Err(AttestationError::UnsupportedCriticalExtension {
            subject: "CN=Ek".into(),
            oid: "1.2.3.4".into()
        })
    );
}

#[test]
fn a_certificate_for_another_purpose_is_not_an_ek_certificate() {
    let pki = Pki::new();
    chain(
        &pki,
        CA_EXTS,
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyEncipherment\nextendedKeyUsage=serverAuth\n",
        "rsa:2048",
    );
    let roots = pki.trust(&["Root", "Inter"]);
    assert_eq!(
        pki.begin("Ek", &roots, SystemTime::now()),
        Err(AttestationError::NotAnEkCertificate(
            "its extended key usage lacks tcg-kp-EKCertificate"
        ))
    );
    pki.issue(
        "Ek2",
        "rsa:2048",
        "Inter",
        "basicConstraints=critical,CA:TRUE\n",
    );
    assert_eq!(
        pki.begin("Ek2", &roots, SystemTime::now()),
        Err(AttestationError::NotAnEkCertificate(
            "it is a CA certificate"
        ))
    );
}

#[test]
fn an_ek_that_is_not_rsa_2048_is_refused() {
    let pki = Pki::new();
    chain(&pki, CA_EXTS, EK_EXTS, "rsa:1024");
    assert_eq!(
        pki.begin("Ek", &pki.trust(&["Root", "Inter"]), SystemTime::now()),
        Err(AttestationError::UnsupportedEkKey(
            "the modulus is not 2048 bits"
        ))
    );
}

#[test]
fn an_ecc_ek_certificate_needs_key_agreement() {
    let pki = Pki::new();
    chain(&pki, CA_EXTS, EK_EXTS, "ec");
    let roots = pki.trust(&["Root", "Inter"]);
    assert_eq!(
        pki.begin("Ek", &roots, SystemTime::now()),
        Err(AttestationError::NotAnEkCertificate(
            "its key usage lacks keyAgreement"
        ))
    );
    let ecc_ek = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,keyAgreement\n\
        extendedKeyUsage=2.23.133.8.1\n";
    pki.issue("Ek2", "ec", "Inter", ecc_ek);
    assert_eq!(pki.begin("Ek2", &roots, SystemTime::now()), Ok(()));
}

/// A P-384 root signing with SHA-384, a P-256 intermediate signing the EK with SHA-384
/// (the shapes of several TPM manufacturers' ECC CAs).
#[test]
fn p384_and_sha384_signatures_are_verified() {
    let pki = Pki::new();
    pki.root_with("Root", "ec384", "-sha384", CA_EXTS);
    pki.issue_with("Inter", "ec", "Root", "-sha384", CA_EXTS);
    pki.issue_with("Ek", "rsa:2048", "Inter", "-sha384", EK_EXTS);
    let roots = pki.trust(&["Root", "Inter"]);
    assert_eq!(pki.begin("Ek", &roots, SystemTime::now()), Ok(()));
    // A root of the same name with another key: the intermediate's signature fails.
    let other = Pki::new();
    other.root_with("Root", "ec384", "-sha384", CA_EXTS);
    let mut forged = TrustedRoots::new();
    forged
        .add_pem(&std::fs::read(other.p("Root.pem")).unwrap())
        .unwrap();
    forged
        .add_pem(&std::fs::read(pki.p("Inter.pem")).unwrap())
        .unwrap();
    assert!(matches!(
        pki.begin("Ek", &forged, SystemTime::now()),
        Err(AttestationError::EkCertificateBadSignature { .. })
    ));
}
