//! Keys, key identifiers and the small traits through which signing keys and randomness
//! come into the core. The core never generates randomness or reads keys by itself.

use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Length of a key identifier in bytes (as the EU DCC does: the first 8 bytes of a SHA-256).
pub const KID_LEN: usize = 8;

/// An issuer key identifier: the first 8 bytes of SHA-256 over the key's SPKI DER encoding.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Kid(pub [u8; KID_LEN]);

impl Kid {
    /// Derives the identifier of a public key.
    pub fn of(key: &VerifyingKey) -> Kid {
        let der = spki_der(key);
        let digest = Sha256::digest(&der);
        let mut kid = [0u8; KID_LEN];
        kid.copy_from_slice(&digest[..KID_LEN]);
        Kid(kid)
    }

    /// Lowercase hex, as shown in trust lists and error messages.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl std::fmt::Debug for Kid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Kid({})", self.to_hex())
    }
}

impl std::fmt::Display for Kid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The SubjectPublicKeyInfo DER of a P-256 key.
pub fn spki_der(key: &VerifyingKey) -> Vec<u8> {
    // Encoding a valid P-256 point as SPKI cannot fail; an empty vector would only make
    // every later signature check fail, never pass.
    key.to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .unwrap_or_default()
}

/// The SubjectPublicKeyInfo PEM of a P-256 key.
pub fn spki_pem(key: &VerifyingKey) -> String {
    key.to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap_or_default()
}

/// Parses a P-256 public key from SPKI PEM.
pub fn public_key_from_pem(pem: &str) -> Result<VerifyingKey, KeyError> {
    VerifyingKey::from_public_key_pem(pem.trim()).map_err(|_| KeyError::NotP256SpkiPem)
}

/// Parses a P-256 public key from SPKI DER.
pub fn public_key_from_der(der: &[u8]) -> Result<VerifyingKey, KeyError> {
    VerifyingKey::from_public_key_der(der).map_err(|_| KeyError::NotP256SpkiPem)
}

/// Problems with key material handed to the core.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The text is not a P-256 public key in SubjectPublicKeyInfo PEM form.
    #[error("not a P-256 public key in SubjectPublicKeyInfo PEM or DER form")]
    NotP256SpkiPem,
    /// The bytes are not a valid P-256 private scalar.
    #[error("not a valid P-256 private key")]
    BadPrivateKey,
    /// A signer (keystore, HSM, secure element) refused or failed.
    #[error("the signing key is unavailable: {0}")]
    SignerUnavailable(String),
}

/// Source of cryptographically secure random bytes (the OS RNG in apps and services, a
/// seeded generator in tests and vectors).
pub trait Randomness {
    /// Fills `dest` with random bytes.
    fn fill(&mut self, dest: &mut [u8]);
}

/// An ES256 signer that can also say which public key verifies its signatures. The issuer's
/// key (file, HSM, KMS) and the holder's device key (OS keystore, secure element) both
/// implement it.
pub trait Es256Signer {
    /// The public key matching the signatures.
    fn public_key(&self) -> VerifyingKey;
    /// Signs `message` (the COSE `Sig_structure`) with ECDSA P-256 / SHA-256.
    fn sign(&self, message: &[u8]) -> Result<Signature, KeyError>;
}

/// A P-256 private key held in memory (zeroized on drop by `p256`).
pub struct SoftwareKey {
    key: SigningKey,
}

impl std::fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SoftwareKey({})", Kid::of(self.key.verifying_key()))
    }
}

impl SoftwareKey {
    /// Makes a new key from the given randomness.
    pub fn generate(rng: &mut dyn Randomness) -> SoftwareKey {
        loop {
            let mut bytes = Zeroizing::new([0u8; 32]);
            rng.fill(bytes.as_mut());
            // A random 32-byte string is a valid scalar with overwhelming probability;
            // the loop only guards against zero or values above the group order.
            if let Ok(key) = SoftwareKey::from_secret_bytes(bytes.as_ref()) {
                return key;
            }
        }
    }

    /// Loads a key from its 32-byte big-endian secret scalar.
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<SoftwareKey, KeyError> {
        let key = SigningKey::from_slice(bytes).map_err(|_| KeyError::BadPrivateKey)?;
        Ok(SoftwareKey { key })
    }

    /// The 32-byte secret scalar, for storing in a keystore. Wrapped so it is wiped after use.
    pub fn secret_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.key.to_bytes().to_vec())
    }

    /// This key's identifier.
    pub fn kid(&self) -> Kid {
        Kid::of(self.key.verifying_key())
    }
}

impl Es256Signer for SoftwareKey {
    fn public_key(&self) -> VerifyingKey {
        *self.key.verifying_key()
    }

    fn sign(&self, message: &[u8]) -> Result<Signature, KeyError> {
        // RFC 6979 deterministic nonces: signing needs no randomness.
        Ok(self.key.sign(message))
    }
}

/// Verifies a raw 64-byte ES256 signature (`r || s`) over `message`.
pub(crate) fn verify_es256(key: &VerifyingKey, message: &[u8], signature: &[u8]) -> bool {
    match Signature::from_slice(signature) {
        Ok(sig) => key.verify(message, &sig).is_ok(),
        Err(_) => false,
    }
}
