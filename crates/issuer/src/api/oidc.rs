//! Sign in with Tessera over HTTP: OpenID Connect discovery, JWKS, the authorization page,
//! the token endpoint, and the wallet's and page's view of a sign-in request. Thin adapters
//! over [`Issuer`]'s sign-in methods; OAuth errors on the OAuth endpoints (RFC 6749 §5.2),
//! problem details on Tessera's own.

use std::net::SocketAddr;

use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use tessera_issuer_api::{Problem, ProblemType};
use tessera_oidc::authorization::{self, AuthorizationError};
use tessera_oidc::sign_in::SignInApproval;

use super::{ApiJson, ApiProblem, AppState, client, no_store};

/// The page's script.
const SCRIPT: &str = include_str!("sign_in.js");

/// What the sign-in page may load and do: its own script and status endpoint, nothing
/// else; never framed (a framed consent page invites clickjacking).
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn form_pairs(text: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(super) async fn discovery(State(issuer): State<AppState>) -> Response {
    (
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        )],
        axum::Json(issuer.discovery()),
    )
        .into_response()
}

pub(super) async fn jwks(State(issuer): State<AppState>) -> Response {
    // Short caching: a relying party must see a new key soon after a rotation.
    (
        [(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        )],
        axum::Json(issuer.jwks()),
    )
        .into_response()
}

pub(super) async fn script() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/javascript; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        SCRIPT,
    )
        .into_response()
}

/// Whether the person reads Chinese: `ui_locales` first (OIDC Core §3.1.2.1), then the
/// browser's `Accept-Language`.
fn chinese(params: &[(String, String)], headers: &HeaderMap) -> bool {
    let first_tag = |list: &str| {
        list.split([',', ' '])
            .map(|t| {
                t.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .find(|t| !t.is_empty())
    };
    if let Some((_, v)) = params.iter().find(|(k, _)| k == "ui_locales")
        && let Some(tag) = first_tag(v)
    {
        return tag.starts_with("zh");
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(first_tag)
        .is_some_and(|t| t.starts_with("zh"))
}

fn page_headers(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_CSP),
            ),
            (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        Html(body),
    )
        .into_response()
}

pub(super) async fn authorize(
    State(issuer): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let params = form_pairs(query.as_deref().unwrap_or_default());
    let zh = chinese(&params, &headers);
    let ip = client(&issuer, addr, &headers);
    match issuer.authorize(&params, Some(ip)).await {
        Ok(page) => page_headers(StatusCode::OK, super::sign_in_page::render(&page, zh)),
        // Until the client and its redirect URI are known: a page, never a redirect.
        Err(AuthorizationError::Page(why)) => page_headers(
            StatusCode::BAD_REQUEST,
            super::sign_in_page::render_error(&why, zh),
        ),
        Err(e) => match authorization::error_url(&e, issuer.oidc_issuer()) {
            Some(location) => (
                StatusCode::SEE_OTHER,
                [
                    (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
                    (
                        header::REFERRER_POLICY,
                        HeaderValue::from_static("no-referrer"),
                    ),
                ],
                [(header::LOCATION, location)],
            )
                .into_response(),
            // The registered redirect URI did not parse as a URL: say so, do not redirect.
            None => page_headers(
                StatusCode::BAD_REQUEST,
                super::sign_in_page::render_error(&e.to_string(), zh),
            ),
        },
    }
}

pub(super) async fn token(
    State(issuer): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    let result = match (form_type, std::str::from_utf8(&body)) {
        (true, Ok(text)) => {
            let authorization = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            issuer.token(&form_pairs(text), authorization).await
        }
        _ => Err(tessera_oidc::token::TokenError {
            code: tessera_oidc::error::ErrorCode::InvalidRequest,
            description: "the body must be application/x-www-form-urlencoded".into(),
        }),
    };
    let never_cache = [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (header::PRAGMA, HeaderValue::from_static("no-cache")),
    ];
    match result {
        Ok(t) => (never_cache, axum::Json(t)).into_response(),
        Err(e) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
            let mut r = (status, never_cache, axum::Json(e.body())).into_response();
            if status == StatusCode::UNAUTHORIZED {
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"tessera\""),
                );
            }
            r
        }
    }
}

/// The token endpoint speaks OAuth 2.0 errors (RFC 6749 §5.2) only, also where the answer
/// comes from a layer before the handler: a body refused by the body limit (413, 408, 400
/// as problem details) or a method other than POST (axum's empty 405). A relying party's
/// OAuth library then reads every refusal. Other paths pass through untouched.
pub(super) async fn token_errors(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if req.uri().path() != tessera_oidc::discovery::TOKEN_PATH {
        return next.run(req).await;
    }
    let response = next.run(req).await;
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/problem+json"));
    let description = if status == StatusCode::METHOD_NOT_ALLOWED {
        "the token endpoint takes POST only".to_owned()
    } else if is_problem {
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .unwrap_or_default();
        serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|p| p.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
            .unwrap_or_else(|| "the request was refused".to_owned())
    } else {
        return response;
    };
    let body = tessera_oidc::error::ErrorBody::new(
        tessera_oidc::error::ErrorCode::InvalidRequest,
        description,
    );
    let mut r = (
        status,
        [
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        axum::Json(body),
    )
        .into_response();
    if status == StatusCode::METHOD_NOT_ALLOWED {
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    r
}

/// The sign-in id of the path; one that is not even text names no request.
fn request_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiProblem> {
    path.map(|Path(id)| id).map_err(|_| {
        ApiProblem(Problem::new(
            ProblemType::NotFound,
            "no such sign-in request",
        ))
    })
}

pub(super) async fn sign_in_request(
    State(issuer): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiProblem> {
    let id = request_id(path)?;
    let r = issuer.sign_in_request(&id).await?;
    Ok((no_store(), axum::Json(r)).into_response())
}

pub(super) async fn approve(
    State(issuer): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    ApiJson(approval): ApiJson<SignInApproval>,
) -> Result<Response, ApiProblem> {
    let id = request_id(path)?;
    let ip = client(&issuer, addr, &headers);
    let outcome = issuer.approve_sign_in(&id, &approval, Some(ip)).await?;
    Ok((no_store(), axum::Json(outcome)).into_response())
}

pub(super) async fn refuse(
    State(issuer): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiProblem> {
    let id = request_id(path)?;
    let ip = client(&issuer, addr, &headers);
    let outcome = issuer.refuse_sign_in(&id, Some(ip)).await?;
    Ok((no_store(), axum::Json(outcome)).into_response())
}

/// `POST /oidc/sign-ins/{id}/status`: the page's secret in the body, never in a URL.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusRequest {
    page_secret: String,
}

pub(super) async fn status(
    State(issuer): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    ApiJson(req): ApiJson<StatusRequest>,
) -> Result<Response, ApiProblem> {
    let id = request_id(path)?;
    if req.page_secret.len() > 128 {
        return Err(ApiProblem(Problem::new(
            ProblemType::NotFound,
            "no such sign-in request",
        )));
    }
    let s = issuer.sign_in_status(&id, &req.page_secret).await?;
    Ok((no_store(), axum::Json(s)).into_response())
}
