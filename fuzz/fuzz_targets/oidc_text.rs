//! The text that Sign in with Tessera reads from anyone: the `tessera://sign-in` link or QR
//! text the wallet is handed, the authorization request's query string, and the token
//! request's form body with its `Authorization` header (docs/format/oidc.md).
//!
//! One target for the three (they are cheap, and each target costs the CI run its 20 s): the
//! first byte picks the parser, the rest is its input.
//! - mode % 3 = 0: the rest as text → `SignInLink::parse`; a link that reads reads back the
//!   same from `to_uri` (when that fits the length limit).
//! - mode % 3 = 1: the rest as a query string, decoded as the issuer decodes it
//!   (`url::form_urlencoded`) → `authorization::check` against the registered client
//!   `tessera_fuzz::oidc_client()`. An accepted request is within the registration, and an
//!   error is never sent to a redirect URI the client did not register (no open redirect).
//! - mode % 3 = 2: the rest as `HEADER\nFORM` (no newline: no header) → `TokenRequest::parse`,
//!   then client authentication and the grant check against a fixed grant.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_oidc::authorization::{self, AuthorizationError};
use tessera_oidc::pkce;
use tessera_oidc::sign_in::{SignInLink, valid_request_id};
use tessera_oidc::token::{self, Grant, TokenRequest};

fn link(text: &str) {
    let Ok(link) = SignInLink::parse(text) else {
        return;
    };
    assert!(valid_request_id(&link.request_id));
    assert!(link.match_code.is_none_or(|c| (10..=99).contains(&c)));
    let uri = link.to_uri();
    if uri.len() <= 2048 {
        assert_eq!(
            SignInLink::parse(&uri).as_ref(),
            Ok(&link),
            "a link that reads must read back the same from its own text"
        );
    }
}

fn authorize(query: &[u8]) {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let client = tessera_fuzz::oidc_client();
    let _ = authorization::client_id(&params);
    // Without the registration nothing passes, and nothing is redirected.
    assert!(matches!(
        authorization::check(&params, None),
        Err(AuthorizationError::Page(_))
    ));
    match authorization::check(&params, Some(client)) {
        Ok(r) => {
            assert_eq!(r.client_id, client.client_id);
            assert!(client.has_redirect_uri(&r.redirect_uri));
            assert!(r.claims.iter().all(|c| client.claims.contains(c)));
            assert!(r.tier <= client.tier);
            assert!(r.claims.iter().all(|c| c.tier() <= r.tier));
            assert!(pkce::well_formed(&r.code_challenge) && r.code_challenge.len() == 43);
            for p in [&r.state, &r.nonce].into_iter().flatten() {
                assert!(p.len() <= authorization::MAX_PARAM_LEN);
            }
        }
        Err(e @ AuthorizationError::Page(_)) => {
            assert_eq!(
                authorization::error_url(&e, tessera_fuzz::OIDC_ISSUER),
                None
            );
        }
        Err(e @ AuthorizationError::Redirect { .. }) => {
            let AuthorizationError::Redirect {
                redirect_uri,
                state,
                ..
            } = &e
            else {
                unreachable!()
            };
            assert!(
                client.has_redirect_uri(redirect_uri),
                "an error redirected to an unregistered URI: {redirect_uri}"
            );
            assert!(
                state
                    .as_ref()
                    .is_none_or(|s| s.len() <= authorization::MAX_PARAM_LEN)
            );
            let to = authorization::error_url(&e, tessera_fuzz::OIDC_ISSUER)
                .unwrap_or_else(|| panic!("a registered redirect URI always takes an error"));
            assert!(to.starts_with(redirect_uri.split('?').next().unwrap_or_default()));
        }
    }
}

fn token_request(input: &[u8]) {
    let (header, form) = match input.iter().position(|&b| b == b'\n') {
        Some(at) => (std::str::from_utf8(&input[..at]).ok(), &input[at + 1..]),
        None => (None, input),
    };
    let form: Vec<(String, String)> = url::form_urlencoded::parse(form)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let req = match TokenRequest::parse(&form, header) {
        Ok(req) => req,
        Err(e) => {
            assert!(matches!(e.status(), 400 | 401));
            let _ = e.body();
            return;
        }
    };
    for field in [
        &req.code,
        &req.redirect_uri,
        &req.code_verifier,
        &req.client_id,
    ] {
        assert!(!field.is_empty());
    }
    let client = tessera_fuzz::oidc_client();
    if req.authenticate(Some(client)).is_ok() {
        assert_eq!(req.client_id, client.client_id);
        assert_eq!(req.client_secret, tessera_fuzz::OIDC_CLIENT_SECRET);
    }
    let grant = Grant {
        client_id: client.client_id.clone(),
        redirect_uri: client.redirect_uris[0].clone(),
        code_challenge: tessera_fuzz::OIDC_CODE_CHALLENGE.to_owned(),
        code_expires_at: tessera_vectors::NOW + 60,
    };
    if token::check_grant(&req, &grant, tessera_vectors::NOW).is_ok() {
        assert!(pkce::verify_s256(&req.code_verifier, &grant.code_challenge));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 3 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                link(text);
            }
        }
        1 => authorize(rest),
        _ => token_request(rest),
    }
});
