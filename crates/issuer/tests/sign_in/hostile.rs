//! Hostile input on every Sign in with Tessera endpoint, against the real issuer (SQLite and
//! PostgreSQL): junk bodies, bad ids, malformed token requests and junk authorization
//! queries. Never a 5xx; OAuth error JSON with its status on `/oidc/token` (RFC 6749 §5.2);
//! problem details on the wallet's and page's endpoints; on `/oidc/authorize`, the error page
//! (400, no `Location`) whenever no redirect URI can be trusted, and otherwise a redirect to
//! the registered one only.
//! Bytes that no database should see (a NUL, which PostgreSQL text cannot even hold) are
//! refused before any lookup, the same on both backends.

use crate::common::*;
use reqwest::StatusCode;
use tessera_credential::claims::Tier;
use tessera_issuer::Clock;
use tessera_issuer_api::{Problem, ProblemType};
use tessera_oidc::claims::Claim;
use tessera_oidc::client::Registration;
use tessera_oidc::sign_in::SignInStatus;

const CALLBACK: &str = "https://shop.example/callback";
/// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A running issuer whose client follows no redirects, and one registered relying party.
struct Shop {
    h: Harness,
    client_id: String,
    secret: String,
}

async fn shop(backend: Backend) -> Shop {
    shop_with(backend, |_| {}).await
}

async fn shop_with(backend: Backend, tweak: impl FnOnce(&mut tessera_issuer::Config)) -> Shop {
    let mut h = start_with(backend, tweak).await;
    install_tls_provider();
    h.client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let uris = [CALLBACK.to_owned()];
    let new = tessera_issuer::service::add_client(
        h.issuer().store(),
        &Registration {
            name: "Ticket shop",
            name_zh: None,
            redirect_uris: &uris,
            tier: Tier::Lightweight,
            claims: &[Claim::AgeOver18, Claim::MaskedName],
        },
        h.clock.now(),
    )
    .await
    .unwrap();
    Shop {
        h,
        client_id: new.client.client_id.clone(),
        secret: new.secret.to_string(),
    }
}

/// Standard base64 with padding (RFC 4648 §4), as `Authorization: Basic` carries it.
fn base64(bytes: &[u8]) -> String {
    let mut s = tessera_issuer_api::b64::encode(bytes)
        .replace('-', "+")
        .replace('_', "/");
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

/// `pairs` as `application/x-www-form-urlencoded`.
fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

impl Shop {
    /// A valid authorization query, with `extra` appended as it is.
    fn authorize_query(&self, extra: &str) -> String {
        let q = form(&[
            ("client_id", &self.client_id),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", "openid age_over_18"),
            ("state", "s1"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]);
        format!("{q}{extra}")
    }

    async fn authorize(&self, query: &str) -> reqwest::Response {
        let url = format!("{}?{query}", self.h.url("/oidc/authorize"));
        self.h.client.get(url).send().await.unwrap()
    }

    /// Opens a sign-in: its request id, the page's secret and the number it shows.
    async fn open(&self) -> (String, String, u8) {
        let r = self.authorize(&self.authorize_query("")).await;
        assert_eq!(r.status(), StatusCode::OK);
        let html = r.text().await.unwrap();
        let after = |marker: &str| {
            let at = html.find(marker).unwrap() + marker.len();
            html[at..].to_owned()
        };
        let attr = |name: &str| {
            let rest = after(&format!("{name}=\""));
            rest[..rest.find('"').unwrap()].to_owned()
        };
        let code = after("id=\"match-code\">")[..2].parse().unwrap();
        (attr("data-request"), attr("data-secret"), code)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.h.client.get(self.h.url(path)).send().await.unwrap()
    }

    async fn post(
        &self,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> reqwest::Response {
        let mut req = self.h.client.post(self.h.url(path)).body(body);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req.send().await.unwrap()
    }

    async fn status(&self, id: &str, secret: &str) -> SignInStatus {
        let body = serde_json::json!({ "page_secret": secret }).to_string();
        let r = self
            .post(
                &format!("/oidc/sign-ins/{id}/status"),
                Some("application/json"),
                body.into_bytes(),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        r.json().await.unwrap()
    }

    /// A token request with the form `body` (as it is) and `authorization`.
    async fn token(
        &self,
        content_type: Option<&str>,
        authorization: Option<&str>,
        body: impl Into<Vec<u8>>,
    ) -> reqwest::Response {
        let mut req = self
            .h
            .client
            .post(self.h.url("/oidc/token"))
            .body(body.into());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(a) = authorization {
            req = req.header("authorization", a);
        }
        req.send().await.unwrap()
    }
}

/// The answer is problem details of type `kind` with `status`.
async fn problem(r: reqwest::Response, status: StatusCode, kind: ProblemType, what: &str) {
    let got = r.status();
    assert!(!got.is_server_error(), "{what}: {got}");
    let ct = r.headers().get("content-type").cloned();
    let body = r.bytes().await.unwrap();
    assert_eq!(
        ct.as_ref().and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "{what}: {got} {body:?}"
    );
    let p: Problem = serde_json::from_slice(&body).unwrap();
    assert_eq!((got, p.kind()), (status, Some(kind)), "{what}: {p:?}");
    assert_eq!(p.status, got.as_u16(), "{what}");
}

/// The answer is an OAuth error body (RFC 6749 §5.2) `error` with `status`, never cached.
async fn oauth_error(r: reqwest::Response, status: StatusCode, error: &str, what: &str) {
    let got = r.status();
    assert!(!got.is_server_error(), "{what}: {got}");
    let headers = r.headers().clone();
    let body = r.bytes().await.unwrap();
    assert_eq!(
        headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "{what}: {got} {body:?}"
    );
    assert_eq!(headers["cache-control"], "no-store", "{what}");
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (got, v["error"].as_str()),
        (status, Some(error)),
        "{what}: {v}"
    );
    assert!(v["error_description"].is_string(), "{what}: {v}");
    if status == StatusCode::UNAUTHORIZED {
        assert!(headers.contains_key("www-authenticate"), "{what}");
    }
}

/// The answer is the error page: 400, no redirect, never framed.
async fn error_page(r: reqwest::Response, what: &str) {
    let got = r.status();
    assert_eq!(got, StatusCode::BAD_REQUEST, "{what}");
    let headers = r.headers().clone();
    assert!(headers.get("location").is_none(), "{what}: {headers:?}");
    assert_eq!(headers["x-frame-options"], "DENY", "{what}");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{what}"
    );
    assert!(
        r.text().await.unwrap().contains("id=\"error\""),
        "{what}: not the error page"
    );
}

/// The answer sends the browser back to the registered redirect URI with `error`; returns
/// where it points.
fn redirected(r: &reqwest::Response, error: &str, what: &str) -> String {
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{what}");
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with(&format!("{CALLBACK}?")), "{what}: {to}");
    let url = url::Url::parse(&to).unwrap();
    let got = url
        .query_pairs()
        .find(|(k, _)| k == "error")
        .map(|(_, v)| v);
    assert_eq!(got.as_deref(), Some(error), "{what}: {to}");
    to
}

async fn junk_bodies_and_ids_get_problem_details(backend: Backend) {
    let s = shop(backend).await;
    let (id, secret, _) = s.open().await;

    // The request as the wallet reads it names its claims as the scopes do.
    let r = s.get(&format!("/oidc/sign-ins/{id}")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let served: serde_json::Value = r.json().await.unwrap();
    assert_eq!(served["claims"], serde_json::json!(["age_over_18"]));

    // Bodies that do not parse never reach the service: the request stays open.
    let approval = format!("/oidc/sign-ins/{id}/approval");
    let status = format!("/oidc/sign-ins/{id}/status");
    let huge = vec![b'{'; 200 * 1024];
    let junk = [
        (
            "not JSON",
            Some("application/json"),
            b"presentation=x".to_vec(),
            StatusCode::BAD_REQUEST,
            ProblemType::Malformed,
        ),
        (
            "no content type",
            None,
            br#"{"presentation":"x","match_code":12}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            ProblemType::Malformed,
        ),
        (
            "a form",
            Some("application/x-www-form-urlencoded"),
            b"presentation=x&match_code=12".to_vec(),
            StatusCode::BAD_REQUEST,
            ProblemType::Malformed,
        ),
        (
            "empty",
            Some("application/json"),
            Vec::new(),
            StatusCode::BAD_REQUEST,
            ProblemType::Malformed,
        ),
        (
            "not UTF-8",
            Some("application/json"),
            b"{\"presentation\":\"\xff\xfe\",\"match_code\":12}".to_vec(),
            StatusCode::BAD_REQUEST,
            ProblemType::Malformed,
        ),
        (
            "a match code beyond a byte",
            Some("application/json"),
            br#"{"presentation":"x","match_code":300}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            ProblemType::Malformed,
        ),
        (
            "the wrong types",
            Some("application/json"),
            br#"{"presentation":["x"],"match_code":"12"}"#.to_vec(),
            StatusCode::BAD_REQUEST,
            ProblemType::Malformed,
        ),
        (
            "deeply nested",
            Some("application/json"),
            [vec![b'['; 20_000], vec![b']'; 20_000]].concat(),
            StatusCode::BAD_REQUEST,
            ProblemType::Malformed,
        ),
        (
            "200 KiB",
            Some("application/json"),
            huge.clone(),
            StatusCode::PAYLOAD_TOO_LARGE,
            ProblemType::PayloadTooLarge,
        ),
    ];
    for (what, ct, body, code, kind) in &junk {
        let r = s.post(&approval, *ct, body.clone()).await;
        problem(r, *code, *kind, &format!("approval, {what}")).await;
        let r = s.post(&status, *ct, body.clone()).await;
        problem(r, *code, *kind, &format!("status, {what}")).await;
    }
    // The page's status: an unknown field, a secret of the wrong type, too long, or wrong.
    for (what, body, code, kind) in [
        (
            "an unknown field",
            serde_json::json!({"page_secret": secret, "more": 1}),
            StatusCode::BAD_REQUEST,
            ProblemType::Malformed,
        ),
        (
            "a number",
            serde_json::json!({"page_secret": 5}),
            StatusCode::BAD_REQUEST,
            ProblemType::Malformed,
        ),
        (
            "10 kB",
            serde_json::json!({"page_secret": "a".repeat(10_000)}),
            StatusCode::NOT_FOUND,
            ProblemType::NotFound,
        ),
        (
            "the wrong secret",
            serde_json::json!({"page_secret": "x"}),
            StatusCode::NOT_FOUND,
            ProblemType::NotFound,
        ),
        (
            "unicode",
            serde_json::json!({"page_secret": "秘密\u{0}\u{202e}"}),
            StatusCode::NOT_FOUND,
            ProblemType::NotFound,
        ),
    ] {
        let r = s
            .post(
                &status,
                Some("application/json"),
                body.to_string().into_bytes(),
            )
            .await;
        problem(r, code, kind, &format!("status, {what}")).await;
    }
    assert_eq!(s.status(&id, &secret).await.state, "pending");

    // Bad ids: not hex, upper case, too long, unicode, invalid UTF-8 escapes, a slash, dots.
    let long = "a".repeat(5000);
    let bad_ids = [
        "zz",
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcdef0",
        long.as_str(),
        "%E4%BD%A0%E5%A5%BD",
        "%00",
        "..%2F..%2Fv1%2Ftrust-list",
        "0123456789abcdef0123456789abcde%20",
    ];
    let valid_approval = br#"{"presentation":"TS1:x","match_code":12}"#.to_vec();
    let valid_status = br#"{"page_secret":"x"}"#.to_vec();
    for bad in bad_ids {
        let what = format!("id {bad:.40}");
        let r = s.get(&format!("/oidc/sign-ins/{bad}")).await;
        problem(r, StatusCode::NOT_FOUND, ProblemType::NotFound, &what).await;
        for (suffix, body) in [
            ("approval", Some(&valid_approval)),
            ("refusal", None),
            ("status", Some(&valid_status)),
        ] {
            let path = format!("/oidc/sign-ins/{bad}/{suffix}");
            let r = match body {
                Some(b) => s.post(&path, Some("application/json"), b.clone()).await,
                None => s.post(&path, None, Vec::new()).await,
            };
            let what = format!("{suffix}, {what}");
            problem(r, StatusCode::NOT_FOUND, ProblemType::NotFound, &what).await;
        }
    }
    // Invalid UTF-8 in the id: no such request, as problem details.
    for (method, suffix) in [
        ("GET", ""),
        ("POST", "/approval"),
        ("POST", "/refusal"),
        ("POST", "/status"),
    ] {
        let url = s.h.url(&format!("/oidc/sign-ins/%FF%FE%FD{suffix}"));
        // A body the endpoint would take, so only the id is wrong.
        let body = match suffix {
            "/approval" => br#"{"presentation":"TS1:x","match_code":42}"#.to_vec(),
            _ => valid_status.clone(),
        };
        let req = match method {
            "GET" => s.h.client.get(url),
            _ => {
                s.h.client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body)
            }
        };
        let r = req.send().await.unwrap();
        let what = format!("invalid UTF-8 id{suffix}");
        problem(r, StatusCode::NOT_FOUND, ProblemType::NotFound, &what).await;
    }
    // A refusal's body is ignored, whatever it is.
    let unknown = "0123456789abcdef0123456789abcdef";
    let r = s
        .post(
            &format!("/oidc/sign-ins/{unknown}/refusal"),
            Some("application/json"),
            huge[..60_000].to_vec(),
        )
        .await;
    problem(
        r,
        StatusCode::NOT_FOUND,
        ProblemType::NotFound,
        "refusal, unknown",
    )
    .await;
    assert_eq!(s.status(&id, &secret).await.state, "pending");

    // A well-formed approval with a junk presentation (as long as a body may be) is refused
    // and ends the request; the shop hears access_denied at its registered URI.
    let body = serde_json::json!({ "presentation": "TS1:".to_owned() + &"A".repeat(60_000), "match_code": 0 });
    let r = s
        .post(
            &approval,
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await;
    problem(
        r,
        StatusCode::FORBIDDEN,
        ProblemType::WrongMatchCode,
        "junk approval",
    )
    .await;
    let r = s
        .post(&approval, Some("application/json"), valid_approval.clone())
        .await;
    problem(
        r,
        StatusCode::GONE,
        ProblemType::SignInEnded,
        "after the end",
    )
    .await;
    let ended = s.status(&id, &secret).await;
    assert_eq!(ended.state, "refused");
    assert!(
        ended
            .continue_to
            .as_deref()
            .is_some_and(|to| to.starts_with(&format!("{CALLBACK}?error=access_denied"))),
        "{ended:?}"
    );

    // A second sign-in: the right number with a presentation that is not one.
    let (id, secret, code) = s.open().await;
    let body = serde_json::json!({"presentation": "TS1:\u{0}\u{ffff}", "match_code": code});
    let r = s
        .post(
            &format!("/oidc/sign-ins/{id}/approval"),
            Some("application/json"),
            body.to_string().into_bytes(),
        )
        .await;
    problem(
        r,
        StatusCode::UNAUTHORIZED,
        ProblemType::HolderAuthFailed,
        "a junk presentation",
    )
    .await;
    assert_eq!(s.status(&id, &secret).await.state, "refused");
}

async fn junk_token_requests_get_oauth_errors(backend: Backend) {
    let s = shop(backend).await;
    let form_ct = Some("application/x-www-form-urlencoded");
    let basic =
        |id: &str, secret: &str| format!("Basic {}", base64(format!("{id}:{secret}").as_bytes()));
    let good_basic = basic(&s.client_id, &s.secret);
    let grant = |extra: &[(&str, &str)]| {
        let mut p = vec![
            ("grant_type", "authorization_code"),
            ("code", "bm90IGEgY29kZQ"),
            ("redirect_uri", CALLBACK),
            ("code_verifier", VERIFIER),
        ];
        p.extend_from_slice(extra);
        form(&p)
    };
    let bad = StatusCode::BAD_REQUEST;
    let unauthorized = StatusCode::UNAUTHORIZED;
    let cases = vec![
        (
            "JSON instead of a form",
            Some("application/json"),
            Some(good_basic.clone()),
            serde_json::json!({"grant_type": "authorization_code"})
                .to_string()
                .into_bytes(),
            bad,
            "invalid_request",
        ),
        (
            "no content type",
            None,
            Some(good_basic.clone()),
            grant(&[]).into_bytes(),
            bad,
            "invalid_request",
        ),
        (
            "text/plain",
            Some("text/plain"),
            Some(good_basic.clone()),
            grant(&[]).into_bytes(),
            bad,
            "invalid_request",
        ),
        (
            "a form that is not UTF-8",
            form_ct,
            Some(good_basic.clone()),
            b"grant_type=authorization_code&code=\xff\xfe".to_vec(),
            bad,
            "invalid_request",
        ),
        (
            "an empty form",
            form_ct,
            None,
            Vec::new(),
            bad,
            "invalid_request",
        ),
        (
            "an empty form with Basic",
            form_ct,
            Some(good_basic.clone()),
            Vec::new(),
            bad,
            "invalid_request",
        ),
        (
            "junk pairs",
            form_ct,
            None,
            b"&&&===&%zz&%FF%FE=%00".to_vec(),
            bad,
            "invalid_request",
        ),
        (
            "grant_type twice",
            form_ct,
            Some(good_basic.clone()),
            grant(&[("grant_type", "authorization_code")]).into_bytes(),
            bad,
            "invalid_request",
        ),
        (
            "code twice",
            form_ct,
            Some(good_basic.clone()),
            grant(&[("code", "b3RoZXI")]).into_bytes(),
            bad,
            "invalid_request",
        ),
        (
            "client_id twice",
            form_ct,
            None,
            grant(&[
                ("client_id", &s.client_id),
                ("client_id", &s.client_id),
                ("client_secret", &s.secret),
            ])
            .into_bytes(),
            bad,
            "invalid_request",
        ),
        (
            "another grant type",
            form_ct,
            Some(good_basic.clone()),
            form(&[("grant_type", "password"), ("username", "a")]).into_bytes(),
            bad,
            "unsupported_grant_type",
        ),
        (
            "Basic that is not base64",
            form_ct,
            Some("Basic %%%not-base64%%%".into()),
            grant(&[]).into_bytes(),
            unauthorized,
            "invalid_client",
        ),
        (
            "Basic without a colon",
            form_ct,
            Some(format!("Basic {}", base64(b"just-an-id"))),
            grant(&[]).into_bytes(),
            unauthorized,
            "invalid_client",
        ),
        (
            "Basic that is not UTF-8",
            form_ct,
            Some(format!("Basic {}", base64(b"\xff\xfe:\xfd"))),
            grant(&[]).into_bytes(),
            unauthorized,
            "invalid_client",
        ),
        (
            "Basic with nothing",
            form_ct,
            Some("Basic".into()),
            grant(&[]).into_bytes(),
            unauthorized,
            "invalid_client",
        ),
        (
            "a Bearer token",
            form_ct,
            Some("Bearer abc".into()),
            grant(&[]).into_bytes(),
            unauthorized,
            "invalid_client",
        ),
        (
            "two client authentications",
            form_ct,
            Some(good_basic.clone()),
            grant(&[("client_secret", &s.secret)]).into_bytes(),
            bad,
            "invalid_request",
        ),
        (
            "no client authentication",
            form_ct,
            None,
            grant(&[]).into_bytes(),
            unauthorized,
            "invalid_client",
        ),
        (
            "a wrong secret",
            form_ct,
            Some(basic(&s.client_id, "guess")),
            grant(&[]).into_bytes(),
            unauthorized,
            "invalid_client",
        ),
        (
            "an unknown client",
            form_ct,
            Some(basic("rp_00000000000000000000000000000000", &s.secret)),
            grant(&[]).into_bytes(),
            unauthorized,
            "invalid_client",
        ),
        (
            "a 10 kB client id",
            form_ct,
            Some(basic(&"é".repeat(5000), "s")),
            grant(&[]).into_bytes(),
            unauthorized,
            "invalid_client",
        ),
        (
            "an unknown code",
            form_ct,
            Some(good_basic.clone()),
            grant(&[]).into_bytes(),
            bad,
            "invalid_grant",
        ),
        (
            "a code with a NUL byte and unicode",
            form_ct,
            Some(good_basic.clone()),
            form(&[
                ("grant_type", "authorization_code"),
                ("code", "\u{0}代码\u{202e}"),
                ("redirect_uri", CALLBACK),
                ("code_verifier", VERIFIER),
            ])
            .into_bytes(),
            bad,
            "invalid_grant",
        ),
        (
            "no code_verifier",
            form_ct,
            Some(good_basic.clone()),
            form(&[
                ("grant_type", "authorization_code"),
                ("code", "bm90IGEgY29kZQ"),
                ("redirect_uri", CALLBACK),
            ])
            .into_bytes(),
            bad,
            "invalid_request",
        ),
        (
            "60 kB of pairs",
            form_ct,
            Some(good_basic.clone()),
            grant(&[("x", &"y".repeat(60_000))]).into_bytes(),
            bad,
            "invalid_grant",
        ),
    ];
    for (what, ct, authorization, body, status, error) in cases {
        let r = s.token(ct, authorization.as_deref(), body).await;
        oauth_error(r, status, error, what).await;
    }
    // A client id with a NUL byte, posted or in Basic credentials: no such client, without a
    // lookup (PostgreSQL text cannot even hold NUL).
    for (what, authorization, body) in [
        (
            "a posted client id with a NUL byte",
            None,
            grant(&[("client_id", "rp_\u{0}x"), ("client_secret", "s")]),
        ),
        (
            "a Basic client id with a NUL byte",
            Some(basic("rp_%00x", "s")),
            grant(&[]),
        ),
    ] {
        let r = s.token(form_ct, authorization.as_deref(), body).await;
        oauth_error(r, unauthorized, "invalid_client", what).await;
    }
    // Beyond the body limit the transport answers before the endpoint: problem details.
    let r = s
        .token(
            form_ct,
            Some(&good_basic),
            grant(&[("x", &"y".repeat(100_000))]),
        )
        .await;
    // Refused by the body limit before the handler, still in OAuth's words.
    oauth_error(
        r,
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        "token, 100 kB",
    )
    .await;
    // A GET is not a token request.
    let r = s.get("/oidc/token").await;
    assert_eq!(r.headers()["allow"], "POST");
    oauth_error(
        r,
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        "GET /oidc/token",
    )
    .await;
}

async fn junk_authorization_requests_are_pages_or_go_to_the_registered_uri(backend: Backend) {
    let s = shop(backend).await;
    let id = s.client_id.clone();
    // No redirect URI can be trusted: the page, never a redirect.
    let long_state = "s".repeat(10_000);
    let long_junk = "%zz&".repeat(7_000);
    let pages: Vec<(&str, String)> = vec![
        ("no query", String::new()),
        ("junk", "&&&===&%zz&%&=%".into()),
        ("long junk", long_junk),
        (
            "client_id twice",
            s.authorize_query(&format!("&client_id={id}")),
        ),
        (
            "client_id twice, once unknown",
            s.authorize_query("&client_id=rp_00000000000000000000000000000000"),
        ),
        (
            "redirect_uri twice",
            s.authorize_query(&format!("&{}", form(&[("redirect_uri", CALLBACK)]))),
        ),
        (
            "an unregistered redirect_uri",
            s.authorize_query("")
                .replace("shop.example", "evil.example"),
        ),
        (
            "a redirect_uri that differs by a slash",
            s.authorize_query("").replace("callback", "callback%2F"),
        ),
        (
            "an invalid UTF-8 escape in client_id",
            s.authorize_query("")
                .replace(&format!("client_id={id}"), "client_id=%FF%FE"),
        ),
        (
            "an invalid UTF-8 escape in redirect_uri",
            s.authorize_query("")
                .replace("redirect_uri=", "redirect_uri=%C3%28"),
        ),
        (
            "a NUL byte in client_id",
            s.authorize_query("")
                .replace(&format!("client_id={id}"), "client_id=rp_%00"),
        ),
        (
            "a unicode client_id",
            s.authorize_query("").replace(
                &format!("client_id={id}"),
                "client_id=%E2%80%AErp_%E4%BD%A0",
            ),
        ),
        (
            "a 10 kB client_id",
            s.authorize_query("").replace(
                &format!("client_id={id}"),
                &format!("client_id={long_state}"),
            ),
        ),
        (
            "no client_id",
            s.authorize_query("")
                .replace(&format!("client_id={id}"), "client_id="),
        ),
    ];
    for (what, query) in &pages {
        error_page(s.authorize(query).await, what).await;
    }
    // The client and its redirect URI are known: errors go back to it, and only to it.
    let redirects = [
        (
            "a 10 kB state",
            s.authorize_query("")
                .replace("state=s1", &format!("state={long_state}")),
            "invalid_request",
        ),
        (
            "state twice",
            s.authorize_query("&state=s2"),
            "invalid_request",
        ),
        (
            "a 10 kB nonce",
            s.authorize_query(&format!("&nonce={long_state}")),
            "invalid_request",
        ),
        (
            "an invalid UTF-8 escape in scope",
            s.authorize_query("&scope=%FF"),
            "invalid_request",
        ),
        (
            "an invalid UTF-8 escape as the only scope",
            s.authorize_query("")
                .replace("scope=openid+age_over_18", "scope=openid+%FF%FE"),
            "invalid_scope",
        ),
        (
            "a claim not registered",
            s.authorize_query("")
                .replace("scope=openid+age_over_18", "scope=openid+id_number"),
            "invalid_scope",
        ),
        (
            "a unicode response_type",
            s.authorize_query("")
                .replace("response_type=code", "response_type=%E4%BB%A3%E7%A0%81"),
            "unsupported_response_type",
        ),
        (
            "a plain PKCE challenge",
            s.authorize_query("")
                .replace("code_challenge_method=S256", "code_challenge_method=plain"),
            "invalid_request",
        ),
        (
            "a request object",
            s.authorize_query("&request=eyJhbGciOiJub25lIn0.e30."),
            "request_not_supported",
        ),
        (
            "prompt=none",
            s.authorize_query("&prompt=none"),
            "login_required",
        ),
        (
            "a tier above the registration",
            s.authorize_query("&acr_values=urn%3Atessera%3Aacr%3Aupgraded"),
            "access_denied",
        ),
    ];
    for (what, query, error) in &redirects {
        let r = s.authorize(query).await;
        let to = redirected(&r, error, what);
        assert!(to.len() < 4096, "{what}: {} bytes", to.len());
        let url = url::Url::parse(&to).unwrap();
        let state = url
            .query_pairs()
            .find(|(k, _)| k == "state")
            .map(|(_, v)| v.into_owned());
        // An oversized state is not echoed; a normal one is.
        match *what {
            "a 10 kB state" | "state twice" => assert_eq!(state, None, "{what}"),
            _ => assert_eq!(state.as_deref(), Some("s1"), "{what}"),
        }
    }
    // A NUL byte (a control character) in state or nonce: invalid_request at the registered
    // URI, before anything is stored; the state is not echoed.
    for (what, query) in [
        (
            "a NUL byte in state",
            s.authorize_query("").replace("state=s1", "state=s%001"),
        ),
        ("a NUL byte in nonce", s.authorize_query("&nonce=n%00")),
    ] {
        let r = s.authorize(&query).await;
        redirected(&r, "invalid_request", what);
    }
    // And the flow still works after all that.
    let (id, secret, _) = s.open().await;
    assert_eq!(s.status(&id, &secret).await.state, "pending");
}

async fn a_flood_of_sign_ins_is_limited_per_client(backend: Backend) {
    let s = shop_with(backend, |c| c.sign_ins_per_ip = 3).await;
    // Each authorization request writes a row: three, then the page says to wait.
    let (id, secret, code) = s.open().await;
    s.open().await;
    s.open().await;
    let r = s.authorize(&s.authorize_query("")).await;
    error_page(r, "the fourth sign-in").await;
    // The wallet's answers count in the same budget, before anything is looked up.
    for path in [
        format!("/oidc/sign-ins/{id}/approval"),
        format!("/oidc/sign-ins/{id}/refusal"),
        "/oidc/sign-ins/zz/refusal".to_owned(),
    ] {
        let body = serde_json::json!({"presentation": "TS1:x", "match_code": code});
        let r = s
            .post(
                &path,
                Some("application/json"),
                body.to_string().into_bytes(),
            )
            .await;
        assert!(r.headers().contains_key("retry-after"), "{path}");
        problem(
            r,
            StatusCode::TOO_MANY_REQUESTS,
            ProblemType::RateLimited,
            &path,
        )
        .await;
    }
    // The request was not touched: the page still follows it, and it can still be fetched.
    assert_eq!(s.status(&id, &secret).await.state, "pending");
    let r = s.get(&format!("/oidc/sign-ins/{id}")).await;
    assert_eq!(r.status(), StatusCode::OK);
}

on_both_backends!(
    a_flood_of_sign_ins_is_limited_per_client,
    junk_bodies_and_ids_get_problem_details,
    junk_token_requests_get_oauth_errors,
    junk_authorization_requests_are_pages_or_go_to_the_registered_uri,
);
