//! Every refusal, each its own variant: the issuer maps them to distinct problem types.

use std::path::PathBuf;

/// Why `begin` or `verify_key` refused the evidence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestationError {
    // --- begin: the EK certificate -------------------------------------------------------
    /// The EK certificate is not a DER X.509 certificate.
    #[error("the EK certificate cannot be read: {0}")]
    EkCertificateMalformed(String),
    /// No trusted root or intermediate is named as the issuer of a certificate on the path
    /// (includes an empty set of trusted roots).
    #[error(
        "the EK certificate does not chain to a trusted TPM manufacturer root (no trusted issuer named {issuer})"
    )]
    EkCertificateUntrusted {
        /// The issuer name that nothing trusted matches.
        issuer: String,
    },
    /// A certificate named a trusted issuer but that issuer's key did not sign it (a forged
    /// certificate, or a different CA with the same name).
    #[error("the signature of the certificate for {subject} does not verify with its issuer's key")]
    EkCertificateBadSignature {
        /// Subject of the certificate whose signature failed.
        subject: String,
    },
    /// A certificate on the path (EK certificate, intermediate or root) is not valid at
    /// the time of the check.
    #[error("the certificate for {subject} is expired or not yet valid")]
    EkCertificateNotValidNow {
        /// Subject of the certificate outside its validity period.
        subject: String,
    },
    /// An issuer on the path is not a CA: no basicConstraints with cA, no keyCertSign,
    /// or its path length constraint is exceeded.
    #[error("the issuer {subject} is not allowed to issue certificates: {reason}")]
    IssuerNotCa {
        /// The issuing certificate's subject.
        subject: String,
        /// What is missing.
        reason: &'static str,
    },
    /// A certificate on the path has a critical extension this crate does not process.
    #[error("the certificate for {subject} has a critical extension that is not understood: {oid}")]
    UnsupportedCriticalExtension {
        /// The certificate's subject.
        subject: String,
        /// The extension's OID.
        oid: String,
    },
    /// A certificate on the path is signed with an algorithm this crate does not verify
    /// (supported: RSA PKCS#1 v1.5 with SHA-256/384/512; ECDSA with SHA-256/384 by a P-256
    /// or P-384 key).
    #[error("the certificate for {subject} is signed with an unsupported algorithm {oid}")]
    UnsupportedSignatureAlgorithm {
        /// The certificate's subject.
        subject: String,
        /// The signature algorithm OID.
        oid: String,
    },
    /// The path to a trusted root is longer than allowed (or loops).
    #[error("the certificate path is too long")]
    ChainTooLong,
    /// The leaf certificate is not an EK certificate: it is a CA, its key usage lacks
    /// keyEncipherment (RSA) or keyAgreement (ECC), or its extended key usage lacks
    /// tcg-kp-EKCertificate.
    #[error("the certificate is not an EK certificate: {0}")]
    NotAnEkCertificate(&'static str),
    /// The EK's key is neither RSA 2048 with exponent 65537 nor ECC NIST P-256 (the TCG
    /// default templates L-1 and L-2).
    #[error("unsupported EK key: {0}")]
    UnsupportedEkKey(&'static str),

    // --- begin: the AK ----------------------------------------------------------------
    /// `ak_public` is not a marshalled TPM2B_PUBLIC.
    #[error("the AK public area cannot be read: {0}")]
    AkPublicMalformed(&'static str),
    /// The AK is not ECC P-256 with nameAlg SHA-256 and the ECDSA-SHA-256 scheme, or its
    /// point is not on the curve.
    #[error("unsupported AK algorithm: {0}")]
    AkAlgorithmUnsupported(&'static str),
    /// The AK's attributes are not those of a restricted signing key that never leaves its
    /// TPM (fixedTPM, fixedParent, sensitiveDataOrigin, restricted, sign; not decrypt).
    #[error("the AK is not a restricted signing key of the TPM: {0}")]
    AkNotRestrictedTpmKey(&'static str),

    // --- begin: making the credential ---------------------------------------------------
    /// The random number generator failed.
    #[error("the random number generator failed")]
    Randomness,
    /// RSA-OAEP encryption of the seed failed (not expected with a checked key).
    #[error("encrypting the credential failed")]
    Encryption,

    // --- verify_key ---------------------------------------------------------------------
    /// `key_public`, `certify_info` or `signature` cannot be read.
    #[error("the key certification cannot be read: {0}")]
    CertificationMalformed(&'static str),
    /// The signature is not ECDSA with SHA-256 (the AK's scheme).
    #[error("the certification is not signed with ECDSA SHA-256")]
    SignatureAlgorithmUnsupported,
    /// The AK's signature over the TPMS_ATTEST does not verify.
    #[error("the AK's signature over the certification does not verify")]
    BadSignature,
    /// The signed structure does not start with TPM_GENERATED_VALUE: the TPM did not make it.
    #[error("the certification was not generated by the TPM")]
    NotTpmGenerated,
    /// The signed structure is not a TPM2_Certify result.
    #[error("the attestation is not a TPM2_Certify certification (type {0:#06x})")]
    NotACertification(u16),
    /// extraData is not SHA-256("tessera-tpm-certify-v1" ‖ challenge nonce ‖ secret): the
    /// evidence was made for another challenge (replay), or without activating the
    /// credential (the AK is not in the TPM of the EK).
    #[error(
        "the certification was made for another challenge, or without the activated credential"
    )]
    QualifyingDataMismatch,
    /// The certified Name is not the Name of the `key_public` sent along.
    #[error("the certification is of another object than the key public area sent")]
    CertifiedNameMismatch,
    /// The certified key is not ECC P-256 with nameAlg SHA-256.
    #[error("unsupported device key algorithm: {0}")]
    KeyAlgorithmUnsupported(&'static str),
    /// The certified key is not a plain signing key (sign set; decrypt and restricted clear).
    #[error("the device key is not an unrestricted signing-only key: {0}")]
    KeyNotSigningKey(&'static str),
    /// The certified key lacks fixedTPM, fixedParent or sensitiveDataOrigin: it was made
    /// outside the TPM (imported or loaded from software) or can be duplicated.
    #[error("the device key was not generated in the TPM, or can leave it: {0}")]
    KeyNotGeneratedInTpm(&'static str),
    /// The certified key is not the key the issuer expected (attestation of another key).
    #[error("the certification is of another key than the expected device key")]
    KeyMismatch,
    /// The key requires its authValue (PIN) but noDA is set: wrong PINs would not count
    /// against the TPM's dictionary-attack lockout.
    #[error("the PIN-protected key has noDA set: wrong PINs would not be counted")]
    PinKeyWithoutLockout,
}

/// Why `TrustedRoots::from_dir` could not load the directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RootsError {
    /// The directory or one of its files cannot be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file holds no certificate, or a malformed one.
    #[error("{}: not a PEM or DER X.509 certificate: {reason}", path.display())]
    NotACertificate {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },
    /// The directory holds no trust anchor (self-issued root certificate).
    #[error("{}: no self-signed root certificate found", path.display())]
    Empty {
        /// The directory.
        path: PathBuf,
    },
}
