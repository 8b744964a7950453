//! Where the device keys live and sign.
//!
//! The software holder keeps the P-256 scalar in the vault, i.e. in the OS keystore, and
//! signs in process. The TPM holder ([`TpmKeys`]) keeps only the key's TPM-wrapped blob in
//! the vault ([`tessera_tpm::KeyBlob::to_bytes`]) and signs inside the TPM; the rest of the
//! wallet sees the same trait either way. A vault records which holder made its keys
//! ([`KeyHolder::name`]) and is never read with another.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use tessera_credential::keys::{Es256Signer, Randomness, SoftwareKey};
use tessera_tpm::{KeyAuth, KeyBlob, Tpm, TpmError, TpmSigner};
use zeroize::Zeroizing;

use crate::keystore::KeystoreError;

/// The operating system's random numbers.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandomness;

impl Randomness for OsRandomness {
    fn fill(&mut self, dest: &mut [u8]) {
        if let Err(e) = getrandom::fill(dest) {
            panic!("the operating system's random number generator failed: {e}");
        }
    }
}

/// Why a key holder could not do something.
#[derive(Debug, thiserror::Error)]
pub enum KeyHolderError {
    /// The keystore, or a stored key that cannot be read.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// The TPM's answer (a wrong PIN, a lockout, a key from another TPM, no TPM).
    #[error(transparent)]
    Tpm(#[from] TpmError),
    /// This holder cannot do that (e.g. a PIN on a software key).
    #[error("{0}")]
    Unsupported(&'static str),
}

/// A signer that can be handed across threads.
pub type BoxSigner = Box<dyn Es256Signer + Send + Sync>;

/// Makes device keys and signs with them.
pub trait KeyHolder: Send + Sync + std::fmt::Debug {
    /// What the vault records as the maker of its keys: `software` or `tpm`.
    fn name(&self) -> &'static str;
    /// A new device key without authorisation; returns what the vault stores to find it
    /// again (for software keys the secret scalar; for hardware keys a handle).
    fn generate(&self) -> Result<Zeroizing<Vec<u8>>, KeyHolderError>;
    /// A new device key that needs `auth` for every use, where the holder can enforce it
    /// (the TPM); a software holder makes an ordinary key ([`enforces_auth`](Self::enforces_auth)).
    fn generate_with_auth(&self, auth: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyHolderError> {
        let _ = auth;
        self.generate()
    }
    /// Whether keys made by [`generate_with_auth`](Self::generate_with_auth) really need
    /// their authorisation.
    fn enforces_auth(&self) -> bool {
        false
    }
    /// The signer for a stored handle, with the key's authorisation when it has one.
    fn signer_with_auth(
        &self,
        handle: &[u8],
        auth: Option<Zeroizing<Vec<u8>>>,
    ) -> Result<BoxSigner, KeyHolderError>;
    /// The signer for a stored handle of a key without authorisation.
    fn signer(&self, handle: &[u8]) -> Result<BoxSigner, KeyHolderError> {
        self.signer_with_auth(handle, None)
    }
    /// Checks `auth` by using the key once (a signature over a fresh nonce): on a TPM a
    /// wrong value counts against the TPM's dictionary-attack lockout.
    fn check_auth(&self, handle: &[u8], auth: &[u8]) -> Result<(), KeyHolderError> {
        let _ = (handle, auth);
        Err(KeyHolderError::Unsupported(
            "software keys carry no authorisation",
        ))
    }
    /// Re-authorises a key (`old` → `new`) and returns its new handle, which replaces the
    /// old one (on a TPM the old blob keeps working with the old value).
    fn change_auth(
        &self,
        handle: &[u8],
        old: &[u8],
        new: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyHolderError> {
        let _ = (handle, old, new);
        Err(KeyHolderError::Unsupported(
            "software keys carry no authorisation",
        ))
    }
    /// The TPM behind this holder, for key attestation.
    fn tpm(&self) -> Option<&Arc<Tpm>> {
        None
    }
    /// Whether the key of `handle` (one without authorisation) can be used here: a TPM
    /// answers `NotThisTpm` for a blob another TPM made.
    fn probe(&self, handle: &[u8]) -> Result<(), KeyHolderError> {
        self.signer(handle)?;
        Ok(())
    }
}

/// Keys in software, with the scalar kept in the OS keystore.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoftwareKeys;

impl KeyHolder for SoftwareKeys {
    fn name(&self) -> &'static str {
        "software"
    }

    fn generate(&self) -> Result<Zeroizing<Vec<u8>>, KeyHolderError> {
        Ok(SoftwareKey::generate(&mut OsRandomness).secret_bytes())
    }

    fn signer_with_auth(
        &self,
        handle: &[u8],
        _auth: Option<Zeroizing<Vec<u8>>>,
    ) -> Result<BoxSigner, KeyHolderError> {
        SoftwareKey::from_secret_bytes(handle)
            .map(|k| Box::new(k) as BoxSigner)
            .map_err(|e| {
                KeystoreError::Corrupt {
                    name: crate::vault::VAULT_ENTRY.into(),
                    detail: format!("the device key: {e}"),
                }
                .into()
            })
    }
}

/// Keys inside a TPM 2.0 ([`tessera_tpm`]): P-256 keys generated in the TPM, never
/// exportable; the vault keeps their blobs, wrapped under this TPM's storage key and useless
/// on any other.
#[derive(Debug, Clone)]
pub struct TpmKeys {
    tpm: Arc<Tpm>,
}

impl TpmKeys {
    /// The TPM named by `TPM2TOOLS_TCTI`, else `/dev/tpmrm0`.
    pub fn open() -> Result<TpmKeys, TpmError> {
        Ok(TpmKeys {
            tpm: Arc::new(Tpm::open()?),
        })
    }

    /// The TPM at `tcti` (e.g. `swtpm:host=127.0.0.1,port=2321`).
    pub fn open_with(tcti: &str) -> Result<TpmKeys, TpmError> {
        Ok(TpmKeys {
            tpm: Arc::new(Tpm::open_with(tcti)?),
        })
    }

    /// Whether this machine seems to have a TPM for the wallet: `TPM2TOOLS_TCTI` is set, or
    /// the kernel's resource manager `/dev/tpmrm0` exists.
    pub fn available() -> bool {
        std::env::var_os(tessera_tpm::TCTI_ENV).is_some_and(|v| !v.is_empty())
            || std::path::Path::new("/dev/tpmrm0").exists()
    }
}

fn blob(handle: &[u8]) -> Result<KeyBlob, KeyHolderError> {
    Ok(KeyBlob::from_bytes(handle)?)
}

impl KeyHolder for TpmKeys {
    fn name(&self) -> &'static str {
        "tpm"
    }

    fn generate(&self) -> Result<Zeroizing<Vec<u8>>, KeyHolderError> {
        Ok(Zeroizing::new(
            self.tpm.create_key(KeyAuth::None)?.to_bytes(),
        ))
    }

    fn generate_with_auth(&self, auth: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyHolderError> {
        let auth = Zeroizing::new(auth.to_vec());
        Ok(Zeroizing::new(
            self.tpm.create_key(KeyAuth::Pin(auth))?.to_bytes(),
        ))
    }

    fn enforces_auth(&self) -> bool {
        true
    }

    fn signer_with_auth(
        &self,
        handle: &[u8],
        auth: Option<Zeroizing<Vec<u8>>>,
    ) -> Result<BoxSigner, KeyHolderError> {
        Ok(Box::new(TpmSigner::new(
            self.tpm.clone(),
            blob(handle)?,
            auth,
        )?))
    }

    fn check_auth(&self, handle: &[u8], auth: &[u8]) -> Result<(), KeyHolderError> {
        let mut nonce = [0u8; 32];
        OsRandomness.fill(&mut nonce);
        let message = Sha256::new()
            .chain_update(b"tessera-tpm-pin-check-v1")
            .chain_update(nonce)
            .finalize();
        self.tpm.sign(&blob(handle)?, Some(auth), &message)?;
        Ok(())
    }

    fn change_auth(
        &self,
        handle: &[u8],
        old: &[u8],
        new: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyHolderError> {
        Ok(Zeroizing::new(
            self.tpm.change_auth(&blob(handle)?, old, new)?.to_bytes(),
        ))
    }

    fn tpm(&self) -> Option<&Arc<Tpm>> {
        Some(&self.tpm)
    }

    fn probe(&self, handle: &[u8]) -> Result<(), KeyHolderError> {
        self.tpm
            .sign(&blob(handle)?, None, b"tessera-tpm-probe-v1")
            .map(drop)
            .map_err(KeyHolderError::from)
    }
}

/// The TPM authValue of the upgraded key for `pin`: SHA-256("tessera-tpm-pin-v1" ‖ salt ‖
/// PIN), with the vault's per-install salt. Not stretched on purpose: the guessing limit is
/// the TPM's dictionary-attack lockout, which counts every wrong value inside the chip;
/// the value never leaves memory except in the TPM's salted, encrypted sessions, and the
/// vault stores nothing to test a guess against offline.
pub fn pin_auth_value(salt: &[u8], pin: &str) -> Zeroizing<Vec<u8>> {
    let mut h = Sha256::new();
    h.update(b"tessera-tpm-pin-v1");
    h.update(salt);
    h.update(pin.as_bytes());
    Zeroizing::new(h.finalize().to_vec())
}
