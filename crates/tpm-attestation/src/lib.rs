//! The issuer's side of TPM 2.0 key attestation, in pure Rust (no TSS library: the
//! issuer runs on servers without a TPM). A sans-IO core: bytes in, decisions out.
//!
//! 1. [`begin`]: checks the EK certificate against [`TrustedRoots`] and the AK's public
//!    area, then makes a TPM2_MakeCredential blob ([`Activation`]) that only the TPM
//!    holding both that EK and that AK can open. The issuer keeps the [`ActivationState`].
//! 2. [`verify_key`]: checks a TPM2_Certify of a device key signed by the AK, whose
//!    qualifying data binds the activated secret and the issuer's challenge
//!    ([`qualifying_data`]).
//!
//! See the crate's README.md for the byte formats, every check and what it does not prove.

#![forbid(unsafe_code)]

mod credential;
mod ek;
mod error;
mod wire;

use std::time::SystemTime;

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rand_core::TryCryptoRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

pub use ek::TrustedRoots;
pub use error::{AttestationError, RootsError};

use wire::{EccPublic, Public, alg, attr};

/// Domain separation of the qualifying data.
pub const CERTIFY_CONTEXT: &[u8] = b"tessera-tpm-certify-v1";

/// TPM_CC_PolicyAuthValue (Part 2 §6.5.2).
const TPM_CC_POLICY_AUTH_VALUE: u32 = 0x0000_016B;

/// What the issuer sends the wallet: the two outputs of TPM2_MakeCredential, each a
/// marshalled TPM2B (2-byte big-endian size, then the bytes), ready for
/// TPM2_ActivateCredential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activation {
    /// TPM2B_ID_OBJECT: the secret, encrypted and integrity-protected for the AK's Name.
    pub id_object: Vec<u8>,
    /// TPM2B_ENCRYPTED_SECRET: the seed, RSA-OAEP-encrypted to the EK.
    pub encrypted_secret: Vec<u8>,
}

/// What the issuer keeps with its challenge until the wallet answers (serialisable, for a
/// database row). It holds the credential secret: store it as confidentially as the
/// challenge itself. Zeroed on drop.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct ActivationState {
    /// The AK's public point, x coordinate (32 bytes, big-endian).
    ak_x: [u8; 32],
    /// The AK's public point, y coordinate.
    ak_y: [u8; 32],
    /// The secret put in the credential; only the EK's TPM gives it back, and only for
    /// this AK.
    secret: [u8; 32],
}

impl std::fmt::Debug for ActivationState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivationState")
            .field("ak_x", &Hex(&self.ak_x))
            .field("ak_y", &Hex(&self.ak_y))
            .field("secret", &"<redacted>")
            .finish()
    }
}

struct Hex<'a>(&'a [u8]);

impl std::fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl ActivationState {
    /// The AK's public key.
    pub fn ak_key(&self) -> Option<p256::ecdsa::VerifyingKey> {
        point_key(&self.ak_x, &self.ak_y)
    }
}

/// What the wallet sends per device key (step 3 of the flow).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCertification {
    /// The device key's marshalled TPM2B_PUBLIC.
    pub key_public: Vec<u8>,
    /// The TPM2_Certify output: marshalled TPM2B_ATTEST (2-byte size + TPMS_ATTEST).
    pub certify_info: Vec<u8>,
    /// The AK's signature: marshalled TPMT_SIGNATURE (sigAlg ECDSA 0x0018, hash SHA-256
    /// 0x000B, TPM2B r, TPM2B s).
    pub signature: Vec<u8>,
}

/// What a successful [`verify_key`] establishes about the device key, beyond "generated
/// in the TPM of the certified EK, cannot leave it, is `expected_key`".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestedKey {
    /// The key can only be used with its authValue: userWithAuth is clear and its
    /// authPolicy is exactly TPM2_PolicyAuthValue. The TPM does not prove what that value
    /// is (the PIN, or even non-empty). By convention a key with userWithAuth set is
    /// reported `false` even when its authPolicy is empty (PIN keys use the policy form).
    pub requires_authorization: bool,
    /// Wrong authValues count against the TPM's dictionary-attack lockout (noDA clear).
    /// Always true when `requires_authorization` is (otherwise the key is refused).
    pub dictionary_attack_protected: bool,
}

/// The qualifying data (extraData) the wallet passes to TPM2_Certify:
/// SHA-256("tessera-tpm-certify-v1" ‖ challenge_nonce ‖ secret). The secret is fixed-size
/// and last, so the concatenation is unambiguous.
pub fn qualifying_data(challenge_nonce: &[u8], secret: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(CERTIFY_CONTEXT);
    h.update(challenge_nonce);
    h.update(secret);
    h.finalize().into()
}

/// The policy digest of a policy made of TPM2_PolicyAuthValue alone, with SHA-256
/// (Part 3 §23.18): SHA-256(32 zero bytes ‖ TPM_CC_PolicyAuthValue).
pub fn policy_auth_value_digest() -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8; 32]);
    h.update(TPM_CC_POLICY_AUTH_VALUE.to_be_bytes());
    h.finalize().into()
}

/// The issuer's first step: checks the EK certificate and the AK, and makes the credential.
///
/// Steps, in order:
/// 1. the EK certificate chains to `roots` at `now` (signatures first, then the
///    contents; see [`TrustedRoots`] and the README) and its key is RSA 2048 or ECC
///    P-256;
/// 2. `ak_public` is a TPM2B_PUBLIC of an ECC P-256 key, nameAlg SHA-256, scheme ECDSA
///    SHA-256, attributes fixedTPM, fixedParent, sensitiveDataOrigin, restricted, sign
///    set and decrypt clear; its Name is 0x000B ‖ SHA-256(TPMT_PUBLIC);
/// 3. MakeCredential(EK, Name(AK), `secret`) with a fresh seed from `rng`.
///
/// The AK's attributes are only claims until step 3 pays off: the TPM's
/// ActivateCredential releases the secret only if an object with exactly this Name (so
/// these attributes) is loaded in the TPM of this EK.
pub fn begin<R: TryCryptoRng + ?Sized>(
    ek_certificate: &[u8],
    ak_public: &[u8],
    roots: &TrustedRoots,
    now: SystemTime,
    secret: [u8; 32],
    rng: &mut R,
) -> Result<(Activation, ActivationState), AttestationError> {
    let secret = zeroize::Zeroizing::new(secret);
    // 1. The EK certificate.
    let ek = ek::verify_ek_certificate(ek_certificate, roots, now)?;

    // 2. The AK.
    let tpmt = wire::outer_tpm2b(ak_public, "not a TPM2B_PUBLIC")
        .map_err(AttestationError::AkPublicMalformed)?;
    let ak = match wire::parse_public(tpmt).map_err(AttestationError::AkPublicMalformed)? {
        Public::Ecc(p) => p,
        Public::Other => {
            return Err(AttestationError::AkAlgorithmUnsupported("not an ECC key"));
        }
    };
    let (ak_x, ak_y) = check_ak(&ak)?;
    let ak_name = wire::name_sha256(tpmt);

    // 3. MakeCredential.
    let cred = credential::make_credential(&ek, &ak_name, &secret, rng).map_err(|e| match e {
        credential::MakeCredentialError::Randomness => AttestationError::Randomness,
        credential::MakeCredentialError::Encryption => AttestationError::Encryption,
    })?;
    Ok((
        Activation {
            id_object: cred.id_object,
            encrypted_secret: cred.encrypted_secret,
        },
        ActivationState {
            ak_x,
            ak_y,
            secret: *secret,
        },
    ))
}

fn check_ak(ak: &EccPublic) -> Result<([u8; 32], [u8; 32]), AttestationError> {
    use AttestationError::{AkAlgorithmUnsupported as Alg, AkNotRestrictedTpmKey as Attr};
    if ak.name_alg != alg::SHA256 {
        return Err(Alg("nameAlg is not SHA-256"));
    }
    if ak.curve != wire::ECC_NIST_P256 {
        return Err(Alg("the curve is not NIST P-256"));
    }
    if ak.scheme != alg::ECDSA || ak.scheme_hash != Some(alg::SHA256) {
        return Err(Alg("the scheme is not ECDSA with SHA-256"));
    }
    if ak.symmetric != alg::NULL {
        return Err(Alg("a signing key has no symmetric algorithm"));
    }
    let a = ak.attributes;
    for (bit, what) in [
        (attr::FIXED_TPM, "fixedTPM is clear"),
        (attr::FIXED_PARENT, "fixedParent is clear"),
        (attr::SENSITIVE_DATA_ORIGIN, "sensitiveDataOrigin is clear"),
        (attr::RESTRICTED, "restricted is clear"),
        (attr::SIGN, "sign is clear"),
    ] {
        if a & bit == 0 {
            return Err(Attr(what));
        }
    }
    if a & attr::DECRYPT != 0 {
        return Err(Attr("decrypt is set"));
    }
    let (x, y) = ak.point.ok_or(Alg("the point is not a P-256 point"))?;
    point_key(&x, &y).ok_or(Alg("the point is not on P-256"))?;
    Ok((x, y))
}

fn point_key(x: &[u8; 32], y: &[u8; 32]) -> Option<p256::ecdsa::VerifyingKey> {
    let mut sec1 = [0u8; 65];
    sec1[0] = 0x04;
    sec1[1..33].copy_from_slice(x);
    sec1[33..].copy_from_slice(y);
    p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1).ok()
}

/// The issuer's second step, per device key: checks a TPM2_Certify made by the activated
/// AK for `challenge_nonce`, and that it certifies `expected_key`.
///
/// Steps, in order (nothing inside the attestation is trusted before 1):
/// 1. the AK's ECDSA signature over SHA-256(TPMS_ATTEST) verifies;
/// 2. the TPMS_ATTEST starts with TPM_GENERATED_VALUE, is of type TPM_ST_ATTEST_CERTIFY,
///    and its extraData equals [`qualifying_data`] (constant-time);
/// 3. the certified Name equals Name(`key_public`);
/// 4. `key_public` is an ECC P-256 signing key (sign set; decrypt, restricted clear),
///    generated in the TPM and bound to it (fixedTPM, fixedParent, sensitiveDataOrigin);
/// 5. its point is `expected_key`;
/// 6. its protection: see [`AttestedKey`]; a PIN key with noDA set is refused.
pub fn verify_key(
    state: &ActivationState,
    challenge_nonce: &[u8],
    certification: &KeyCertification,
    expected_key: &p256::ecdsa::VerifyingKey,
) -> Result<AttestedKey, AttestationError> {
    use AttestationError::CertificationMalformed as Malformed;

    // 1. The AK's signature over the TPMS_ATTEST bytes.
    let attest_bytes = wire::outer_tpm2b(
        &certification.certify_info,
        "certify_info is not a TPM2B_ATTEST",
    )
    .map_err(Malformed)?;
    let sig = wire::parse_signature(&certification.signature).map_err(Malformed)?;
    if sig.sig_alg != alg::ECDSA || sig.hash != alg::SHA256 {
        return Err(AttestationError::SignatureAlgorithmUnsupported);
    }
    let (Some(r), Some(s)) = (sig.r, sig.s) else {
        return Err(AttestationError::BadSignature);
    };
    let signature =
        p256::ecdsa::Signature::from_scalars(r, s).map_err(|_| AttestationError::BadSignature)?;
    let ak = state
        .ak_key()
        .ok_or(Malformed("the stored AK point is not on P-256"))?;
    ak.verify_prehash(&Sha256::digest(attest_bytes), &signature)
        .map_err(|_| AttestationError::BadSignature)?;

    // 2. What the TPM attested, and for which challenge.
    let attest = wire::parse_attest(attest_bytes).map_err(Malformed)?;
    if attest.magic != wire::TPM_GENERATED_VALUE {
        return Err(AttestationError::NotTpmGenerated);
    }
    if attest.attest_type != wire::TPM_ST_ATTEST_CERTIFY {
        return Err(AttestationError::NotACertification(attest.attest_type));
    }
    let expected = qualifying_data(challenge_nonce, &state.secret);
    if !bool::from(attest.extra_data.ct_eq(&expected)) {
        return Err(AttestationError::QualifyingDataMismatch);
    }

    // 3. The certified object is the public area sent along.
    let key_tpmt = wire::outer_tpm2b(
        &certification.key_public,
        "key_public is not a TPM2B_PUBLIC",
    )
    .map_err(Malformed)?;
    let key = match wire::parse_public(key_tpmt).map_err(Malformed)? {
        Public::Ecc(k) => k,
        Public::Other => {
            return Err(AttestationError::KeyAlgorithmUnsupported("not an ECC key"));
        }
    };
    // The Name hashes with the key's nameAlg: only SHA-256 is supported.
    if key.name_alg != alg::SHA256 {
        return Err(AttestationError::KeyAlgorithmUnsupported(
            "nameAlg is not SHA-256",
        ));
    }
    if attest.certified_name != wire::name_sha256(key_tpmt).as_slice() {
        return Err(AttestationError::CertifiedNameMismatch);
    }

    // 4. A P-256 signing key generated in, and bound to, the TPM.
    check_device_key(&key)?;

    // 5. The expected key.
    let (x, y) = key.point.ok_or(AttestationError::KeyAlgorithmUnsupported(
        "the point is not a P-256 point",
    ))?;
    let certified = point_key(&x, &y).ok_or(AttestationError::KeyAlgorithmUnsupported(
        "the point is not on P-256",
    ))?;
    if certified != *expected_key {
        return Err(AttestationError::KeyMismatch);
    }

    // 6. The protection.
    let a = key.attributes;
    let requires_authorization = a & attr::USER_WITH_AUTH == 0
        && bool::from(key.auth_policy.ct_eq(&policy_auth_value_digest()));
    let dictionary_attack_protected = a & attr::NO_DA == 0;
    if requires_authorization && !dictionary_attack_protected {
        return Err(AttestationError::PinKeyWithoutLockout);
    }
    Ok(AttestedKey {
        requires_authorization,
        dictionary_attack_protected,
    })
}

fn check_device_key(key: &EccPublic) -> Result<(), AttestationError> {
    use AttestationError::{
        KeyAlgorithmUnsupported as Alg, KeyNotGeneratedInTpm as NotTpm, KeyNotSigningKey as NotSign,
    };
    if key.curve != wire::ECC_NIST_P256 {
        return Err(Alg("the curve is not NIST P-256"));
    }
    let a = key.attributes;
    // Where the key comes from first: a software key is refused as such, whatever its use.
    for (bit, what) in [
        (attr::SENSITIVE_DATA_ORIGIN, "sensitiveDataOrigin is clear"),
        (attr::FIXED_TPM, "fixedTPM is clear"),
        (attr::FIXED_PARENT, "fixedParent is clear"),
    ] {
        if a & bit == 0 {
            return Err(NotTpm(what));
        }
    }
    if a & attr::SIGN == 0 {
        return Err(NotSign("sign is clear"));
    }
    if a & attr::DECRYPT != 0 {
        return Err(NotSign("decrypt is set"));
    }
    if a & attr::RESTRICTED != 0 {
        return Err(NotSign("restricted is set"));
    }
    Ok(())
}
