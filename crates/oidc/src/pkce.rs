//! Proof Key for Code Exchange (RFC 7636), `S256` only: `plain` gives nothing against an
//! attacker who sees the authorization request (RFC 9700 §2.1.1).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The only method accepted.
pub const METHOD: &str = "S256";

/// Whether `s` has the form of a code verifier or an S256 challenge: 43 to 128 characters
/// of `[A-Za-z0-9-._~]` (RFC 7636 §4.1; an S256 challenge is 43 of them).
pub fn well_formed(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Whether `verifier` answers `challenge`: BASE64URL(SHA-256(verifier)) == challenge
/// (RFC 7636 §4.6), compared in constant time.
pub fn verify_s256(verifier: &str, challenge: &str) -> bool {
    if !well_formed(verifier) {
        return false;
    }
    let computed = crate::b64::encode(&Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(verify_s256(verifier, challenge));
        assert!(!verify_s256(&verifier.replace('d', "e"), challenge));
        assert!(!verify_s256("short", challenge));
    }
}
