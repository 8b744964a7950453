//! Liveness challenges bound to a device key and signed by the issuer (DESIGN §11).
//!
//! A live face answer is worth credentials only for the key it was captured for. The wallet
//! makes its new device key first and names it when it asks for a challenge
//! ([`crate::ChallengeRequest`]); the issuer stores the key's SHA-256 with the challenge and
//! signs the challenge with its active credential-signing key; enrolment and renewal then
//! refuse any other key. The wallet checks the signature against a trust list verified with
//! **its own** trust anchor (built into the app, or given to the headless wallet), never a
//! key learnt from the issuer URL it is talking to: a relaying proxy or a phishing issuer
//! URL can neither re-bind a genuine challenge to another key nor sign one of its own.
//!
//! The signature covers, with a domain-separation label and length prefixes so no two
//! different challenges share a signing input:
//! `"tessera-challenge-v1" ‖ challenge id ‖ nonce ‖ actions (comma-joined) ‖ issued_at
//! (u64 BE) ‖ expires_at (u64 BE) ‖ device key SHA-256 (empty when unbound)`.

use sha2::{Digest, Sha256};
use tessera_credential::keys::{Es256Signer, KeyError, Kid};
use tessera_credential::trust_list::TrustList;

use crate::ChallengeResponse;
use crate::signed::{self, SignatureError, put};

/// The domain-separation label of a challenge signature.
pub const CONTEXT: &[u8] = b"tessera-challenge-v1";

/// SHA-256 of a device key's SubjectPublicKeyInfo DER: what a challenge is bound to.
pub fn device_key_sha256(device_key_der: &[u8]) -> [u8; 32] {
    Sha256::digest(device_key_der).into()
}

/// The bytes the issuer signs for `c` (every field but `signer` and `signature`; the
/// signer's key is what checks them).
pub fn signing_input(c: &ChallengeResponse) -> Vec<u8> {
    let mut m = CONTEXT.to_vec();
    put(&mut m, c.challenge_id.as_bytes());
    put(&mut m, &c.nonce);
    put(&mut m, c.actions.join(",").as_bytes());
    m.extend_from_slice(&c.issued_at.to_be_bytes());
    m.extend_from_slice(&c.expires_at.to_be_bytes());
    put(&mut m, c.device_key_sha256.as_deref().unwrap_or_default());
    m
}

/// Signs `c` with the issuer key `signer` (sets `signer` and `signature`).
pub fn sign(c: &mut ChallengeResponse, signer: &dyn Es256Signer) -> Result<(), KeyError> {
    c.signer = Kid::of(&signer.public_key()).0.to_vec();
    c.signature = signer.sign(&signing_input(c))?.to_vec();
    Ok(())
}

/// Why a wallet refuses a challenge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChallengeError {
    /// No signature: not from an issuer this wallet trusts (or an outdated issuer).
    #[error(
        "the issuer's challenge is not signed: this is not the issuer this app trusts (check the issuer address)"
    )]
    Unsigned,
    /// Signed by a key the trust list does not hold.
    #[error(
        "the challenge is signed by a key ({0}) that is not in the trusted issuer list: this is not the issuer this app trusts (check the issuer address)"
    )]
    UnknownSigner(String),
    /// The signature does not verify.
    #[error(
        "the challenge's signature does not verify: someone between this device and the issuer changed it"
    )]
    BadSignature,
    /// The signer was not allowed to sign at the challenge's time (retired or not yet valid).
    #[error("the challenge is signed by an issuer key that was not valid at the time")]
    SignerNotValid,
    /// Signed, but bound to no key or to another key than the one this wallet sent.
    #[error(
        "the challenge is bound to another device key than this device's: someone between this device and the issuer changed the request; nothing was sent"
    )]
    BoundToAnotherKey,
    /// Already past its expiry.
    #[error("the challenge expired before it could be used: start again")]
    Expired,
}

/// Checks a challenge the wallet received for its new device key `device_key_der`.
///
/// `trust` must be a trust list verified with the wallet's own trust anchor.
pub fn verify(
    c: &ChallengeResponse,
    trust: &TrustList,
    device_key_der: &[u8],
    now: u64,
    skew: u64,
) -> Result<(), ChallengeError> {
    // 1–2. Signed by a key the trust list holds; the signature, before any field is believed.
    let issuer =
        signed::check(trust, &c.signer, &c.signature, &signing_input(c)).map_err(|e| match e {
            SignatureError::Unsigned => ChallengeError::Unsigned,
            SignatureError::UnknownSigner(kid) => ChallengeError::UnknownSigner(kid),
            SignatureError::BadSignature => ChallengeError::BadSignature,
        })?;
    // 3. The key was allowed to sign then, and is still trusted now.
    if !issuer.accepts_signature_at(c.issued_at, now, skew) {
        return Err(ChallengeError::SignerNotValid);
    }
    // 4. Bound to this device's key.
    if c.device_key_sha256.as_deref() != Some(&device_key_sha256(device_key_der)[..]) {
        return Err(ChallengeError::BoundToAnotherKey);
    }
    // 5. Still open.
    if now > c.expires_at.saturating_add(skew) {
        return Err(ChallengeError::Expired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_credential::keys::spki_der;
    use tessera_credential::trust_list::TrustedIssuer;

    fn challenge(device_der: &[u8]) -> ChallengeResponse {
        ChallengeResponse {
            challenge_id: "c1".into(),
            nonce: vec![7; 16],
            actions: vec![
                "front".into(),
                "left".into(),
                "blink".into(),
                "right".into(),
            ],
            issued_at: 1_000,
            expires_at: 1_120,
            device_key_sha256: Some(device_key_sha256(device_der).to_vec()),
            signer: vec![],
            signature: vec![],
            batch_size: None,
            tpm_activation: None,
        }
    }

    fn trust(issuer: &dyn Es256Signer) -> TrustList {
        TrustList::single("issuer", issuer.public_key())
    }

    #[test]
    fn a_signed_challenge_for_this_key_verifies() {
        let issuer = tessera_vectors::key("issuer");
        let device = spki_der(&tessera_vectors::key("device").public_key());
        let mut c = challenge(&device);
        sign(&mut c, &issuer).unwrap();
        assert_eq!(verify(&c, &trust(&issuer), &device, 1_010, 30), Ok(()));
    }

    #[test]
    fn unsigned_mis_signed_foreign_and_rebound_challenges_are_refused() {
        let issuer = tessera_vectors::key("issuer");
        let relay = tessera_vectors::key("other");
        let device = spki_der(&tessera_vectors::key("device").public_key());
        let attacker = spki_der(&relay.public_key());
        let trusted = trust(&issuer);

        let unsigned = challenge(&device);
        assert_eq!(
            verify(&unsigned, &trusted, &device, 1_010, 30),
            Err(ChallengeError::Unsigned)
        );
        // A relay signs its own challenge: its key is not in the wallet's trust list.
        let mut own = challenge(&device);
        sign(&mut own, &relay).unwrap();
        assert!(matches!(
            verify(&own, &trusted, &device, 1_010, 30),
            Err(ChallengeError::UnknownSigner(_))
        ));
        // A genuine challenge bound to the attacker's key, shown to the wallet.
        let mut genuine_for_attacker = challenge(&attacker);
        sign(&mut genuine_for_attacker, &issuer).unwrap();
        assert_eq!(
            verify(&genuine_for_attacker, &trusted, &device, 1_010, 30),
            Err(ChallengeError::BoundToAnotherKey)
        );
        // ... re-bound to the wallet's key by the relay: the signature breaks.
        let mut rebound = genuine_for_attacker.clone();
        rebound.device_key_sha256 = Some(device_key_sha256(&device).to_vec());
        assert_eq!(
            verify(&rebound, &trusted, &device, 1_010, 30),
            Err(ChallengeError::BadSignature)
        );
        // A challenge drawn without a key (revocation only) is not for enrolment.
        let mut unbound = challenge(&device);
        unbound.device_key_sha256 = None;
        sign(&mut unbound, &issuer).unwrap();
        assert_eq!(
            verify(&unbound, &trusted, &device, 1_010, 30),
            Err(ChallengeError::BoundToAnotherKey)
        );
        // Every signed field counts.
        let mut signed = challenge(&device);
        sign(&mut signed, &issuer).unwrap();
        for tamper in [
            |c: &mut ChallengeResponse| c.challenge_id.push('x'),
            |c: &mut ChallengeResponse| c.nonce[0] ^= 1,
            |c: &mut ChallengeResponse| c.actions.swap(1, 3),
            |c: &mut ChallengeResponse| c.issued_at += 1,
            |c: &mut ChallengeResponse| c.expires_at += 1,
        ] {
            let mut t = signed.clone();
            tamper(&mut t);
            assert_eq!(
                verify(&t, &trusted, &device, 1_010, 30),
                Err(ChallengeError::BadSignature)
            );
        }
        let mut short = signed.clone();
        short.signature.truncate(10);
        assert_eq!(
            verify(&short, &trusted, &device, 1_010, 30),
            Err(ChallengeError::BadSignature)
        );
        assert_eq!(
            verify(&signed, &trusted, &device, 1_200, 30),
            Err(ChallengeError::Expired)
        );
    }

    #[test]
    fn a_retired_or_not_yet_valid_signer_is_refused() {
        let issuer = tessera_vectors::key("issuer");
        let device = spki_der(&tessera_vectors::key("device").public_key());
        let mut c = challenge(&device);
        sign(&mut c, &issuer).unwrap();
        let mut entry = TrustedIssuer::new("issuer", issuer.public_key());
        entry.valid_until = Some(900);
        let retired = TrustList {
            issued_at: 0,
            sequence: 1,
            issuers: vec![entry.clone()],
        };
        assert_eq!(
            verify(&c, &retired, &device, 1_010, 30),
            Err(ChallengeError::SignerNotValid)
        );
        entry.valid_until = None;
        entry.valid_from = 2_000;
        let future = TrustList {
            issued_at: 0,
            sequence: 1,
            issuers: vec![entry],
        };
        assert_eq!(
            verify(&c, &future, &device, 1_010, 30),
            Err(ChallengeError::SignerNotValid)
        );
    }
}
