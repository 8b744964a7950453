//! The EK certificate: its path to a trusted TPM manufacturer root, and its RSA key.
//!
//! What is checked (RFC 5280 §6 path validation, reduced to what TPM EK certificates use):
//! * every certificate on the path is valid at `now` (leaf, intermediates and root);
//! * each link's signature verifies with the issuer's key, and the outer signature
//!   algorithm equals the one inside the TBS (RFC 5280 §4.1.1.2);
//! * every issuer has basicConstraints cA, keyCertSign if it has a keyUsage, and its
//!   pathLenConstraint is respected;
//! * critical extensions: only those below are accepted when critical; anything else
//!   critical is refused (RFC 5280 §4.2). Certificate policies and name constraints are
//!   not processed, so they are refused when critical;
//!   - on every certificate: basicConstraints, keyUsage, extendedKeyUsage;
//!   - on the EK certificate also subjectAltName (TCG EK Credential Profile §3.2.9: a
//!     critical SAN when the subject is empty, holding a directoryName with the TPM
//!     manufacturer, model and version — not interpreted here) and
//!     subjectDirectoryAttributes (TPM specification attributes — not interpreted);
//! * the EK certificate is not a CA; if it has a keyUsage, keyEncipherment (RSA) or
//!   keyAgreement (ECC) is set; if it has an extendedKeyUsage, it contains
//!   tcg-kp-EKCertificate (2.23.133.8.1);
//! * the EK's key is RSA 2048 with exponent 65537 or ECC NIST P-256 (TCG default templates
//!   L-1 and L-2, whose nameAlg SHA-256 and AES-128-CFB the credential is made for).
//!
//! Not checked: revocation (CRLs/OCSP: TPM manufacturers' CRL distribution is not
//! uniform; the issuer can drop a root), name constraints, certificate policies.

use std::path::Path;
use std::time::SystemTime;

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use rsa::traits::PublicKeyParts;
use sha2::Digest;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage};

use crate::credential::EkPublic;
use crate::error::{AttestationError, RootsError};

const BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");
const SUBJECT_DIRECTORY_ATTRIBUTES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.9");
/// tcg-kp-EKCertificate (TCG EK Credential Profile §3.2.16).
const TCG_KP_EK_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.133.8.1");
const ANY_EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// Longest accepted path: EK certificate + this many intermediates + root.
const MAX_INTERMEDIATES: usize = 4;

/// One certificate with the raw bytes of its TBSCertificate (what the issuer signed).
#[derive(Clone)]
struct Cert {
    cert: Certificate,
    tbs_raw: Vec<u8>,
    subject: String,
}

impl std::fmt::Debug for Cert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cert")
            .field("subject", &self.subject)
            .finish()
    }
}

/// The TPM manufacturers' CA certificates the issuer trusts: self-issued certificates are
/// trust anchors; the others are intermediates, usable only on a path that ends at an
/// anchor (the wallet sends the EK certificate alone, so the intermediates of each
/// manufacturer belong here).
#[derive(Debug, Clone, Default)]
pub struct TrustedRoots {
    anchors: Vec<Cert>,
    intermediates: Vec<Cert>,
}

impl TrustedRoots {
    /// An empty set (it trusts nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one DER certificate.
    pub fn add_der(&mut self, der: &[u8]) -> Result<(), String> {
        let c = parse_cert(der)?;
        if c.cert.tbs_certificate().subject() == c.cert.tbs_certificate().issuer() {
            self.anchors.push(c);
        } else {
            self.intermediates.push(c);
        }
        Ok(())
    }

    /// Adds every certificate of a PEM file (one or more CERTIFICATE blocks); returns how
    /// many.
    pub fn add_pem(&mut self, pem: &[u8]) -> Result<usize, String> {
        let certs = Certificate::load_pem_chain(pem).map_err(|e| e.to_string())?;
        for c in &certs {
            let der = c.to_der().map_err(|e| e.to_string())?;
            self.add_der(&der)?;
        }
        Ok(certs.len())
    }

    /// Loads every certificate in `dir` (the issuer's `--tpm-roots DIR`). Each regular
    /// file whose name does not start with `.` must hold PEM certificates or one DER
    /// certificate; errors name the file. Subdirectories are ignored.
    pub fn from_dir(dir: impl AsRef<Path>) -> Result<TrustedRoots, RootsError> {
        let dir = dir.as_ref();
        let io = |path: &Path, source| RootsError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
            let entry = entry.map_err(|e| io(dir, e))?;
            let path = entry.path();
            let hidden = entry.file_name().to_string_lossy().starts_with('.');
            if !hidden
                && std::fs::metadata(&path)
                    .map_err(|e| io(&path, e))?
                    .is_file()
            {
                paths.push(path);
            }
        }
        paths.sort();
        let mut roots = TrustedRoots::new();
        for path in paths {
            let bytes = std::fs::read(&path).map_err(|e| io(&path, e))?;
            let not_cert = |reason: String| RootsError::NotACertificate {
                path: path.clone(),
                reason,
            };
            let text_start = bytes.iter().position(|b| !b.is_ascii_whitespace());
            if text_start.is_some_and(|i| bytes[i..].starts_with(b"-----BEGIN")) {
                let n = roots.add_pem(&bytes).map_err(not_cert)?;
                if n == 0 {
                    return Err(not_cert("no CERTIFICATE block".into()));
                }
            } else {
                roots.add_der(&bytes).map_err(not_cert)?;
            }
        }
        if roots.anchors.is_empty() {
            return Err(RootsError::Empty {
                path: dir.to_path_buf(),
            });
        }
        Ok(roots)
    }

    /// How many certificates (anchors and intermediates).
    pub fn len(&self) -> usize {
        self.anchors.len() + self.intermediates.len()
    }

    /// Whether it holds no certificate.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many trust anchors (self-issued certificates); with none, nothing is trusted.
    pub fn anchor_count(&self) -> usize {
        self.anchors.len()
    }
}

/// The header and content lengths of the DER TLV at the start of `bytes` (definite
/// lengths only, as DER requires), if it fits in `bytes`.
fn tlv(bytes: &[u8]) -> Option<(usize, usize)> {
    let first = *bytes.get(1)?;
    let (header, len) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*bytes.get(2 + i)?);
        }
        (2 + n, len)
    };
    (header.checked_add(len)? <= bytes.len()).then_some((header, len))
}

fn parse_cert(der: &[u8]) -> Result<Cert, String> {
    let cert = Certificate::from_der(der).map_err(|e| e.to_string())?;
    // The TBSCertificate's own bytes: the first element inside the outer SEQUENCE.
    let (h, _) = tlv(der).ok_or("bad outer length")?;
    let inner = &der[h..];
    let (th, tl) = tlv(inner).ok_or("bad TBSCertificate length")?;
    let tbs_raw = inner[..th + tl].to_vec();
    let subject = cert.tbs_certificate().subject().to_string();
    Ok(Cert {
        cert,
        tbs_raw,
        subject,
    })
}

/// Checks the EK certificate and its path to `roots`; returns the EK's key.
pub(crate) fn verify_ek_certificate(
    der: &[u8],
    roots: &TrustedRoots,
    now: SystemTime,
) -> Result<EkPublic, AttestationError> {
    // Some TPMs store the certificate in an NV index larger than it, padded with zeros or
    // 0xFF; the padding is dropped, anything else after the certificate is refused.
    let (h, l) = tlv(der)
        .ok_or_else(|| AttestationError::EkCertificateMalformed("not a DER certificate".into()))?;
    let (exact, rest) = der.split_at(h + l);
    if !(rest.iter().all(|&b| b == 0) || rest.iter().all(|&b| b == 0xff)) {
        return Err(AttestationError::EkCertificateMalformed(
            "data after the certificate".into(),
        ));
    }
    let leaf = parse_cert(exact).map_err(AttestationError::EkCertificateMalformed)?;

    // 1. The path up to a trusted anchor: each link's signature is verified before
    //    anything the certificate says is relied upon.
    build_path(&leaf, roots, now, 0)?;
    // 2. The EK certificate's contents: validity, extensions, usage, key.
    check_validity(&leaf, now)?;
    check_critical_extensions(&leaf, true)?;
    let ek = ek_key(&leaf)?;
    check_ek_usage(&leaf, matches!(ek, EkPublic::Rsa(_)))?;
    Ok(ek)
}

fn check_validity(c: &Cert, now: SystemTime) -> Result<(), AttestationError> {
    let v = c.cert.tbs_certificate().validity();
    if now < v.not_before.to_system_time() || now > v.not_after.to_system_time() {
        return Err(AttestationError::EkCertificateNotValidNow {
            subject: c.subject.clone(),
        });
    }
    Ok(())
}

fn check_critical_extensions(c: &Cert, is_ek: bool) -> Result<(), AttestationError> {
    for ext in c.cert.tbs_certificate().extensions().into_iter().flatten() {
        if !ext.critical {
            continue;
        }
        let id = ext.extn_id;
        let understood = id == BASIC_CONSTRAINTS
            || id == KEY_USAGE
            || id == EXT_KEY_USAGE
            || (is_ek && (id == SUBJECT_ALT_NAME || id == SUBJECT_DIRECTORY_ATTRIBUTES));
        if !understood {
            return Err(AttestationError::UnsupportedCriticalExtension {
                subject: c.subject.clone(),
                oid: id.to_string(),
            });
        }
    }
    Ok(())
}

fn malformed_ext(c: &Cert) -> AttestationError {
    AttestationError::EkCertificateMalformed(format!(
        "malformed or repeated extension in the certificate for {}",
        c.subject
    ))
}

/// TCG EK Credential Profile: an RSA EK certificate's key usage is keyEncipherment, an
/// ECC EK certificate's keyAgreement.
fn check_ek_usage(c: &Cert, rsa: bool) -> Result<(), AttestationError> {
    let tbs = c.cert.tbs_certificate();
    if let Some((_, bc)) = tbs
        .get_extension::<BasicConstraints>()
        .map_err(|_| malformed_ext(c))?
        && bc.ca
    {
        return Err(AttestationError::NotAnEkCertificate(
            "it is a CA certificate",
        ));
    }
    if let Some((_, ku)) = tbs
        .get_extension::<KeyUsage>()
        .map_err(|_| malformed_ext(c))?
    {
        if rsa && !ku.key_encipherment() {
            return Err(AttestationError::NotAnEkCertificate(
                "its key usage lacks keyEncipherment",
            ));
        }
        if !rsa && !ku.key_agreement() {
            return Err(AttestationError::NotAnEkCertificate(
                "its key usage lacks keyAgreement",
            ));
        }
    }
    if let Some((_, eku)) = tbs
        .get_extension::<ExtendedKeyUsage>()
        .map_err(|_| malformed_ext(c))?
        && !eku
            .0
            .iter()
            .any(|o| *o == TCG_KP_EK_CERTIFICATE || *o == ANY_EXTENDED_KEY_USAGE)
    {
        return Err(AttestationError::NotAnEkCertificate(
            "its extended key usage lacks tcg-kp-EKCertificate",
        ));
    }
    Ok(())
}

/// The EK's key: RSA with a 2048-bit modulus and exponent 65537 (template L-1), or ECC
/// NIST P-256 (template L-2).
fn ek_key(c: &Cert) -> Result<EkPublic, AttestationError> {
    let spki = c.cert.tbs_certificate().subject_public_key_info();
    let raw = spki
        .subject_public_key
        .as_bytes()
        .ok_or(AttestationError::UnsupportedEkKey("malformed public key"))?;
    if spki.algorithm.oid == EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        if curve != Some(SECP256R1) {
            return Err(AttestationError::UnsupportedEkKey(
                "an ECC EK must be on NIST P-256",
            ));
        }
        let key = p256::PublicKey::from_sec1_bytes(raw)
            .map_err(|_| AttestationError::UnsupportedEkKey("malformed ECC key"))?;
        return Ok(EkPublic::EccP256(key));
    }
    if spki.algorithm.oid != RSA_ENCRYPTION {
        return Err(AttestationError::UnsupportedEkKey("neither RSA nor ECC"));
    }
    let pk = rsa::pkcs1::RsaPublicKey::<der::asn1::UintRef<'_>>::from_der(raw)
        .map_err(|_| AttestationError::UnsupportedEkKey("malformed RSA key"))?;
    let n = pk.modulus.as_bytes();
    if n.len() != 256 || n[0] & 0x80 == 0 {
        return Err(AttestationError::UnsupportedEkKey(
            "the modulus is not 2048 bits",
        ));
    }
    if pk.public_exponent.as_bytes() != [0x01, 0x00, 0x01] {
        return Err(AttestationError::UnsupportedEkKey(
            "the exponent is not 65537",
        ));
    }
    rsa::PublicKey::try_from(pk)
        .map(EkPublic::Rsa)
        .map_err(|_| AttestationError::UnsupportedEkKey("invalid RSA key"))
}

/// Finds an issuer of `c` among the trusted certificates whose signature over `c`
/// verifies, recursively up to an anchor. When several candidates fail, the last error
/// is reported (bad signature, expiry, …), which is more precise than "untrusted".
fn build_path(
    c: &Cert,
    roots: &TrustedRoots,
    now: SystemTime,
    intermediates_below: usize,
) -> Result<(), AttestationError> {
    if intermediates_below > MAX_INTERMEDIATES {
        return Err(AttestationError::ChainTooLong);
    }
    let issuer = c.cert.tbs_certificate().issuer();
    let candidates = roots
        .anchors
        .iter()
        .map(|a| (a, true))
        .chain(roots.intermediates.iter().map(|i| (i, false)))
        .filter(|(cand, _)| names_match(cand.cert.tbs_certificate().subject(), issuer));
    let mut last = None;
    for (cand, is_anchor) in candidates {
        let attempt = verify_signature(cand, c)
            .and_then(|()| check_validity(cand, now))
            .and_then(|()| check_critical_extensions(cand, false))
            .and_then(|()| check_ca(cand, intermediates_below))
            .and_then(|()| {
                if is_anchor {
                    Ok(())
                } else {
                    build_path(cand, roots, now, intermediates_below + 1)
                }
            });
        match attempt {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
    }
    Err(
        last.unwrap_or_else(|| AttestationError::EkCertificateUntrusted {
            issuer: issuer.to_string(),
        }),
    )
}

/// Whether `a` and `b` name the same entity: equal DER, or equal RFC 4514 renderings (the
/// same attribute values in a different string type, e.g. PrintableString and
/// UTF8String — a simplification of RFC 5280 §7.1). This only picks issuer candidates:
/// each candidate's signature is still verified.
fn names_match(a: &x509_cert::name::Name, b: &x509_cert::name::Name) -> bool {
    a == b || a.to_string() == b.to_string()
}

fn check_ca(c: &Cert, intermediates_below: usize) -> Result<(), AttestationError> {
    let not_ca = |reason| AttestationError::IssuerNotCa {
        subject: c.subject.clone(),
        reason,
    };
    let tbs = c.cert.tbs_certificate();
    match tbs
        .get_extension::<BasicConstraints>()
        .map_err(|_| malformed_ext(c))?
    {
        Some((_, bc)) if bc.ca => {
            if let Some(max) = bc.path_len_constraint
                && intermediates_below > usize::from(max)
            {
                return Err(not_ca("its path length constraint is exceeded"));
            }
        }
        _ => return Err(not_ca("no basicConstraints with cA")),
    }
    if let Some((_, ku)) = tbs
        .get_extension::<KeyUsage>()
        .map_err(|_| malformed_ext(c))?
        && !ku.key_cert_sign()
    {
        return Err(not_ca("its key usage lacks keyCertSign"));
    }
    Ok(())
}

/// Verifies `subject`'s signature with `issuer`'s key.
fn verify_signature(issuer: &Cert, subject: &Cert) -> Result<(), AttestationError> {
    let alg = subject.cert.signature_algorithm();
    let unsupported = || AttestationError::UnsupportedSignatureAlgorithm {
        subject: subject.subject.clone(),
        oid: alg.oid.to_string(),
    };
    let bad = || AttestationError::EkCertificateBadSignature {
        subject: subject.subject.clone(),
    };
    if alg != subject.cert.tbs_certificate().signature() {
        return Err(bad());
    }
    let sig = subject.cert.signature().as_bytes().ok_or_else(bad)?;
    let spki = issuer.cert.tbs_certificate().subject_public_key_info();
    let key_bytes = spki.subject_public_key.as_bytes().ok_or_else(bad)?;
    let msg = &subject.tbs_raw;
    if alg.oid == SHA256_WITH_RSA || alg.oid == SHA384_WITH_RSA || alg.oid == SHA512_WITH_RSA {
        if spki.algorithm.oid != RSA_ENCRYPTION {
            return Err(bad());
        }
        let pk = rsa::pkcs1::RsaPublicKey::<der::asn1::UintRef<'_>>::from_der(key_bytes)
            .map_err(|_| bad())?;
        let key = rsa::PublicKey::try_from(pk).map_err(|_| bad())?;
        if key.size() < 256 {
            // Below 2048 bits a CA key is no longer a protection.
            return Err(bad());
        }
        let ok = if alg.oid == SHA256_WITH_RSA {
            key.pkcs1v15_verify::<sha2::Sha256>(msg, sig)
        } else if alg.oid == SHA384_WITH_RSA {
            key.pkcs1v15_verify::<sha2::Sha384>(msg, sig)
        } else {
            key.pkcs1v15_verify::<sha2::Sha512>(msg, sig)
        };
        ok.map_err(|_| bad())
    } else if alg.oid == ECDSA_WITH_SHA256 || alg.oid == ECDSA_WITH_SHA384 {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        if spki.algorithm.oid != EC_PUBLIC_KEY {
            return Err(bad());
        }
        let digest: Vec<u8> = if alg.oid == ECDSA_WITH_SHA256 {
            sha2::Sha256::digest(msg).to_vec()
        } else {
            sha2::Sha384::digest(msg).to_vec()
        };
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        if curve == Some(SECP256R1) {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes).map_err(|_| bad())?;
            let sig = p256::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
            key.verify_prehash(&digest, &sig).map_err(|_| bad())
        } else if curve == Some(SECP384R1) {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes).map_err(|_| bad())?;
            let sig = p384::ecdsa::Signature::from_der(sig).map_err(|_| bad())?;
            key.verify_prehash(&digest, &sig).map_err(|_| bad())
        } else {
            Err(unsupported())
        }
    } else {
        Err(unsupported())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tlv_lengths() {
        assert_eq!(tlv(&[0x30, 0x01, 0x00]), Some((2, 1)));
        assert_eq!(tlv(&[0x30, 0x81, 0x01, 0x00]), Some((3, 1)));
        assert_eq!(tlv(&[0x30, 0x82, 0xff, 0xff]), None);
        assert_eq!(tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(tlv(&[0x30]), None);
        assert_eq!(tlv(&[]), None);
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        let now = SystemTime::now();
        for bytes in [&b""[..], b"\x30\x03\x01\x01\x00", b"hello"] {
            assert!(matches!(
                verify_ek_certificate(bytes, &TrustedRoots::new(), now),
                Err(AttestationError::EkCertificateMalformed(_))
            ));
        }
    }
}
