//! Objects the issuer signs for wallets with its credential key (challenges, sign-in
//! requests): the one way their signature is checked, against a trust list the wallet
//! verified with its own anchor, before any field is believed.

use p256::ecdsa::Signature;
use p256::ecdsa::signature::Verifier;
use tessera_credential::keys::{KID_LEN, Kid};
use tessera_credential::trust_list::{TrustList, TrustedIssuer};

/// Appends `bytes` with a 4-byte big-endian length prefix, so no two different field lists
/// share a signing input.
pub fn put(m: &mut Vec<u8>, bytes: &[u8]) {
    m.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    m.extend_from_slice(bytes);
}

/// Why an issuer signature is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// No signer or no signature.
    Unsigned,
    /// A signer the trust list does not hold (its kid, hex).
    UnknownSigner(String),
    /// The signature does not verify.
    BadSignature,
}

/// The trusted issuer whose key made `signature` over `input`, as named by `signer` (its
/// 8-byte kid).
pub fn check<'t>(
    trust: &'t TrustList,
    signer: &[u8],
    signature: &[u8],
    input: &[u8],
) -> Result<&'t TrustedIssuer, SignatureError> {
    // 1. Signed at all, by a key the trust list holds.
    if signature.is_empty() || signer.is_empty() {
        return Err(SignatureError::Unsigned);
    }
    let kid: [u8; KID_LEN] = signer.try_into().map_err(|_| {
        SignatureError::UnknownSigner(signer.iter().map(|b| format!("{b:02x}")).collect())
    })?;
    let issuer = trust
        .get(&Kid(kid))
        .ok_or_else(|| SignatureError::UnknownSigner(Kid(kid).to_hex()))?;
    // 2. The signature.
    let signature = Signature::from_slice(signature).map_err(|_| SignatureError::BadSignature)?;
    issuer
        .public_key
        .verify(input, &signature)
        .map_err(|_| SignatureError::BadSignature)?;
    Ok(issuer)
}
