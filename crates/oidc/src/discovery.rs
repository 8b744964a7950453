//! OpenID Provider metadata (OpenID Connect Discovery 1.0 §3), served at
//! `/.well-known/openid-configuration`.

use serde::Serialize;

use crate::claims::{ACR_LIGHTWEIGHT, ACR_UPGRADED, Claim};

/// Where the endpoints are, relative to the issuer identifier.
pub const AUTHORIZATION_PATH: &str = "/oidc/authorize";
/// The token endpoint.
pub const TOKEN_PATH: &str = "/oidc/token";
/// The JWKS.
pub const JWKS_PATH: &str = "/oidc/jwks";
/// The discovery document.
pub const DISCOVERY_PATH: &str = "/.well-known/openid-configuration";

/// The provider's metadata.
#[derive(Debug, Clone, Serialize)]
pub struct ProviderMetadata {
    /// The issuer identifier (the issuer's public URL).
    pub issuer: String,
    /// Authorization endpoint.
    pub authorization_endpoint: String,
    /// Token endpoint.
    pub token_endpoint: String,
    /// JWKS.
    pub jwks_uri: String,
    /// `openid` and one scope per claim.
    pub scopes_supported: Vec<&'static str>,
    /// `code`.
    pub response_types_supported: [&'static str; 1],
    /// `query`.
    pub response_modes_supported: [&'static str; 1],
    /// `authorization_code`.
    pub grant_types_supported: [&'static str; 1],
    /// `pairwise` only (OIDC Core §8).
    pub subject_types_supported: [&'static str; 1],
    /// `ES256`.
    pub id_token_signing_alg_values_supported: [&'static str; 1],
    /// Client authentication.
    pub token_endpoint_auth_methods_supported: [&'static str; 2],
    /// `S256`.
    pub code_challenge_methods_supported: [&'static str; 1],
    /// The tiers.
    pub acr_values_supported: [&'static str; 2],
    /// Every claim an ID token can carry.
    pub claims_supported: Vec<&'static str>,
    /// No `claims` parameter: claims are asked for by scope.
    pub claims_parameter_supported: bool,
    /// No request objects.
    pub request_parameter_supported: bool,
    /// No `request_uri`.
    pub request_uri_parameter_supported: bool,
    /// RFC 9207.
    pub authorization_response_iss_parameter_supported: bool,
    /// The sign-in page's languages.
    pub ui_locales_supported: [&'static str; 2],
}

impl ProviderMetadata {
    /// The metadata of the provider at `issuer` (no trailing slash).
    pub fn new(issuer: &str) -> ProviderMetadata {
        let at = |path: &str| format!("{issuer}{path}");
        let mut scopes = vec!["openid"];
        scopes.extend(Claim::ALL.iter().map(|c| c.name()));
        let mut claims = vec![
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "acr",
            "amr",
        ];
        claims.extend(Claim::ALL.iter().map(|c| c.name()));
        ProviderMetadata {
            issuer: issuer.to_owned(),
            authorization_endpoint: at(AUTHORIZATION_PATH),
            token_endpoint: at(TOKEN_PATH),
            jwks_uri: at(JWKS_PATH),
            scopes_supported: scopes,
            response_types_supported: ["code"],
            response_modes_supported: ["query"],
            grant_types_supported: ["authorization_code"],
            subject_types_supported: ["pairwise"],
            id_token_signing_alg_values_supported: ["ES256"],
            token_endpoint_auth_methods_supported: ["client_secret_basic", "client_secret_post"],
            code_challenge_methods_supported: ["S256"],
            acr_values_supported: [ACR_LIGHTWEIGHT, ACR_UPGRADED],
            claims_supported: claims,
            claims_parameter_supported: false,
            request_parameter_supported: false,
            request_uri_parameter_supported: false,
            authorization_response_iss_parameter_supported: true,
            ui_locales_supported: ["en", "zh-CN"],
        }
    }
}
