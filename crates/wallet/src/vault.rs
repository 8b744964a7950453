//! Everything secret the wallet holds, written as one sealed file committed by one keystore
//! write ([`crate::sealed`]), so that every life-cycle transition is a single atomic write:
//! a crash leaves the old state or the new one, never a mix (for example, never a new
//! device key without the credentials bound to it, never a refill's new credentials beside
//! the ones it retired).

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use std::path::PathBuf;

use crate::keystore::{KeystoreError, SecretStore};
use crate::sealed::{Loaded, SealedStore};

/// Bytes as base64url in the vault's JSON: a third of the size of JSON number arrays.
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

/// The enrolment's long-lived part, as issued: the upgraded credential on the main device
/// key. The one-time credentials are [`OneTime`]s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize)]
pub struct StoredBatch {
    /// The issuer's id for the batch.
    pub enrolment_id: String,
    /// Unix seconds.
    pub issued_at: u64,
    /// Unix seconds.
    pub expires_at: u64,
    /// A vault written before batches kept its one lightweight credential here (bound to
    /// the main key); [`Vault::load`] moves it to [`Vault::one_time`].
    #[serde(
        default,
        with = "tessera_issuer_api::b64",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub lightweight: Vec<u8>,
    /// Tagged COSE_Sign1 bytes, upgraded tier.
    #[serde(with = "tessera_issuer_api::b64")]
    pub upgraded: Vec<u8>,
}

/// A one-time credential (lightweight or age only) with its own device key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize)]
pub struct OneTime {
    /// `lightweight` or `age_only`.
    pub tier: String,
    /// Tagged COSE_Sign1 bytes.
    #[serde(with = "tessera_issuer_api::b64")]
    pub credential: Vec<u8>,
    /// Its device key's handle (for software keys, the secret scalar).
    #[serde(with = "tessera_issuer_api::b64")]
    pub key: Vec<u8>,
    /// Showings begun with it: 0 is unused; more than 1 only when the wallet had to reuse
    /// one offline (and said so).
    pub shown: u32,
}

/// A key made for a one-time credential that has not arrived yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize)]
pub struct PendingKey {
    /// `lightweight` or `age_only`.
    pub tier: String,
    /// The key's handle.
    #[serde(with = "tessera_issuer_api::b64")]
    pub key: Vec<u8>,
}

/// A refill in flight: what is needed to send the same request again after a crash (the
/// issuer answers a repeat with the credentials it already issued).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize)]
pub struct PendingRefill {
    /// The issuer's challenge.
    pub challenge_id: String,
    /// Its nonce.
    #[serde(with = "tessera_issuer_api::b64")]
    pub challenge_nonce: Vec<u8>,
    /// The new keys, in the order sent.
    pub keys: Vec<PendingKey>,
    /// The `cti`s (hex) retired by this refill.
    pub retire: Vec<String>,
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
    /// The one-time credentials' keys, in the order sent.
    #[serde(default)]
    pub batch_keys: Vec<PendingKey>,
    /// TPM keys: the random placeholder authValue of the new main key, kept until the PIN
    /// replaces it ([`Vault::device_key_auth`]); `None` when it was made with the PIN's
    /// value (a renewal after the PIN was set) or for software keys.
    #[serde(default, with = "b64_opt", skip_serializing_if = "Option::is_none")]
    pub device_key_auth: Option<Vec<u8>>,
    /// TPM keys: the key attestation sent (JSON of `TpmKeyAttestation`), sent again by a
    /// resumed request.
    #[serde(default, with = "b64_opt", skip_serializing_if = "Option::is_none")]
    pub tpm_attestation: Option<Vec<u8>>,
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
    /// The one-time credentials of the current batch, each with its key.
    #[serde(default)]
    pub one_time: Vec<OneTime>,
    /// A refill that was started and not finished.
    #[serde(default)]
    pub refill: Option<PendingRefill>,
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
    /// Which key holder made the keys of this vault (`software` or `tpm`; absent: software,
    /// as every vault before TPM keys). A vault is never read with another holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_holder: Option<String>,
    /// TPM keys before the PIN is set: the main key's random placeholder authValue, which
    /// the first PIN replaces (TPM2_ObjectChangeAuth) and which is then deleted.
    #[serde(default, with = "b64_opt", skip_serializing_if = "Option::is_none")]
    pub device_key_auth: Option<Vec<u8>>,
    /// TPM keys: the PIN is the main key's authValue and the TPM checks it (no Argon2
    /// verifier is kept: nothing here can test a guess offline).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tpm_pin: bool,
    /// TPM keys: the per-install salt of the PIN's authValue ([`crate::keys::pin_auth_value`]).
    #[serde(default, with = "b64_opt", skip_serializing_if = "Option::is_none")]
    pub pin_salt: Option<Vec<u8>>,
}

impl Vault {
    /// The key holder that made this vault's keys (`software` for vaults from before TPM
    /// keys).
    pub fn key_holder(&self) -> &str {
        self.key_holder.as_deref().unwrap_or("software")
    }

    /// Whether the vault holds any device key (current, pending or one-time).
    pub fn has_keys(&self) -> bool {
        self.device_key.is_some()
            || self.pending.is_some()
            || self.refill.is_some()
            || !self.one_time.is_empty()
    }

    /// Whether a PIN is set that the upgraded tier can use: the TPM-enforced PIN, or an
    /// Argon2 verifier — unless the main key is a TPM key still waiting for its PIN (a
    /// placeholder authValue), which an Argon2 verifier cannot unlock.
    pub fn pin_set(&self) -> bool {
        self.tpm_pin || (self.pin_verifier.is_some() && self.device_key_auth.is_none())
    }
}

/// Where the vault lives: a head (with the data key) in the OS keystore and the sealed
/// file in `dir` ([`crate::sealed`]).
#[derive(Debug)]
pub struct VaultStore {
    keystore: Box<dyn SecretStore>,
    dir: PathBuf,
}

impl VaultStore {
    /// The vault of a wallet whose non-secret files are in `data_dir`: the sealed file is
    /// in its `vault` folder.
    pub fn in_data_dir(keystore: Box<dyn SecretStore>, data_dir: &std::path::Path) -> VaultStore {
        VaultStore::new(keystore, data_dir.join("vault"))
    }

    /// The vault of `keystore`, with its sealed file in `dir`.
    pub fn new(keystore: Box<dyn SecretStore>, dir: PathBuf) -> VaultStore {
        VaultStore { keystore, dir }
    }

    fn sealed(&self) -> SealedStore<'_> {
        SealedStore::new(self.keystore.as_ref(), &self.dir, VAULT_ENTRY)
    }

    /// Removes the vault (entry and files).
    pub fn delete(&self) -> Result<(), KeystoreError> {
        self.sealed().delete()
    }

    /// The keystore's name, for messages.
    pub fn keystore_name(&self) -> &'static str {
        self.keystore.name()
    }
}

impl Vault {
    /// Reads the vault (`None`: nothing stored yet). A damaged entry or file is an error
    /// and is left untouched. A vault from before the sealed file (the whole vault in the
    /// keystore entry) is read as it is and sealed at the next save.
    pub fn load(store: &VaultStore) -> Result<Option<Vault>, KeystoreError> {
        let bytes = match store.sealed().load()? {
            None => return Ok(None),
            Some(Loaded::Sealed(b) | Loaded::Legacy(b)) => b,
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
        let mut vault = vault;
        vault.migrate();
        Ok(Some(vault))
    }

    /// Writes the vault: one sealed file, then one keystore write that commits it.
    pub fn save(&self, store: &VaultStore) -> Result<(), KeystoreError> {
        let mut v = self.clone();
        v.version = VAULT_VERSION;
        let bytes = Zeroizing::new(serde_json::to_vec(&v).map_err(|e| KeystoreError::Corrupt {
            name: VAULT_ENTRY.into(),
            detail: e.to_string(),
        })?);
        store.sealed().save(&bytes)
    }

    /// A vault from before batches: its lightweight credential, bound to the main key,
    /// becomes a one-time credential counted as shown (it was, perhaps many times, so it
    /// is not fresh), and the next refill replaces it.
    fn migrate(&mut self) {
        if let Some(b) = self.batch.as_mut()
            && !b.lightweight.is_empty()
        {
            let credential = std::mem::take(&mut b.lightweight);
            self.one_time.push(OneTime {
                tier: "lightweight".into(),
                credential,
                key: self.device_key.clone().unwrap_or_default(),
                shown: 1,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vault_from_before_batches_keeps_its_lightweight_credential_as_shown() {
        let w = tessera_vectors::Wallet::standard();
        let legacy = serde_json::json!({
            "version": 1,
            "device_key": tessera_issuer_api::b64::encode(&w.device.secret_bytes()),
            "batch": {
                "enrolment_id": "e1",
                "issued_at": 1,
                "expires_at": 2,
                "lightweight": tessera_issuer_api::b64::encode(&w.lightweight.to_tagged_bytes()),
                "upgraded": tessera_issuer_api::b64::encode(&w.upgraded.to_tagged_bytes()),
            },
            "pending": null,
            "revoked": false,
            "pin_verifier": null,
            "pin_failures": 0,
            "pin_locked_until": 0,
        });
        let mut v: Vault = serde_json::from_value(legacy).unwrap();
        v.migrate();
        assert!(v.batch.as_ref().unwrap().lightweight.is_empty());
        assert_eq!(v.one_time.len(), 1);
        assert_eq!(v.one_time[0].credential, w.lightweight.to_tagged_bytes());
        assert_eq!(v.one_time[0].key, w.device.secret_bytes().to_vec());
        assert_eq!(
            v.one_time[0].shown, 1,
            "a credential shown before is not fresh"
        );
        // Written back, the legacy field is gone and a second load changes nothing.
        let json = serde_json::to_string(&v).unwrap();
        assert!(!json.contains("\"lightweight\":\""));
        let mut again: Vault = serde_json::from_str(&json).unwrap();
        again.migrate();
        assert_eq!(again, v);
    }
}
