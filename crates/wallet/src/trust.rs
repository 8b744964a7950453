//! What the wallet trusts, and why not the issuer URL it talks to.
//!
//! The wallet's trust anchor is the ID authority's **trust-list key**, taken from outside
//! the channel to the issuer: built into the app (the demo build: the embedded demo issuer's,
//! read in process), or given to the headless wallet with `--trust-list-key FILE` /
//! `TESSERA_TRUST_LIST_KEY`. Everything the issuer says that matters is checked against a
//! trust list verified with that key: the signed challenge (which device key it is bound to,
//! DESIGN §11) and every credential before it is stored. A phishing issuer URL or a relaying
//! proxy controls the channel, so trusting the first key it shows would let it sign its own
//! challenges.

use std::path::Path;

use p256::ecdsa::VerifyingKey;
use tessera_credential::claims::Tier;
use tessera_credential::credential::Credential;
use tessera_credential::keys::{Kid, public_key_from_pem, spki_pem};
use tessera_credential::trust_list::TrustList;
use tessera_credential::verify::DEFAULT_SKEW;

/// The authority's trust-list public key.
#[derive(Clone, PartialEq, Eq)]
pub struct TrustAnchor {
    key: VerifyingKey,
}

impl std::fmt::Debug for TrustAnchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustAnchor({})", Kid::of(&self.key))
    }
}

/// Why a trust anchor or what it should vouch for cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// The anchor file cannot be read or is not a P-256 public key.
    #[error("the trust-list key {source_name} cannot be used: {detail}")]
    Anchor {
        /// Where it came from.
        source_name: String,
        /// Why.
        detail: String,
    },
    /// A received credential does not check out against the trust list.
    #[error(
        "a credential the issuer sent does not verify against the trusted issuer list ({0}); nothing was stored"
    )]
    Credential(String),
}

impl TrustAnchor {
    /// An anchor from a public key.
    pub fn new(key: VerifyingKey) -> TrustAnchor {
        TrustAnchor { key }
    }

    /// An anchor from SPKI PEM text; `source_name` names it in errors.
    pub fn from_pem(pem: &str, source_name: &str) -> Result<TrustAnchor, TrustError> {
        public_key_from_pem(pem)
            .map(TrustAnchor::new)
            .map_err(|e| TrustError::Anchor {
                source_name: source_name.to_owned(),
                detail: e.to_string(),
            })
    }

    /// An anchor from an SPKI PEM file.
    pub fn from_file(path: &Path) -> Result<TrustAnchor, TrustError> {
        let name = path.display().to_string();
        let pem = std::fs::read_to_string(path).map_err(|e| TrustError::Anchor {
            source_name: name.clone(),
            detail: e.to_string(),
        })?;
        TrustAnchor::from_pem(&pem, &name)
    }

    /// The key.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The key as SPKI PEM (for settings pages and diagnostics).
    pub fn pem(&self) -> String {
        spki_pem(&self.key)
    }
}

/// Checks a credential the issuer sent before the wallet stores it: issued by a key of the
/// trust list that could sign then (signature first, then its period), for `tier`, bound to
/// `holder`, and valid now. Returns the parsed credential.
pub fn check_issued(
    bytes: &[u8],
    tier: Tier,
    trust: &TrustList,
    holder: &VerifyingKey,
    now: u64,
) -> Result<Credential, TrustError> {
    let bad = |why: String| TrustError::Credential(why);
    // 1. Parse, find the issuer key by kid.
    let c = Credential::from_bytes(bytes).map_err(|e| bad(e.to_string()))?;
    let issuer = trust
        .get(&c.kid)
        .ok_or_else(|| bad(format!("unknown issuer key {}", c.kid)))?;
    // 2. The issuer signature, before any claim is believed.
    if !c.issuer_signature_valid(&issuer.public_key) {
        return Err(bad("bad issuer signature".into()));
    }
    // 3. The key could sign at `iat` and is trusted now.
    if !issuer.accepts_signature_at(c.claims.issued_at, now, DEFAULT_SKEW) {
        return Err(bad(format!("issuer key {} was not valid then", c.kid)));
    }
    // 4. What was asked for: the tier, this device's key, valid now.
    if c.claims.tier() != tier {
        return Err(bad(format!("expected the {} tier", tier.name())));
    }
    if c.claims.holder_key != *holder {
        return Err(bad("bound to another device key".into()));
    }
    if now + DEFAULT_SKEW < c.claims.not_before || now >= c.claims.expires_at {
        return Err(bad("not valid now".into()));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_credential::keys::Es256Signer;

    #[test]
    fn anchors_come_from_pem_and_bad_files_say_why() {
        let key = tessera_vectors::key("trust-list").public_key();
        let a = TrustAnchor::from_pem(&spki_pem(&key), "x").unwrap();
        assert_eq!(a.key(), &key);
        let e = TrustAnchor::from_pem("not a key", "anchor.pem").unwrap_err();
        assert!(e.to_string().contains("anchor.pem"), "{e}");
        let e = TrustAnchor::from_file(Path::new("/nonexistent/anchor.pem")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/anchor.pem"), "{e}");
    }
}
