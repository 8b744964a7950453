//! What a wallet signs for the issuer.
//!
//! - **Proof of possession** of a new device key: an ES256 signature by that key over
//!   `"tessera-pop-v1" ‖ challenge id ‖ challenge nonce ‖ SHA-256(SPKI DER)`. Tied to one
//!   server challenge, so it cannot be reused, and to the key itself.
//! - **Holder authentication** (renewal, revocation by the holder): an ordinary holder proof
//!   from the current credential whose 8-byte nonce is
//!   `SHA-256("tessera-holder-auth-v2" ‖ purpose ‖ challenge nonce ‖ new device key's SPKI
//!   SHA-256, for renewal)[..8]`. A proof a verifier saw at a desk has a random nonce, so it
//!   cannot be replayed to renew or revoke; and a renewal presentation is bound to the new
//!   key, so a relay cannot move it to a key of its own.

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use tessera_credential::keys::{Es256Signer, public_key_from_der, spki_der};
use tessera_credential::proof::NONCE_LEN;

/// Why a binding does not check out.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BindingError {
    /// The device key is not a P-256 SubjectPublicKeyInfo.
    #[error("the device key is not a P-256 public key (SubjectPublicKeyInfo, DER)")]
    BadKey,
    /// The signature is not 64 bytes or does not verify.
    #[error("the proof of possession of the device key does not verify")]
    BadSignature,
}

/// The message signed to prove possession of `device_key_der` for one challenge.
pub fn pop_message(challenge_id: &str, challenge_nonce: &[u8], device_key_der: &[u8]) -> Vec<u8> {
    let mut m = b"tessera-pop-v1".to_vec();
    m.extend_from_slice(&(challenge_id.len() as u32).to_be_bytes());
    m.extend_from_slice(challenge_id.as_bytes());
    m.extend_from_slice(&(challenge_nonce.len() as u32).to_be_bytes());
    m.extend_from_slice(challenge_nonce);
    m.extend_from_slice(&Sha256::digest(device_key_der));
    m
}

/// A device public key with its proof of possession.
#[derive(Debug, Clone)]
pub struct DeviceKeyProof {
    /// SubjectPublicKeyInfo DER.
    pub key_der: Vec<u8>,
    /// Raw ES256 signature `r ‖ s`.
    pub signature: Vec<u8>,
}

impl DeviceKeyProof {
    /// Signs a proof of possession with the device key.
    pub fn create(
        device: &dyn Es256Signer,
        challenge_id: &str,
        challenge_nonce: &[u8],
    ) -> Result<DeviceKeyProof, tessera_credential::keys::KeyError> {
        let key_der = spki_der(&device.public_key());
        let signature = device
            .sign(&pop_message(challenge_id, challenge_nonce, &key_der))?
            .to_vec();
        Ok(DeviceKeyProof { key_der, signature })
    }

    /// Checks the proof; on success, the device key.
    pub fn verify(
        &self,
        challenge_id: &str,
        challenge_nonce: &[u8],
    ) -> Result<VerifyingKey, BindingError> {
        let key = public_key_from_der(&self.key_der).map_err(|_| BindingError::BadKey)?;
        let sig = Signature::from_slice(&self.signature).map_err(|_| BindingError::BadSignature)?;
        key.verify(
            &pop_message(challenge_id, challenge_nonce, &self.key_der),
            &sig,
        )
        .map_err(|_| BindingError::BadSignature)?;
        Ok(key)
    }
}

/// What a holder authenticates for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolderAuthPurpose {
    /// Renewal of the credential batch onto a new device key.
    Renew {
        /// SHA-256 of the new device key's SubjectPublicKeyInfo DER
        /// ([`crate::challenge::device_key_sha256`]).
        new_device_key_sha256: [u8; 32],
    },
    /// Revocation by the holder.
    Revoke,
    /// A refill of one-time credentials: the new keys and the credentials retired
    /// ([`crate::batch::refill_sha256`]).
    Refill {
        /// SHA-256 over the new keys and the credentials retired.
        request_sha256: [u8; 32],
    },
    /// Approval of one sign-in request for one relying party (Sign in with Tessera): a proof
    /// made for a desk, another relying party or another request does not sign anyone in.
    SignIn {
        /// SHA-256 of the request id and the relying party's `client_id`
        /// ([`HolderAuthPurpose::sign_in`]).
        request_sha256: [u8; 32],
    },
}

impl HolderAuthPurpose {
    /// Renewal onto the device key `new_device_key_der` (SPKI DER).
    pub fn renew(new_device_key_der: &[u8]) -> HolderAuthPurpose {
        HolderAuthPurpose::Renew {
            new_device_key_sha256: crate::challenge::device_key_sha256(new_device_key_der),
        }
    }

    /// Approval of the sign-in request `request_id` of the relying party `client_id`.
    pub fn sign_in(request_id: &str, client_id: &str) -> HolderAuthPurpose {
        let mut h = Sha256::new();
        for part in [request_id.as_bytes(), client_id.as_bytes()] {
            h.update((part.len() as u32).to_be_bytes());
            h.update(part);
        }
        HolderAuthPurpose::SignIn {
            request_sha256: h.finalize().into(),
        }
    }

    fn label(self) -> &'static [u8] {
        match self {
            HolderAuthPurpose::Renew { .. } => b"renew",
            HolderAuthPurpose::Revoke => b"revoke",
            HolderAuthPurpose::Refill { .. } => b"refill",
            HolderAuthPurpose::SignIn { .. } => b"sign-in",
        }
    }
}

/// The holder-proof nonce that binds a proof to one challenge and one purpose (for renewal,
/// also to the new device key).
pub fn holder_auth_nonce(purpose: HolderAuthPurpose, challenge_nonce: &[u8]) -> [u8; NONCE_LEN] {
    let mut h = Sha256::new();
    h.update(b"tessera-holder-auth-v2");
    h.update(purpose.label());
    h.update((challenge_nonce.len() as u32).to_be_bytes());
    h.update(challenge_nonce);
    match purpose {
        HolderAuthPurpose::Renew {
            new_device_key_sha256,
        } => h.update(new_device_key_sha256),
        HolderAuthPurpose::SignIn { request_sha256 }
        | HolderAuthPurpose::Refill { request_sha256 } => h.update(request_sha256),
        HolderAuthPurpose::Revoke => {}
    }
    let digest = h.finalize();
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&digest[..NONCE_LEN]);
    nonce
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pop_verifies_only_for_its_challenge_and_key() {
        let device = tessera_vectors::key("device");
        let other = tessera_vectors::key("other");
        let pop = DeviceKeyProof::create(&device, "c1", b"nonce-1").unwrap();
        assert_eq!(pop.verify("c1", b"nonce-1").unwrap(), device.public_key());
        assert_eq!(
            pop.verify("c2", b"nonce-1"),
            Err(BindingError::BadSignature)
        );
        assert_eq!(
            pop.verify("c1", b"nonce-2"),
            Err(BindingError::BadSignature)
        );
        let mut swapped = pop.clone();
        swapped.key_der = spki_der(&other.public_key());
        assert_eq!(
            swapped.verify("c1", b"nonce-1"),
            Err(BindingError::BadSignature)
        );
        let mut garbage = pop.clone();
        garbage.key_der = vec![1, 2, 3];
        assert_eq!(garbage.verify("c1", b"nonce-1"), Err(BindingError::BadKey));
        let mut short = pop;
        short.signature.truncate(10);
        assert_eq!(
            short.verify("c1", b"nonce-1"),
            Err(BindingError::BadSignature)
        );
    }

    #[test]
    fn holder_nonce_depends_on_purpose_challenge_and_new_key() {
        let key = spki_der(&tessera_vectors::key("device").public_key());
        let other = spki_der(&tessera_vectors::key("other").public_key());
        let renew = HolderAuthPurpose::renew(&key);
        let a = holder_auth_nonce(renew, b"n1");
        assert_eq!(a, holder_auth_nonce(renew, b"n1"));
        assert_ne!(a, holder_auth_nonce(HolderAuthPurpose::Revoke, b"n1"));
        assert_ne!(a, holder_auth_nonce(renew, b"n2"));
        // A renewal presentation made for one new key is worthless for another.
        assert_ne!(
            a,
            holder_auth_nonce(HolderAuthPurpose::renew(&other), b"n1")
        );
        // A sign-in proof is bound to its request and its relying party.
        let sign_in = HolderAuthPurpose::sign_in("r1", "rp_a");
        let n = holder_auth_nonce(sign_in, b"n1");
        assert_ne!(
            n,
            holder_auth_nonce(HolderAuthPurpose::sign_in("r1", "rp_b"), b"n1")
        );
        assert_ne!(
            n,
            holder_auth_nonce(HolderAuthPurpose::sign_in("r2", "rp_a"), b"n1")
        );
        assert_ne!(n, holder_auth_nonce(HolderAuthPurpose::Revoke, b"n1"));
    }
}
