//! The HTTP API (`/v1`, JSON, RFC 9457 problems), a thin adapter over [`Issuer`].

mod oidc;
mod problem;
mod sign_in_page;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, MatchedPath, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tessera_body_limit::{self as body_limit, BodyLimit, Refusal};
use tessera_issuer_api::{
    AdminRevokeRequest, ChallengeRequest, EnrolRequest, HolderRevokeRequest, Problem, ProblemType,
    RenewRequest,
};

pub use problem::{ApiJson, ApiProblem};

use crate::service::{Issuer, Signed};

/// The OpenAPI 3.1 description of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

type AppState = Arc<Issuer>;

/// Small bodies (revocations, challenges).
const SMALL_BODY: usize = 64 * 1024;

/// The router for `issuer`.
pub fn router(issuer: Arc<Issuer>) -> Router {
    let frames_limit = issuer.config.max_body_bytes;
    let limit = BodyLimit::new(
        move |req| match req.uri().path() {
            "/v1/enrolments" | "/v1/renewals" => frames_limit,
            _ => SMALL_BODY,
        },
        refuse_body,
    );
    Router::new()
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi))
        .route("/v1/challenges", post(challenge))
        .route("/v1/enrolments", post(enrol))
        .route("/v1/renewals", post(renew))
        .route("/v1/refills", post(refill))
        .route("/v1/revocations", post(revoke_holder))
        .route("/v1/admin/revocations", post(revoke_admin))
        .route("/v1/trust-list", get(trust_list))
        .route("/v1/trust-list-key", get(trust_list_key))
        .route("/v1/status/{list}", get(status_list))
        .route("/v1/portraits", post(portrait))
        .route(
            tessera_oidc::discovery::DISCOVERY_PATH,
            get(oidc::discovery),
        )
        .route(tessera_oidc::discovery::JWKS_PATH, get(oidc::jwks))
        .route(
            tessera_oidc::discovery::AUTHORIZATION_PATH,
            get(oidc::authorize),
        )
        .route(tessera_oidc::discovery::TOKEN_PATH, post(oidc::token))
        .route("/oidc/sign-in.js", get(oidc::script))
        .route("/oidc/sign-ins/{id}", get(oidc::sign_in_request))
        .route("/oidc/sign-ins/{id}/approval", post(oidc::approve))
        .route("/oidc/sign-ins/{id}/refusal", post(oidc::refuse))
        .route("/oidc/sign-ins/{id}/status", post(oidc::status))
        .fallback(not_found)
        // `enforce` has read each body within its limit already.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(limit, body_limit::enforce))
        .layer(middleware::from_fn(oidc::token_errors))
        .layer(middleware::from_fn(access_log))
        .with_state(issuer)
}

/// A body refused by [`body_limit::enforce`], as a problem.
fn refuse_body(refusal: Refusal) -> Response {
    let problem = match refusal {
        Refusal::TooLarge => problem::too_large(),
        Refusal::Unreadable => Problem::new(
            ProblemType::Malformed,
            "the request body could not be read to its end",
        ),
        Refusal::TimedOut => Problem::new(
            ProblemType::RequestTimeout,
            "the request body did not arrive in time: check the connection and send it again",
        ),
    };
    ApiProblem(problem).into_response()
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    issuer: Arc<Issuer>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(issuer).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// One line per request: method, route template (never the concrete path's values beyond
/// the status list number), status and time. No bodies, no personal data.
async fn access_log(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(req).await;
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1e3,
        "request"
    );
    response
}

async fn healthz(State(issuer): State<AppState>) -> Response {
    match issuer.store().registry_len().await {
        Ok(n) => axum::Json(serde_json::json!({"status": "ok", "registry": n})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            ApiProblem(Problem::new(
                ProblemType::Unavailable,
                "the database is unavailable",
            ))
            .into_response()
        }
    }
}

async fn openapi() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        OPENAPI,
    )
        .into_response()
}

async fn not_found() -> ApiProblem {
    ApiProblem(Problem::new(
        ProblemType::NotFound,
        "no such endpoint: see /openapi.json",
    ))
}

async fn challenge(
    State(issuer): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiProblem> {
    // The body is optional: without one the challenge is bound to no key (revocation only).
    let req: ChallengeRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ChallengeRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiProblem(Problem::new(
                ProblemType::Malformed,
                format!("the challenge request is not valid JSON for this endpoint: {e}"),
            ))
        })?
    };
    let c = issuer
        .challenge(req, Some(client(&issuer, addr, &headers)))
        .await?;
    Ok((StatusCode::CREATED, no_store(), axum::Json(c)).into_response())
}

async fn enrol(
    State(issuer): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<EnrolRequest>,
) -> Result<Response, ApiProblem> {
    let batch = issuer
        .enrol(req, Some(client(&issuer, addr, &headers)))
        .await?;
    Ok((StatusCode::CREATED, no_store(), axum::Json(batch)).into_response())
}

async fn renew(
    State(issuer): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<RenewRequest>,
) -> Result<Response, ApiProblem> {
    let batch = issuer
        .renew(req, Some(client(&issuer, addr, &headers)))
        .await?;
    Ok((StatusCode::CREATED, no_store(), axum::Json(batch)).into_response())
}

async fn refill(
    State(issuer): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<tessera_issuer_api::RefillRequest>,
) -> Result<Response, ApiProblem> {
    let answer = issuer
        .refill(req, Some(client(&issuer, addr, &headers)))
        .await?;
    Ok((StatusCode::CREATED, no_store(), axum::Json(answer)).into_response())
}

async fn revoke_holder(
    State(issuer): State<AppState>,
    ApiJson(req): ApiJson<HolderRevokeRequest>,
) -> Result<Response, ApiProblem> {
    let r = issuer.revoke_by_holder(req).await?;
    Ok((no_store(), axum::Json(r)).into_response())
}

async fn revoke_admin(
    State(issuer): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<AdminRevokeRequest>,
) -> Result<Response, ApiProblem> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let r = issuer.revoke_by_admin(bearer, req).await?;
    Ok((no_store(), axum::Json(r)).into_response())
}

/// The client address for rate limits (see [`crate::config::client_ip`]).
fn client(issuer: &Issuer, addr: SocketAddr, headers: &HeaderMap) -> std::net::IpAddr {
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    crate::config::client_ip(addr.ip(), forwarded, &issuer.config.trusted_proxies)
}

/// `POST /v1/portraits`: a registered verifier sends a fresh upgraded presentation.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PortraitRequest {
    presentation: String,
}

async fn portrait(
    State(issuer): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<PortraitRequest>,
) -> Result<Response, ApiProblem> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let client = client(&issuer, addr, &headers);
    let p = issuer
        .portrait(key, &req.presentation, Some(client))
        .await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(p.content_type),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        p.bytes,
    )
        .into_response())
}

fn no_store() -> [(header::HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

/// A signed document with caching headers, or 304 when the client has it.
fn cacheable(doc: Signed, content_type: &'static str, headers: &HeaderMap) -> Response {
    let cache = HeaderValue::from_str(&format!("public, max-age={}", doc.max_age))
        .unwrap_or(HeaderValue::from_static("no-cache"));
    let etag = HeaderValue::from_str(&doc.etag).unwrap_or(HeaderValue::from_static("\"\""));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == doc.etag));
    if fresh {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::CACHE_CONTROL, cache), (header::ETAG, etag)],
        )
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, cache),
            (header::ETAG, etag),
        ],
        doc.bytes,
    )
        .into_response()
}

async fn trust_list(
    State(issuer): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiProblem> {
    let doc = issuer.trust_list()?;
    Ok(cacheable(
        doc,
        "application/tessera-trustlist+cwt",
        &headers,
    ))
}

async fn trust_list_key(State(issuer): State<AppState>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-pem-file"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        issuer.trust_list_key_pem(),
    )
        .into_response()
}

async fn status_list(
    State(issuer): State<AppState>,
    Path(list): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiProblem> {
    let list: u64 = list.parse().map_err(|_| {
        ApiProblem(Problem::new(
            ProblemType::NotFound,
            "status lists are numbered 1, 2, …",
        ))
    })?;
    let doc = issuer.status_list(list).await?;
    Ok(cacheable(doc, "application/statuslist+cwt", &headers))
}
