//! The authorization request (OIDC Core §3.1.2.1, RFC 6749 §4.1.1), checked in numbered
//! steps. The first steps decide whether the relying party can be trusted with an error at
//! all: until the client and its exact redirect URI are known, errors are shown to the person
//! as a page and never redirected to (RFC 6749 §4.1.2.1, RFC 9700 §4.11: an open redirector
//! otherwise). From then on errors go back to the relying party's redirect URI.

use tessera_credential::claims::Tier;
use url::Url;

use crate::claims::{self, Claim};
use crate::client::Client;
use crate::error::ErrorCode;
use crate::pkce;
use crate::single;

/// The longest `state` or `nonce` accepted (they are echoed and stored).
pub const MAX_PARAM_LEN: usize = 512;

/// A checked authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// The registered redirect URI it named.
    pub redirect_uri: String,
    /// Echoed to the relying party.
    pub state: Option<String>,
    /// Put into the ID token.
    pub nonce: Option<String>,
    /// The S256 PKCE challenge.
    pub code_challenge: String,
    /// The claims asked for (each registered for the client).
    pub claims: Vec<Claim>,
    /// The tier the sign-in needs.
    pub tier: Tier,
}

/// Why an authorization request is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizationError {
    /// Shown to the person as a page: there is no redirect URI that can be trusted.
    #[error("{0}")]
    Page(String),
    /// Sent back to the relying party's redirect URI.
    #[error("{description}")]
    Redirect {
        /// The registered redirect URI.
        redirect_uri: String,
        /// The request's state, echoed.
        state: Option<String>,
        /// The OAuth error code.
        code: ErrorCode,
        /// For the relying party's developer.
        description: String,
    },
}

/// The `client_id` of `params`, for the caller to look the client up before [`check`]; only
/// one of the form this provider issues (anything else is unknown without a lookup).
pub fn client_id(params: &[(String, String)]) -> Option<&str> {
    single(params, "client_id")
        .ok()
        .flatten()
        .filter(|id| crate::client::valid_client_id(id))
}

/// Checks `params` (the query of the authorization request) against `client`, the
/// registered client named by its `client_id` (or `None` if there is none).
pub fn check(
    params: &[(String, String)],
    client: Option<&Client>,
) -> Result<AuthorizationRequest, AuthorizationError> {
    let page = AuthorizationError::Page;
    // 1. A registered client.
    let client_id = single(params, "client_id")
        .map_err(page)?
        .ok_or_else(|| page("the request names no relying party (client_id)".into()))?;
    let client = client
        .filter(|c| c.client_id == client_id)
        .ok_or_else(|| page("this relying party is not registered with Tessera".into()))?;
    // 2. One of its registered redirect URIs, exactly.
    let redirect_uri = single(params, "redirect_uri")
        .map_err(page)?
        .ok_or_else(|| page("the request names no redirect_uri".into()))?;
    if !client.has_redirect_uri(redirect_uri) {
        return Err(page(
            "the redirect_uri is not one this relying party registered".into(),
        ));
    }
    // From here on, errors go back to the relying party.
    let state = single(params, "state").ok().flatten();
    // Opaque to us, but echoed and stored: of a sane length and without control characters
    // (a NUL cannot even be stored in a PostgreSQL text column).
    let sane = |v: &str| v.len() <= MAX_PARAM_LEN && !v.chars().any(char::is_control);
    let state_ok = state.is_none_or(sane);
    let redirect = |code: ErrorCode, description: String| AuthorizationError::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: state.filter(|_| state_ok).map(str::to_owned),
        code,
        description,
    };
    let invalid = |d: String| redirect(ErrorCode::InvalidRequest, d);
    // 3. Every parameter at most once; state and nonce sane.
    for (name, _) in params {
        single(params, name).map_err(invalid)?;
    }
    if !state_ok {
        return Err(invalid(format!(
            "state must be at most {MAX_PARAM_LEN} bytes without control characters"
        )));
    }
    let nonce = single(params, "nonce").map_err(invalid)?;
    if nonce.is_some_and(|n| !sane(n)) {
        return Err(invalid(format!(
            "nonce must be at most {MAX_PARAM_LEN} bytes without control characters"
        )));
    }
    // 4. The authorization code flow, answered in the query.
    match single(params, "response_type").map_err(invalid)? {
        Some("code") => {}
        Some(other) => {
            return Err(redirect(
                ErrorCode::UnsupportedResponseType,
                format!("response_type {other:?} is not supported; use code"),
            ));
        }
        None => return Err(invalid("response_type is missing".into())),
    }
    if single(params, "response_mode")
        .map_err(invalid)?
        .is_some_and(|m| m != "query")
    {
        return Err(invalid("only response_mode=query is supported".into()));
    }
    if single(params, "request").map_err(invalid)?.is_some() {
        return Err(redirect(
            ErrorCode::RequestNotSupported,
            "request objects are not supported".into(),
        ));
    }
    if single(params, "request_uri").map_err(invalid)?.is_some() {
        return Err(redirect(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported".into(),
        ));
    }
    if single(params, "claims").map_err(invalid)?.is_some() {
        return Err(invalid(
            "the claims parameter is not supported: ask for each claim by its scope".into(),
        ));
    }
    // 5. Scopes: openid, then only claims registered for this client.
    let scope = single(params, "scope")
        .map_err(invalid)?
        .unwrap_or_default();
    let mut saw_openid = false;
    let mut asked = Vec::new();
    for s in scope.split(' ').filter(|s| !s.is_empty()) {
        if s == "openid" {
            saw_openid = true;
            continue;
        }
        let claim = Claim::parse(s).ok_or_else(|| {
            redirect(
                ErrorCode::InvalidScope,
                format!("scope {s:?} is not offered"),
            )
        })?;
        if !client.claims.contains(&claim) {
            return Err(redirect(
                ErrorCode::InvalidScope,
                format!("this relying party is not registered for {s}"),
            ));
        }
        if !asked.contains(&claim) {
            asked.push(claim);
        }
    }
    if !saw_openid {
        return Err(redirect(
            ErrorCode::InvalidScope,
            "the openid scope is missing".into(),
        ));
    }
    asked.sort();
    // 6. PKCE with S256.
    let code_challenge = single(params, "code_challenge")
        .map_err(invalid)?
        .ok_or_else(|| invalid("code_challenge is missing: PKCE (S256) is required".into()))?;
    if single(params, "code_challenge_method").map_err(invalid)? != Some(pkce::METHOD)
        || code_challenge.len() != 43
        || !pkce::well_formed(code_challenge)
    {
        return Err(invalid(
            "code_challenge must be an S256 challenge (code_challenge_method=S256)".into(),
        ));
    }
    // 7. Every sign-in needs the person: no silent sign-in.
    if single(params, "prompt")
        .map_err(invalid)?
        .is_some_and(|p| p.split(' ').any(|v| v == "none"))
    {
        return Err(redirect(
            ErrorCode::LoginRequired,
            "every Tessera sign-in needs the person's approval in the app".into(),
        ));
    }
    // 8. The tier: what the claims need, raised by the first known acr value, never above
    //    the registration.
    let mut tier = claims::tier_needed(&asked);
    if let Some(acr) = single(params, "acr_values")
        .map_err(invalid)?
        .and_then(|v| v.split(' ').find_map(claims::tier_of_acr))
    {
        tier = tier.max(acr);
    }
    if tier > client.tier {
        return Err(redirect(
            ErrorCode::AccessDenied,
            format!(
                "this relying party is registered for the {} tier only",
                claims::tier_name(client.tier)
            ),
        ));
    }
    Ok(AuthorizationRequest {
        client_id: client.client_id.clone(),
        redirect_uri: redirect_uri.to_owned(),
        state: state.map(str::to_owned),
        nonce: nonce.map(str::to_owned),
        code_challenge: code_challenge.to_owned(),
        claims: asked,
        tier,
    })
}

/// The redirect URI with the response parameters added to its query (`iss` per RFC 9207,
/// so a relying party talking to several providers can tell who answered).
pub fn response_url(redirect_uri: &str, params: &[(&str, &str)]) -> Option<String> {
    let mut url = Url::parse(redirect_uri).ok()?;
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
    }
    Some(url.into())
}

/// Where an error goes back to (the redirect URI with `error`, `error_description`, `state`
/// and `iss`).
pub fn error_url(e: &AuthorizationError, issuer: &str) -> Option<String> {
    match e {
        AuthorizationError::Page(_) => None,
        AuthorizationError::Redirect {
            redirect_uri,
            state,
            code,
            description,
        } => {
            let mut params = vec![
                ("error", code.as_str()),
                ("error_description", description.as_str()),
            ];
            if let Some(s) = state {
                params.push(("state", s));
            }
            params.push(("iss", issuer));
            response_url(redirect_uri, &params)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Registration;

    fn client() -> Client {
        let uris = vec!["https://shop.example/cb".to_owned()];
        Client::register(
            &Registration {
                name: "Shop",
                name_zh: None,
                redirect_uris: &uris,
                tier: Tier::Lightweight,
                claims: &[Claim::AgeOver18],
            },
            &[1; 48],
        )
        .unwrap()
        .client
    }

    fn params(c: &Client, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut p = vec![
            ("client_id", c.client_id.as_str()),
            ("redirect_uri", "https://shop.example/cb"),
            ("response_type", "code"),
            ("scope", "openid age_over_18"),
            ("state", "s1"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ];
        for (k, v) in extra {
            p.retain(|(pk, _)| pk != k);
            if !v.is_empty() {
                p.push((k, v));
            }
        }
        p.into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn code_of(r: Result<AuthorizationRequest, AuthorizationError>) -> ErrorCode {
        match r {
            Err(AuthorizationError::Redirect { code, .. }) => code,
            other => panic!("expected a redirected error, got {other:?}"),
        }
    }

    #[test]
    fn a_good_request_passes() {
        let c = client();
        let r = check(&params(&c, &[]), Some(&c)).unwrap();
        assert_eq!(r.claims, vec![Claim::AgeOver18]);
        assert_eq!(r.tier, Tier::Lightweight);
        assert_eq!(r.state.as_deref(), Some("s1"));
    }

    #[test]
    fn an_unknown_client_or_redirect_is_a_page_never_a_redirect() {
        let c = client();
        assert!(matches!(
            check(&params(&c, &[]), None),
            Err(AuthorizationError::Page(_))
        ));
        let p = params(&c, &[("redirect_uri", "https://evil.example/cb")]);
        assert!(matches!(
            check(&p, Some(&c)),
            Err(AuthorizationError::Page(_))
        ));
        let mut p = params(&c, &[]);
        p.push(("redirect_uri".into(), "https://evil.example/cb".into()));
        assert!(matches!(
            check(&p, Some(&c)),
            Err(AuthorizationError::Page(_))
        ));
    }

    #[test]
    fn purpose_limitation_and_pkce_are_enforced() {
        let c = client();
        assert_eq!(
            code_of(check(
                &params(&c, &[("scope", "openid id_number")]),
                Some(&c)
            )),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            code_of(check(&params(&c, &[("scope", "age_over_18")]), Some(&c))),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            code_of(check(
                &params(&c, &[("acr_values", crate::claims::ACR_UPGRADED)]),
                Some(&c)
            )),
            ErrorCode::AccessDenied
        );
        assert_eq!(
            code_of(check(
                &params(&c, &[("code_challenge_method", "plain")]),
                Some(&c)
            )),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code_of(check(&params(&c, &[("code_challenge", "")]), Some(&c))),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code_of(check(&params(&c, &[("prompt", "none")]), Some(&c))),
            ErrorCode::LoginRequired
        );
        assert_eq!(
            code_of(check(&params(&c, &[("nonce", "n\u{0}")]), Some(&c))),
            ErrorCode::InvalidRequest
        );
        match check(&params(&c, &[("state", "s\u{0}")]), Some(&c)) {
            Err(AuthorizationError::Redirect { code, state, .. }) => {
                assert_eq!((code, state), (ErrorCode::InvalidRequest, None));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            code_of(check(&params(&c, &[("response_type", "token")]), Some(&c))),
            ErrorCode::UnsupportedResponseType
        );
    }

    #[test]
    fn errors_go_back_with_state_and_issuer() {
        let c = client();
        let e = check(&params(&c, &[("scope", "openid email")]), Some(&c)).unwrap_err();
        let url = error_url(&e, "https://id.example").unwrap();
        assert!(url.starts_with("https://shop.example/cb?error=invalid_scope"));
        assert!(url.contains("state=s1") && url.contains("iss=https%3A%2F%2Fid.example"));
    }
}
