//! A registered relying party: an OAuth 2.0 confidential client (RFC 6749 §2) registered by
//! the authority, never by itself. The registration is the purpose limitation: the highest
//! tier and the exact claims the relying party may ask for.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tessera_credential::claims::Tier;
use url::{Host, Url};

use crate::claims::Claim;

/// A registered relying party.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// The `client_id` (random, `rp_` + 32 hex digits).
    pub client_id: String,
    /// The registered name, shown to the person (English or the name's own language).
    pub name: String,
    /// The registered Chinese name, when the authority gave one.
    pub name_zh: Option<String>,
    /// The exact redirect URIs (compared as strings, RFC 9700 §2.1).
    pub redirect_uris: Vec<String>,
    /// The highest tier it may ask for.
    pub tier: Tier,
    /// The claims it may ask for.
    pub claims: Vec<Claim>,
    /// The sector identifier its pairwise subjects are computed for (OIDC Core §8.1): the
    /// host of its redirect URIs.
    pub sector: String,
    /// SHA-256 of its client secret (the secret is 32 random bytes: a slow hash adds nothing).
    pub secret_sha256: [u8; 32],
}

/// Why a registration is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// Empty or overlong name.
    #[error(
        "the relying party's name must be 1 to 100 bytes of visible text (no control or invisible formatting characters)"
    )]
    BadName,
    /// No redirect URI.
    #[error("at least one --redirect-uri is needed")]
    NoRedirectUri,
    /// A redirect URI that is not an absolute https URL (or http on loopback).
    #[error(
        "redirect URI {0:?} is not allowed: use https://…, or http:// only to 127.0.0.1, [::1] or localhost; no fragment, no user name or password"
    )]
    BadRedirectUri(String),
    /// Redirect URIs on different hosts need a sector identifier.
    #[error(
        "the redirect URIs are on different hosts ({0}); register one relying party per host so its pseudonyms stay its own"
    )]
    SeveralHosts(String),
    /// A claim above the registered tier.
    #[error(
        "claim {0} needs the upgraded tier: register with --tier upgraded, or leave the claim out"
    )]
    ClaimAboveTier(&'static str),
}

/// The redirect URI `uri` if it is allowed: absolute, `https`, or `http` to a loopback
/// address (RFC 8252 §7.3 for native apps and local development); no fragment (RFC 6749
/// §3.1.2) and no user information.
pub fn check_redirect_uri(uri: &str) -> Result<Url, ClientError> {
    let bad = || ClientError::BadRedirectUri(uri.to_owned());
    let url = Url::parse(uri).map_err(|_| bad())?;
    if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(bad());
    }
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        _ => Err(bad()),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn valid_name(name: &str) -> bool {
    tessera_issuer_api::names::valid_display_name(name.trim())
}

/// What the authority registers.
#[derive(Debug, Clone)]
pub struct Registration<'a> {
    /// Display name.
    pub name: &'a str,
    /// Chinese display name.
    pub name_zh: Option<&'a str>,
    /// Redirect URIs.
    pub redirect_uris: &'a [String],
    /// Highest tier.
    pub tier: Tier,
    /// Claims.
    pub claims: &'a [Claim],
}

/// A new client and its secret (shown once, to the authority).
#[derive(Debug)]
pub struct NewClient {
    /// The registration to store.
    pub client: Client,
    /// The client secret, base64url (43 characters).
    pub secret: zeroize::Zeroizing<String>,
}

impl Client {
    /// Checks `r` and makes a client from it with the 48 random bytes `random` (16 for the
    /// `client_id`, 32 for the secret).
    pub fn register(r: &Registration<'_>, random: &[u8; 48]) -> Result<NewClient, ClientError> {
        // 1. Names a person can read.
        if !valid_name(r.name) || r.name_zh.is_some_and(|n| !valid_name(n)) {
            return Err(ClientError::BadName);
        }
        // 2. Redirect URIs: each allowed, all on one host (the pairwise sector).
        if r.redirect_uris.is_empty() {
            return Err(ClientError::NoRedirectUri);
        }
        let mut hosts = Vec::new();
        for uri in r.redirect_uris {
            let url = check_redirect_uri(uri)?;
            let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
            if !hosts.contains(&host) {
                hosts.push(host);
            }
        }
        if hosts.len() > 1 {
            return Err(ClientError::SeveralHosts(hosts.join(", ")));
        }
        // 3. Claims within the tier.
        if let Some(c) = r.claims.iter().find(|c| c.tier() > r.tier) {
            return Err(ClientError::ClaimAboveTier(c.name()));
        }
        let mut claims = r.claims.to_vec();
        claims.sort();
        claims.dedup();
        let secret = zeroize::Zeroizing::new(crate::b64::encode(&random[16..]));
        Ok(NewClient {
            client: Client {
                client_id: format!("rp_{}", hex(&random[..16])),
                name: r.name.trim().to_owned(),
                name_zh: r.name_zh.map(|n| n.trim().to_owned()),
                redirect_uris: r.redirect_uris.to_vec(),
                tier: r.tier,
                claims,
                sector: hosts.remove(0),
                secret_sha256: secret_sha256(&secret),
            },
            secret,
        })
    }

    /// Whether `secret` is this client's secret (constant time).
    pub fn authenticates(&self, secret: &str) -> bool {
        secret_sha256(secret).ct_eq(&self.secret_sha256).into()
    }

    /// Whether `uri` is one of the registered redirect URIs, exactly (RFC 9700 §2.1).
    pub fn has_redirect_uri(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    /// The name to show: Chinese when the person reads Chinese and there is one.
    pub fn display_name(&self, chinese: bool) -> &str {
        match (&self.name_zh, chinese) {
            (Some(zh), true) => zh,
            _ => &self.name,
        }
    }
}

/// Whether `id` has the form of a `client_id` this provider issues (`rp_` + 32 lowercase hex
/// digits): anything else is unknown without asking the database, which keeps junk (a NUL
/// byte, megabytes of text) away from it.
pub fn valid_client_id(id: &str) -> bool {
    id.strip_prefix("rp_").is_some_and(|hex| {
        hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// SHA-256 of a client secret.
pub fn secret_sha256(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg<'a>(uris: &'a [String], tier: Tier, claims: &'a [Claim]) -> Registration<'a> {
        Registration {
            name: "Ticket shop",
            name_zh: Some("票务"),
            redirect_uris: uris,
            tier,
            claims,
        }
    }

    #[test]
    fn redirect_uris_are_https_or_loopback_http() {
        for ok in [
            "https://shop.example/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]/cb",
            "http://localhost:3000/cb",
        ] {
            assert!(check_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://shop.example/cb",
            "https://shop.example/cb#x",
            "https://u:p@shop.example/cb",
            "tessera://x",
            "javascript:alert(1)",
            "/cb",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_registration_keeps_its_purpose() {
        let uris = vec!["https://shop.example/cb".to_owned()];
        let new = Client::register(
            &reg(&uris, Tier::Lightweight, &[Claim::AgeOver18]),
            &[7; 48],
        )
        .unwrap();
        assert!(new.client.authenticates(&new.secret));
        assert!(!new.client.authenticates("guess"));
        assert_eq!(new.client.sector, "shop.example");
        assert!(valid_client_id(&new.client.client_id));
        assert!(!valid_client_id("rp_\u{0}"));
        assert!(!valid_client_id(&new.client.client_id.to_uppercase()));
        assert_eq!(
            Client::register(&reg(&uris, Tier::Lightweight, &[Claim::IdNumber]), &[7; 48])
                .unwrap_err(),
            ClientError::ClaimAboveTier("id_number")
        );
        let two = vec![
            "https://shop.example/cb".to_owned(),
            "https://other.example/cb".to_owned(),
        ];
        assert!(matches!(
            Client::register(&reg(&two, Tier::Upgraded, &[]), &[7; 48]),
            Err(ClientError::SeveralHosts(_))
        ));
    }
}
