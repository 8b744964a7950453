//! Everything secret the wallet holds, as one keystore entry, so that every life-cycle
//! transition is a single atomic write: a crash leaves the old state or the new one, never
//! a mix (for example, never a new device key without the credentials bound to it).

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::keystore::{KeystoreError, SecretStore};

/// Bytes as base64url in the vault's JSON: a third of the size of JSON number arrays, which
/// keeps the vault under the 2,560-byte limit of Windows Credential Manager.
mod b64_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_some(&tessera_issuer_api::b64::encode(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| tessera_issuer_api::b64::decode(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

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
    #[serde(with = "tessera_issuer_api::b64")]
    pub lightweight: Vec<u8>,
    /// Tagged COSE_Sign1 bytes, upgraded tier.
    #[serde(with = "tessera_issuer_api::b64")]
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
    #[serde(with = "tessera_issuer_api::b64")]
    pub challenge_nonce: Vec<u8>,
    /// The ID number claimed (enrolment).
    pub id_number: String,
    /// The new device key's handle (for software keys, the secret scalar).
    #[serde(with = "tessera_issuer_api::b64")]
    pub device_key: Vec<u8>,
    /// The face template made from the answer sent to the issuer (checked for liveness on
    /// the device): what a resumed enrolment stores as the holder's face, never a fresh,
    /// unchecked capture.
    #[serde(default, with = "b64_opt")]
    pub face_template: Option<Vec<u8>>,
}

/// The wallet's secret state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct Vault {
    /// Format version.
    pub version: u32,
    /// The device key the current batch is bound to (for software keys, the scalar).
    #[serde(default, with = "b64_opt")]
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
    #[serde(default, with = "b64_opt")]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_vault_fits_the_smallest_platform_keystore() {
        let w = tessera_vectors::Wallet::standard();
        let mut v = Vault::default();
        v.version = VAULT_VERSION;
        v.device_key = Some(w.device.secret_bytes().to_vec());
        v.batch = Some(StoredBatch {
            enrolment_id: "0123456789abcdef0123456789abcdef".into(),
            issued_at: 1_795_608_000,
            expires_at: 1_827_144_000,
            lightweight: w.lightweight.to_tagged_bytes(),
            upgraded: w.upgraded.to_tagged_bytes(),
        });
        v.pending = Some(Pending {
            kind: "renew".into(),
            challenge_id: "0123456789abcdef0123456789abcdef".into(),
            challenge_nonce: vec![7; 16],
            id_number: "11010519491231002X".into(),
            device_key: vec![9; 32],
            face_template: Some(vec![2; 133]),
        });
        crate::pin::set_pin(&mut v, "246810", &[3; 16]).unwrap();
        v.face_template = Some(vec![1; 133]);
        let json = serde_json::to_vec(&v).unwrap();
        // Windows Credential Manager holds at most 2,560 bytes per credential.
        assert!(json.len() <= 2560, "{} bytes", json.len());
        let back: Vault = serde_json::from_slice(&json).unwrap();
        assert_eq!(back, v);
    }
}
