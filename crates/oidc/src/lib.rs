//! Sign in with Tessera (DESIGN §9): the issuer as an OpenID Connect 1.0 provider for
//! registered relying parties, and the wallet as the authenticator.
//!
//! This crate is the protocol core only. It never does I/O: the issuer's service feeds it
//! requests, the registered client, the clock, random bytes and its signing key, and stores
//! what it returns. Modules follow the specifications' terms:
//!
//! - [`client`]: a registered relying party (OAuth client) and its purpose limitation;
//! - [`claims`]: the claims a relying party may be registered for, and the tiers (`acr`);
//! - [`authorization`]: the authorization request (OIDC Core §3.1.2), checked step by step;
//! - [`pkce`]: Proof Key for Code Exchange, `S256` only (RFC 7636);
//! - [`pairwise`]: pairwise subject identifiers (OIDC Core §8.1);
//! - [`token`]: the token request (RFC 6749 §4.1.3) and the signed ID token;
//! - [`jwks`] and [`discovery`]: what a relying party's library fetches to trust us;
//! - [`sign_in`]: the sign-in request as the wallet sees it, signed by the issuer, the link
//!   that carries it, and the approval the wallet sends back.

pub mod authorization;
pub mod claims;
pub mod client;
pub mod discovery;
pub mod error;
pub mod jwks;
pub mod pairwise;
pub mod pkce;
pub mod sign_in;
pub mod token;

/// The one value of `name` in form or query `params`: `Ok(None)` when absent or empty,
/// `Err` (a sentence) when repeated (RFC 6749 §3.1: parameters must not repeat).
fn single<'a>(params: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, String> {
    let mut found = params
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str());
    let first = found.next();
    if found.next().is_some() {
        return Err(format!("the parameter {name} is repeated"));
    }
    Ok(first.filter(|v| !v.is_empty()))
}

mod b64 {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    pub fn encode(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }
}

/// How long a sign-in request lives, from the authorization request to the approval.
pub const REQUEST_LIFETIME_SECS: u64 = 120;
/// How long an authorization code lives (RFC 9700 §2.1.1 asks for short-lived codes).
pub const CODE_LIFETIME_SECS: u64 = 60;
/// How long an ID token is valid for the relying party to check it.
pub const ID_TOKEN_LIFETIME_SECS: u64 = 300;
