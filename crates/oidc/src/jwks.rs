//! The JSON Web Key Set (RFC 7517) relying parties check ID tokens with: the issuer's
//! credential-signing keys that can still have signed a token that has not expired.

use p256::ecdsa::VerifyingKey;
use serde::Serialize;
use tessera_credential::keys::Kid;

/// One public key (RFC 7518 §6.2: an EC key on P-256).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jwk {
    /// `EC`.
    pub kty: &'static str,
    /// `P-256`.
    pub crv: &'static str,
    /// The x coordinate, base64url.
    pub x: String,
    /// The y coordinate, base64url.
    pub y: String,
    /// The key id (the same 8 bytes, in hex, as a credential's `kid`).
    pub kid: String,
    /// `sig`.
    #[serde(rename = "use")]
    pub use_: &'static str,
    /// `ES256`.
    pub alg: &'static str,
}

impl Jwk {
    /// The JWK of `key`.
    pub fn of(key: &VerifyingKey) -> Jwk {
        let point = key.to_sec1_point(false);
        let coordinate = |c: Option<&[u8]>| crate::b64::encode(c.unwrap_or_default());
        Jwk {
            kty: "EC",
            crv: "P-256",
            x: coordinate(point.x().map(|x| x.as_slice())),
            y: coordinate(point.y().map(|y| y.as_slice())),
            kid: Kid::of(key).to_hex(),
            use_: "sig",
            alg: "ES256",
        }
    }
}

/// A JWK set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JwkSet {
    /// The keys.
    pub keys: Vec<Jwk>,
}
