//! Where the device key lives and signs.
//!
//! The software holder keeps the P-256 scalar in the vault, i.e. in the OS keystore, and
//! signs in process. A hardware holder (Secure Enclave, StrongBox, a TPM) keeps only a
//! handle in the vault and signs inside the chip; the rest of the wallet sees the same
//! trait either way.

use tessera_credential::keys::{Es256Signer, Randomness, SoftwareKey};
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

/// Makes device keys and signs with them.
pub trait KeyHolder: Send + Sync + std::fmt::Debug {
    /// A new device key; returns what the vault stores to find it again (for software keys
    /// the secret scalar; for hardware keys a handle).
    fn generate(&self) -> Result<Zeroizing<Vec<u8>>, KeystoreError>;
    /// The signer for a stored handle.
    fn signer(&self, handle: &[u8]) -> Result<Box<dyn Es256Signer + Send + Sync>, KeystoreError>;
}

/// Keys in software, with the scalar kept in the OS keystore.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoftwareKeys;

impl KeyHolder for SoftwareKeys {
    fn generate(&self) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
        Ok(SoftwareKey::generate(&mut OsRandomness).secret_bytes())
    }

    fn signer(&self, handle: &[u8]) -> Result<Box<dyn Es256Signer + Send + Sync>, KeystoreError> {
        SoftwareKey::from_secret_bytes(handle)
            .map(|k| Box::new(k) as Box<dyn Es256Signer + Send + Sync>)
            .map_err(|e| KeystoreError::Corrupt {
                name: crate::vault::VAULT_ENTRY.into(),
                detail: format!("the device key: {e}"),
            })
    }
}
