//! Everything secret the wallet holds, as one keystore entry, so that every life-cycle
//! transition is a single atomic write: a crash leaves the old state or the new one, never
//! a mix (for example, never a new device key without the credentials bound to it).

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::keystore::{KeystoreError, SecretStore};

/// The keystore entry name.
pub const VAULT_ENTRY: &str = "wallet-vault";
/// The format version written.
pub const VAULT_VERSION: u32 = 1;

/// A credential batch as issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize)]
pub struct StoredBatch {
    /// The issuer's id for the batch.
    pub enrolment_id: String,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// Tagged COSE_Sign1 bytes, lightweight tier.
    pub lightweight: Vec<u8>,
    /// Tagged COSE_Sign1 bytes, upgraded tier.
    pub upgraded: Vec<u8>,
}

/// An enrolment or renewal in flight: what is needed to resume it after a crash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize)]
pub struct Pending {
    /// `enrol` or `renew`.
    pub kind: String,
    /// The issuer's challenge.
    pub challenge_id: String,
    /// Its nonce.
    pub challenge_nonce: Vec<u8>,
    /// The ID number claimed (enrolment).
    pub id_number: String,
    /// The new device key's secret scalar.
    pub device_key: Vec<u8>,
}

/// The wallet's secret state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Vault {
    /// Format version.
    pub version: u32,
    /// The device key the current batch is bound to (32-byte scalar).
    pub device_key: Option<Vec<u8>>,
    /// The current batch.
    pub batch: Option<StoredBatch>,
    /// An enrolment or renewal that was started and not finished.
    pub pending: Option<Pending>,
    /// Set when the issuer reported the batch revoked.
    pub revoked: bool,
    /// Argon2id PHC string of the PIN.
    pub pin_verifier: Option<String>,
    /// Wrong PIN attempts since the last right one.
    pub pin_failures: u32,
    /// No PIN attempt is accepted before this (Unix seconds).
    pub pin_locked_until: u64,
    /// The holder's face template (from the enrolment capture).
    pub face_template: Option<Vec<u8>>,
}

impl Vault {
    /// Reads the vault (`None`: nothing stored yet). A damaged entry is an error and is
    /// left untouched.
    pub fn load(store: &dyn SecretStore) -> Result<Option<Vault>, KeystoreError> {
        let Some(bytes) = store.get(VAULT_ENTRY)? else {
            return Ok(None);
        };
        let vault: Vault = serde_json::from_slice(&bytes).map_err(|e| KeystoreError::Corrupt {
            name: VAULT_ENTRY.into(),
            detail: e.to_string(),
        })?;
        if vault.version != VAULT_VERSION {
            return Err(KeystoreError::Corrupt {
                name: VAULT_ENTRY.into(),
                detail: format!("format version {} is not {VAULT_VERSION}", vault.version),
            });
        }
        Ok(Some(vault))
    }

    /// Writes the vault in one keystore operation.
    pub fn save(&self, store: &dyn SecretStore) -> Result<(), KeystoreError> {
        let mut v = self.clone();
        v.version = VAULT_VERSION;
        let bytes = Zeroizing::new(serde_json::to_vec(&v).map_err(|e| KeystoreError::Corrupt {
            name: VAULT_ENTRY.into(),
            detail: e.to_string(),
        })?);
        store.put(VAULT_ENTRY, &bytes)
    }
}
