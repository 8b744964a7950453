//! Device keys of the Tessera wallet inside a TPM 2.0.
//!
//! The wallet's device key signs every ID code the citizen shows; kept in the TPM it cannot
//! be copied off the machine, and a PIN-protected key is guarded by the TPM's own
//! dictionary-attack lockout rather than by the app. What leaves the TPM is a [`KeyBlob`]:
//! the key's public area and its private part wrapped (encrypted and integrity-protected)
//! under this TPM's storage primary key, which only this TPM can unwrap. The wallet's vault
//! stores the blob; the TPM stores nothing.
//!
//! The byte formats and the pure parts (blob encoding, public-area parsing, the policy
//! digest, response-code classification) are platform independent and free of I/O; the
//! TPM itself is reached through `tss-esapi` on Linux. On Windows [`Tpm`] is the TPM
//! through CNG's Platform Crypto Provider, on macOS and iOS the Secure Enclave, with the
//! same methods and the same [`KeyBlob`] type ([`platform_key`] describes its form there);
//! those two are compiled for their targets but not run here. Elsewhere [`Tpm`] exists but
//! every call returns [`TpmError::Unsupported`].

use std::sync::Arc;
use std::time::Duration;

use p256::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use tessera_credential::keys::{Es256Signer, KeyError};
use zeroize::Zeroizing;

mod blob;
pub mod platform_key;
pub mod public_area;
// Only the TSS path reads response codes; the pure classifier stays testable everywhere.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
mod rc;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::Tpm;

// The one place of the crate with `unsafe` (CNG's C API); every block has a SAFETY note.
#[cfg(windows)]
#[allow(unsafe_code)]
mod windows;
#[cfg(windows)]
pub use windows::Tpm;

// Reads Security.framework's extern statics; every block has a SAFETY note.
#[cfg(any(target_os = "macos", target_os = "ios"))]
#[allow(unsafe_code)]
mod apple;
#[cfg(any(target_os = "macos", target_os = "ios"))]
pub use apple::Tpm;

#[cfg(not(any(target_os = "linux", windows, target_os = "macos", target_os = "ios")))]
mod stub;
#[cfg(not(any(target_os = "linux", windows, target_os = "macos", target_os = "ios")))]
pub use stub::Tpm;

pub use blob::{AkBlob, KeyBlob};
pub use public_area::PublicArea;

/// The TCTI used when `TPM2TOOLS_TCTI` is not set: the kernel's resource manager, which
/// lets several processes share the TPM safely.
pub const DEFAULT_TCTI: &str = "device:/dev/tpmrm0";

/// The environment variable the TCTI is read from, the one tpm2-tools read, so that an
/// administrator configures both the same way.
pub const TCTI_ENV: &str = "TPM2TOOLS_TCTI";

/// The TCTI to use given the value of `TPM2TOOLS_TCTI`: the variable if set and not
/// empty, else [`DEFAULT_TCTI`].
pub fn tcti_from_env(value: Option<String>) -> String {
    value
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_TCTI.to_owned())
}

/// TPM_CC_PolicyAuthValue.
const TPM_CC_POLICY_AUTH_VALUE: u32 = 0x0000_016B;

/// The SHA-256 policy digest of a policy made of TPM2_PolicyAuthValue alone:
/// `SHA-256(0³² ‖ TPM_CC_PolicyAuthValue)`.
///
/// A PIN key carries it as its `authPolicy` with `userWithAuth` clear, so the TPM accepts
/// only a policy session that proved knowledge of the authValue, and an attestation
/// verifier can read from the public area alone that the key demands an authorization.
pub fn policy_auth_value_digest() -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8; 32]);
    h.update(TPM_CC_POLICY_AUTH_VALUE.to_be_bytes());
    h.finalize().into()
}

/// The TPM name of an object from its marshalled TPM2B_PUBLIC: `nameAlg ‖ H(TPMT_PUBLIC)`.
/// Only SHA-256 name algorithms are supported (every key this crate makes uses it).
pub fn tpm_name(tpm2b_public: &[u8]) -> Result<Vec<u8>, TpmError> {
    let area = PublicArea::parse(tpm2b_public)?;
    if area.name_alg != public_area::TPM_ALG_SHA256 {
        return Err(TpmError::Malformed {
            what: "name algorithm is not SHA-256",
        });
    }
    let body = &tpm2b_public[2..];
    let mut name = public_area::TPM_ALG_SHA256.to_be_bytes().to_vec();
    name.extend_from_slice(&Sha256::digest(body));
    Ok(name)
}

/// How a new device key is authorised.
#[derive(Clone)]
pub enum KeyAuth {
    /// No authorisation: anyone who can reach the TPM with the blob may sign (the wallet's
    /// lightweight tier, where the phone in hand is the only factor).
    None,
    /// The key's authValue; every signature then needs it through a policy session, and
    /// wrong values count against the TPM's dictionary-attack lockout.
    Pin(Zeroizing<Vec<u8>>),
}

impl std::fmt::Debug for KeyAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyAuth::None => f.write_str("KeyAuth::None"),
            KeyAuth::Pin(_) => f.write_str("KeyAuth::Pin(…)"),
        }
    }
}

/// The dictionary-attack state of the TPM (TPM_PT_LOCKOUT_* properties).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaStatus {
    /// Failed authorisations counted so far (TPM_PT_LOCKOUT_COUNTER).
    pub counter: u32,
    /// Failures after which the TPM locks DA-protected objects (TPM_PT_MAX_AUTH_FAIL).
    pub max_tries: u32,
    /// Time after which one failure is forgotten (TPM_PT_LOCKOUT_INTERVAL); zero means the
    /// counter never decreases by itself.
    pub interval: Duration,
    /// Time after a failed lockout-authorisation before it may be tried again
    /// (TPM_PT_LOCKOUT_RECOVERY).
    pub recovery: Duration,
}

impl DaStatus {
    /// Whether DA-protected keys are locked now.
    pub fn locked_out(&self) -> bool {
        self.counter >= self.max_tries
    }

    /// Tries left before the lockout.
    pub fn tries_left(&self) -> u32 {
        self.max_tries.saturating_sub(self.counter)
    }

    /// When one more try will be allowed, if the TPM is locked out and the counter
    /// decreases by itself. The TPM does not report how far into the current interval it
    /// is, so this is an upper bound.
    pub fn retry_after(&self) -> Option<Duration> {
        if self.interval.is_zero() {
            return None;
        }
        let excess = self.counter.saturating_sub(self.max_tries) + 1;
        Some(self.interval * excess)
    }
}

/// What [`Tpm::attestation_start`] returns: what the wallet sends to the issuer to start
/// the credential-activation flow, and the attestation key to keep.
#[derive(Debug, Clone)]
pub struct AttestationStart {
    /// The EK certificate (DER) from the TPM's NV index 0x01c00002 (RSA 2048).
    pub ek_certificate: Vec<u8>,
    /// The attestation key, wrapped under the EK (keep it for `activate` and `certify`).
    pub ak: AkBlob,
    /// The AK's marshalled TPM2B_PUBLIC (also `ak.public`), for the issuer.
    pub ak_public: Vec<u8>,
}

/// The result of TPM2_Certify: the AK's statement that a key with this public area lives in
/// the same TPM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCertification {
    /// The certified key's marshalled TPM2B_PUBLIC.
    pub key_public: Vec<u8>,
    /// Marshalled TPM2B_ATTEST: a 2-byte size and the TPMS_ATTEST.
    pub certify_info: Vec<u8>,
    /// Marshalled TPMT_SIGNATURE (ECDSA, SHA-256, r, s) by the AK over SHA-256 of the
    /// TPMS_ATTEST. The TPM does not normalise s: verifiers must accept or normalise high s.
    pub signature: Vec<u8>,
}

/// Everything that can go wrong with the TPM.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TpmError {
    /// The TPM rejected the PIN (TPM_RC_AUTH_FAIL or TPM_RC_BAD_AUTH); the failure counts
    /// against the dictionary-attack lockout.
    #[error("wrong PIN{}", tries_left.map(|n| format!(" ({n} tries left)")).unwrap_or_default())]
    WrongPin {
        /// Tries left before the TPM locks out, if it could be read.
        tries_left: Option<u32>,
    },
    /// The key needs a PIN and none was given (the TPM was not asked, nothing was counted).
    #[error("this key needs its PIN")]
    PinRequired,
    /// Too many wrong PINs: the TPM refuses every DA-protected key, even with the right PIN
    /// (TPM_RC_LOCKOUT).
    #[error("the TPM is locked out after too many wrong PINs{}", retry_after.map(|d| format!("; retry in at most {} s", d.as_secs())).unwrap_or_default())]
    LockedOut {
        /// When one more try will be allowed, if the TPM recovers by itself.
        retry_after: Option<Duration>,
    },
    /// A PIN was given for a key that has none (its public area has userWithAuth and no
    /// policy); it is not sent to the TPM.
    #[error("this key has no PIN")]
    NoPinOnThisKey,
    /// The blob was not made by this TPM (its integrity check under this TPM's storage key
    /// failed): a vault copied to another machine, or a TPM that was cleared.
    #[error("this key was made by another TPM (or the TPM was cleared)")]
    NotThisTpm,
    /// TPM2_ActivateCredential refused the credential: it was made for another AK name or
    /// another EK (its integrity check failed).
    #[error("the credential was not made for this attestation key on this TPM")]
    CredentialMismatch,
    /// No TPM could be reached through the TCTI.
    #[error("no TPM at {tcti}: {detail}")]
    Unavailable {
        /// The TCTI string that was used.
        tcti: String,
        /// What failed.
        detail: String,
    },
    /// TPM keys are not implemented on this platform.
    #[error("TPM device keys are not supported on this platform")]
    Unsupported,
    /// Bytes handed in (a blob, a credential) are not what they should be.
    #[error("malformed input: {what}")]
    Malformed {
        /// What was wrong.
        what: &'static str,
    },
    /// Any other TPM or TSS failure.
    #[error("TPM error: {detail}")]
    Tpm {
        /// The TSS's description, with the response code.
        detail: String,
    },
}

/// An [`Es256Signer`] backed by a TPM key, so the credential core can use a TPM device key
/// exactly like a software one.
pub struct TpmSigner {
    tpm: Arc<Tpm>,
    blob: KeyBlob,
    auth: Option<Zeroizing<Vec<u8>>>,
    public: VerifyingKey,
}

impl std::fmt::Debug for TpmSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TpmSigner")
            .field("public", &tessera_credential::keys::Kid::of(&self.public))
            .field("has_auth", &self.auth.is_some())
            .finish()
    }
}

impl TpmSigner {
    /// Wraps a key blob (and its PIN, if it has one) for signing. Fails only if the blob's
    /// public area is not a P-256 key.
    pub fn new(
        tpm: Arc<Tpm>,
        blob: KeyBlob,
        auth: Option<Zeroizing<Vec<u8>>>,
    ) -> Result<TpmSigner, TpmError> {
        let public = blob.public_key()?;
        Ok(TpmSigner {
            tpm,
            blob,
            auth,
            public,
        })
    }

    /// The blob this signer uses.
    pub fn blob(&self) -> &KeyBlob {
        &self.blob
    }
}

impl Es256Signer for TpmSigner {
    fn public_key(&self) -> VerifyingKey {
        self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Signature, KeyError> {
        self.tpm
            .sign(
                &self.blob,
                self.auth.as_ref().map(|a| a.as_slice()),
                message,
            )
            .map_err(|e| KeyError::SignerUnavailable(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_auth_value_digest_is_the_known_constant() {
        // The value tpm2-tools prints for `tpm2_policyauthvalue` with SHA-256.
        let expected = "8fcd2169ab92694e0c633f1ab772842b8241bbc20288981fc7ac1eddc1fddb0e";
        let got: String = policy_auth_value_digest()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got, expected);
    }

    #[test]
    fn tcti_from_env_defaults_to_the_resource_manager() {
        assert_eq!(tcti_from_env(None), "device:/dev/tpmrm0");
        assert_eq!(tcti_from_env(Some(" ".into())), "device:/dev/tpmrm0");
        assert_eq!(
            tcti_from_env(Some("swtpm:host=127.0.0.1,port=2321".into())),
            "swtpm:host=127.0.0.1,port=2321"
        );
    }

    #[test]
    fn da_status_arithmetic() {
        let s = DaStatus {
            counter: 3,
            max_tries: 3,
            interval: Duration::from_secs(600),
            recovery: Duration::from_secs(60),
        };
        assert!(s.locked_out());
        assert_eq!(s.tries_left(), 0);
        assert_eq!(s.retry_after(), Some(Duration::from_secs(600)));
        let never = DaStatus {
            interval: Duration::ZERO,
            ..s
        };
        assert_eq!(never.retry_after(), None);
    }
}
