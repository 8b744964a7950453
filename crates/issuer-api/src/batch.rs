//! Batches of one-time credentials (DESIGN §14, docs/format/README.md "Batches"): each
//! lightweight or age-only credential is bound to its own device key, so two showings carry
//! no common key, `cti` or status index. The keys travel with their proofs of possession;
//! at enrolment and renewal the request's main device key also signs the list, so a relay
//! that sees the challenge cannot put its own keys in the person's batch.

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tessera_credential::claims::Tier;
use tessera_credential::keys::{Es256Signer, KeyError};

use crate::binding::{BindingError, DeviceKeyProof};

/// The tiers issued as one-time credentials, in batches.
pub const ONE_TIME_TIERS: [Tier; 2] = [Tier::Lightweight, Tier::AgeOnly];

/// One key of a batch: the tier of the credential it will hold, the key, and its proof of
/// possession for the challenge ([`crate::pop_message`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchKey {
    /// `lightweight` or `age_only`.
    pub tier: String,
    /// P-256 SubjectPublicKeyInfo, DER.
    #[serde(with = "crate::b64")]
    pub public_key: Vec<u8>,
    /// ES256 signature (`r ‖ s`) over [`crate::pop_message`] for the challenge and this key.
    #[serde(with = "crate::b64")]
    pub proof: Vec<u8>,
}

impl BatchKey {
    /// A key for `tier`, proven for the challenge.
    pub fn create(
        tier: Tier,
        key: &dyn Es256Signer,
        challenge_id: &str,
        challenge_nonce: &[u8],
    ) -> Result<BatchKey, KeyError> {
        let pop = DeviceKeyProof::create(key, challenge_id, challenge_nonce)?;
        Ok(BatchKey {
            tier: tier.name().to_owned(),
            public_key: pop.key_der,
            proof: pop.signature,
        })
    }

    /// The tier, if it is one issued in batches.
    pub fn one_time_tier(&self) -> Option<Tier> {
        self.tier
            .parse::<Tier>()
            .ok()
            .filter(|t| ONE_TIME_TIERS.contains(t))
    }

    /// Checks the proof of possession; returns the key.
    pub fn verify(
        &self,
        challenge_id: &str,
        challenge_nonce: &[u8],
    ) -> Result<VerifyingKey, BindingError> {
        DeviceKeyProof {
            key_der: self.public_key.clone(),
            signature: self.proof.clone(),
        }
        .verify(challenge_id, challenge_nonce)
    }
}

/// The batch part of an enrolment or renewal request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchKeys {
    /// The keys, one per credential wanted.
    pub keys: Vec<BatchKey>,
    /// ES256 signature (`r ‖ s`) by the request's main device key over
    /// [`binding_message`]: the person's own device chose these keys.
    #[serde(with = "crate::b64")]
    pub binding: Vec<u8>,
}

impl BatchKeys {
    /// Signs the list with the main device key.
    pub fn create(
        keys: Vec<BatchKey>,
        main: &dyn Es256Signer,
        challenge_id: &str,
        challenge_nonce: &[u8],
    ) -> Result<BatchKeys, KeyError> {
        let message = binding_message(challenge_id, challenge_nonce, &keys_sha256(&keys));
        Ok(BatchKeys {
            binding: main.sign(&message)?.to_vec(),
            keys,
        })
    }

    /// Checks the main key's signature over the list.
    pub fn verify_binding(
        &self,
        main: &VerifyingKey,
        challenge_id: &str,
        challenge_nonce: &[u8],
    ) -> Result<(), BindingError> {
        let sig = Signature::from_slice(&self.binding).map_err(|_| BindingError::BadSignature)?;
        let message = binding_message(challenge_id, challenge_nonce, &keys_sha256(&self.keys));
        main.verify(&message, &sig)
            .map_err(|_| BindingError::BadSignature)
    }
}

fn put(h: &mut Sha256, part: &[u8]) {
    h.update((part.len() as u32).to_be_bytes());
    h.update(part);
}

/// SHA-256 over the keys in order (tier name and SubjectPublicKeyInfo of each, length-prefixed).
pub fn keys_sha256(keys: &[BatchKey]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"tessera-batch-keys-v1");
    h.update((keys.len() as u32).to_be_bytes());
    for k in keys {
        put(&mut h, k.tier.as_bytes());
        put(&mut h, &k.public_key);
    }
    h.finalize().into()
}

/// What the main device key signs over a batch: the challenge and the keys' digest.
pub fn binding_message(
    challenge_id: &str,
    challenge_nonce: &[u8],
    keys_sha256: &[u8; 32],
) -> Vec<u8> {
    let mut m = b"tessera-batch-binding-v1".to_vec();
    m.extend_from_slice(&(challenge_id.len() as u32).to_be_bytes());
    m.extend_from_slice(challenge_id.as_bytes());
    m.extend_from_slice(&(challenge_nonce.len() as u32).to_be_bytes());
    m.extend_from_slice(challenge_nonce);
    m.extend_from_slice(keys_sha256);
    m
}

/// What a refill's holder proof covers besides the challenge: the new keys and the
/// credentials to retire ([`crate::HolderAuthPurpose::Refill`]).
pub fn refill_sha256(keys: &[BatchKey], retire: &[String]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"tessera-refill-v1");
    h.update(keys_sha256(keys));
    h.update((retire.len() as u32).to_be_bytes());
    for cti in retire {
        put(&mut h, cti.as_bytes());
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binding_covers_every_key_and_the_challenge() {
        let main = tessera_vectors::key("device");
        let a = tessera_vectors::key("batch-a");
        let b = tessera_vectors::key("batch-b");
        let keys = vec![
            BatchKey::create(Tier::Lightweight, &a, "c1", b"n1").unwrap(),
            BatchKey::create(Tier::AgeOnly, &b, "c1", b"n1").unwrap(),
        ];
        let batch = BatchKeys::create(keys, &main, "c1", b"n1").unwrap();
        assert!(
            batch
                .verify_binding(&main.public_key(), "c1", b"n1")
                .is_ok()
        );
        assert!(
            batch
                .verify_binding(&main.public_key(), "c2", b"n1")
                .is_err()
        );
        assert!(batch.verify_binding(&a.public_key(), "c1", b"n1").is_err());
        // A relay swapping in its own key (with a valid proof of its own) breaks the binding.
        let relay = tessera_vectors::key("relay");
        let mut swapped = batch.clone();
        swapped.keys[1] = BatchKey::create(Tier::AgeOnly, &relay, "c1", b"n1").unwrap();
        assert!(swapped.keys[1].verify("c1", b"n1").is_ok());
        assert!(
            swapped
                .verify_binding(&main.public_key(), "c1", b"n1")
                .is_err()
        );
        // So does relabelling a key's tier.
        let mut relabelled = batch.clone();
        relabelled.keys[0].tier = "age_only".into();
        assert!(
            relabelled
                .verify_binding(&main.public_key(), "c1", b"n1")
                .is_err()
        );
        assert_eq!(batch.keys[0].one_time_tier(), Some(Tier::Lightweight));
        let mut upgraded = batch.keys[0].clone();
        upgraded.tier = "upgraded".into();
        assert_eq!(upgraded.one_time_tier(), None);
        assert_ne!(
            refill_sha256(&batch.keys, &[]),
            refill_sha256(&batch.keys, &["00".into()])
        );
    }
}
