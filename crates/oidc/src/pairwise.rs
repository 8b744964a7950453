//! Pairwise subject identifiers (OIDC Core §8.1): `sub` = BASE64URL(HMAC-SHA-256(secret,
//! "tessera-pairwise-v1" ‖ len ‖ sector ‖ len ‖ person)).
//!
//! The person is the registry's ID number, never a device key or a credential: the same
//! relying party sees the same `sub` after a renewal, on a new phone or after enrolling
//! again. Two relying parties (two sectors) see unrelated values, and without the issuer's
//! secret nobody can compute a `sub` from an ID number (the ID number space is small enough
//! to search, so a plain hash would not do).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The issuer's pairwise secret (32 random bytes, kept with its keys).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct PairwiseSecret([u8; 32]);

impl std::fmt::Debug for PairwiseSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PairwiseSecret(..)")
    }
}

impl PairwiseSecret {
    /// The secret `bytes`.
    pub fn new(bytes: [u8; 32]) -> PairwiseSecret {
        PairwiseSecret(bytes)
    }

    /// The `sub` of `person` for relying parties of `sector`.
    pub fn subject(&self, sector: &str, person: &str) -> String {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0)
            .expect("HMAC takes a key of any length");
        mac.update(b"tessera-pairwise-v1");
        for part in [sector.as_bytes(), person.as_bytes()] {
            mac.update(&(part.len() as u32).to_be_bytes());
            mac.update(part);
        }
        crate::b64::encode(&mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_person_two_sectors_two_unrelated_subjects() {
        let s = PairwiseSecret::new([9; 32]);
        let a = s.subject("shop.example", "110101196108040114");
        assert_eq!(a, s.subject("shop.example", "110101196108040114"));
        assert_ne!(a, s.subject("bank.example", "110101196108040114"));
        assert_ne!(a, s.subject("shop.example", "110101196108040122"));
        assert_ne!(
            a,
            PairwiseSecret::new([8; 32]).subject("shop.example", "110101196108040114")
        );
        assert_eq!(a.len(), 43);
    }
}
