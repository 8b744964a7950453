//! The desk's HTTP API (JSON; errors as RFC 9457 problems) and its security headers.
//! Every state-changing request needs the CSRF header; staff-only routes need a session.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tessera_body_limit::{self as body_limit, BodyLimit, Refusal};

use super::auth::{self, CSRF_COOKIE, SESSION_COOKIE};
use super::problem::Problem;
use super::request::{AppState, body, csrf, json, staff, too_large};
use super::verdict::DeskVerdict;
use super::{Desk, web};

/// JSON bodies (a QR text, a login, a check-in).
pub const TEXT_BODY: usize = 16 * 1024;
/// An uploaded photo or a webcam frame.
pub const IMAGE_BODY: usize = 8 * 1024 * 1024;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; media-src 'self' blob:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The router for `desk`.
pub fn router(desk: Arc<Desk>) -> Router {
    let limit = BodyLimit::new(
        |req| match req.uri().path() {
            "/api/verify-image" => IMAGE_BODY,
            p if p.starts_with("/api/face-check/") => super::face_check::BODY_LIMIT,
            _ => TEXT_BODY,
        },
        |refusal| match refusal {
            Refusal::TooLarge => too_large().into_response(),
            Refusal::Unreadable => Problem::new(
                StatusCode::BAD_REQUEST,
                "incomplete_request",
                "the request body could not be read to its end",
            )
            .into_response(),
            Refusal::TimedOut => Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                "incomplete_request",
                "the request body did not arrive in time",
            )
            .into_response(),
        },
    );
    Router::new()
        .route("/", get(web::index))
        .route("/app.js", get(web::app_js))
        .route("/i18n.js", get(web::i18n_js))
        .route("/style.css", get(web::style_css))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(web::openapi))
        .route("/api/session", get(session))
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/verify", post(verify_text))
        .route("/api/verify-image", post(verify_image))
        .route("/api/portrait/{id}", get(super::portrait::portrait))
        .route("/api/face-check/{id}", post(super::face_check::face_check))
        .route(
            "/api/face-check/{id}/reference",
            post(super::face_check::prepare),
        )
        .route(
            "/api/checkins",
            get(super::register::list_checkins).post(super::register::check_in),
        )
        .route("/api/checkins.csv", get(super::register::export_csv))
        .fallback(not_found)
        // `enforce` has read each body within its limit already.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn_with_state(limit, body_limit::enforce))
        .layer(middleware::from_fn(headers_and_log))
        .with_state(desk)
}

/// Security headers on every response, and one log line per request: method, route
/// template, status and time — never bodies, cookies or QR texts.
async fn headers_and_log(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let mut response = plain_errors_as_problems(next.run(req).await);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"),
    );
    if route.starts_with("/api/") {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1e3,
        "request"
    );
    response
}

/// Refusals axum makes by itself — a method the route does not take (405, empty), a path
/// parameter that is not text (400, text/plain) — become problem details like every other
/// error of the API, so a client reads them all one way.
fn plain_errors_as_problems(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"application/problem+json"));
    if !status.is_client_error() || is_problem {
        return response;
    }
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut r = if status == StatusCode::METHOD_NOT_ALLOWED {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this address does not take that method",
        )
        .into_response()
    } else {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the request's address or headers are not what this desk expects",
        )
        .into_response()
    };
    if let Some(allow) = allow {
        r.headers_mut().insert(header::ALLOW, allow);
    }
    r
}

async fn healthz() -> Response {
    axum::Json(serde_json::json!({"status": "ok"})).into_response()
}

async fn not_found() -> Problem {
    Problem::new(StatusCode::NOT_FOUND, "not_found", "no such page")
}

async fn session(State(desk): State<AppState>, headers: HeaderMap) -> Response {
    let staff = staff(&desk, &headers).await.ok();
    let (csrf, set) = match auth::cookie(&headers, CSRF_COOKIE) {
        Some(t) => (t.to_owned(), None),
        None => {
            let t = auth::new_token();
            let c = auth::set_cookie(CSRF_COOKIE, &t, 86_400, desk.policy.secure_cookies);
            (t, Some(c))
        }
    };
    let now = desk.now();
    let cache_age = desk
        .cache
        .snapshot()
        .map(|s| now.saturating_sub(s.fetched_at));
    let body = axum::Json(serde_json::json!({
        "staff": staff,
        "csrf": csrf,
        "cache_age": cache_age,
        "max_cache_age": desk.policy.max_cache_age_seconds,
        "required_tier": desk.required_tier,
        "accepted_tiers": desk.accepted_tiers,
        "online_status_required": desk.policy.online_status_required,
        "portrait_enabled": desk.issuer_key.is_some(),
        "require_face_match": desk.policy.require_face_match,
        "verdict_clear_seconds": desk.policy.verdict_clear_seconds,
        "require_hardware_keys": desk.policy.require_hardware_keys,
    }));
    let mut r = body.into_response();
    if let Some(c) = set
        && let Ok(v) = HeaderValue::from_str(&c)
    {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    name: String,
    password: String,
}

async fn login(
    State(desk): State<AppState>,
    headers: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> Result<Response, Problem> {
    csrf(&headers)?;
    let req: Login = json(b)?;
    // Whether the name is a staff account decides which back-off table counts it (see
    // `LoginThrottle`); both answer alike.
    let phc = desk
        .store
        .staff_phc(&req.name)
        .await
        .map_err(Problem::internal)?;
    let wait = desk.throttle.wait(&req.name, phc.is_some(), desk.now());
    if wait > 0 {
        let mut r = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            format!("too many wrong passwords: try again in {wait} s"),
        )
        .into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return Ok(r);
    }
    let known = phc.is_some();
    let phc = phc.unwrap_or_else(|| auth::dummy_phc().to_owned());
    // Argon2id takes tens of milliseconds of CPU: off the async workers.
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&req.password, &phc))
        .await
        .map_err(Problem::internal)?;
    if !(ok && known) {
        desk.throttle.failed(&req.name, known, desk.now());
        tracing::info!(outcome = "refused", "staff login");
        return Err(Problem::new(
            StatusCode::UNAUTHORIZED,
            "bad_login",
            "wrong name or password",
        ));
    }
    desk.throttle.succeeded(&req.name);
    let token = auth::new_token();
    let max_age = desk.policy.session_minutes * 60;
    desk.store
        .create_session(&auth::token_hash(&token), &req.name, desk.now() + max_age)
        .await
        .map_err(Problem::internal)?;
    tracing::info!(outcome = "accepted", "staff login");
    // A new CSRF token with the new session (no fixation from before the login).
    let csrf = auth::new_token();
    let secure = desk.policy.secure_cookies;
    let mut r = axum::Json(serde_json::json!({"staff": req.name, "csrf": csrf})).into_response();
    for c in [
        auth::set_cookie(SESSION_COOKIE, &token, max_age, secure),
        auth::set_cookie(CSRF_COOKIE, &csrf, 86_400, secure),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(r)
}

async fn logout(State(desk): State<AppState>, headers: HeaderMap) -> Result<Response, Problem> {
    csrf(&headers)?;
    if let Some(token) = auth::cookie(&headers, SESSION_COOKIE) {
        desk.store
            .end_session(&auth::token_hash(token))
            .await
            .map_err(Problem::internal)?;
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    let c = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&c) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(r)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyText {
    text: String,
}

async fn verify_text(
    State(desk): State<AppState>,
    headers: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<DeskVerdict>, Problem> {
    csrf(&headers)?;
    let req: VerifyText = json(b)?;
    let v = desk
        .verify_text(&req.text, desk.now())
        .await
        .map_err(Problem::internal)?;
    Ok(axum::Json(v))
}

async fn verify_image(
    State(desk): State<AppState>,
    headers: HeaderMap,
    b: Result<Bytes, BytesRejection>,
) -> Result<axum::Json<DeskVerdict>, Problem> {
    csrf(&headers)?;
    let bytes = body(b)?;
    if !crate::is_image(&bytes) {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not_an_image",
            "this is not a PNG or JPEG image",
        ));
    }
    let started = Instant::now();
    let decoded = tokio::task::spawn_blocking(move || tessera_qr::decode_image(&bytes))
        .await
        .map_err(Problem::internal)?;
    let decode_ms = started.elapsed().as_secs_f64() * 1e3;
    let now = desk.now();
    let mut v = match decoded {
        Ok(text) => desk
            .verify_text(&text, now)
            .await
            .map_err(Problem::internal)?,
        Err(tessera_qr::ReadError::NoQrCode) => {
            let age = desk
                .cache
                .snapshot()
                .map(|s| now.saturating_sub(s.fetched_at));
            DeskVerdict::invalid("no_qr_code", "no QR code found in the image", age)
        }
        Err(e) => {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unreadable_image",
                format!("the image cannot be read: {e}"),
            ));
        }
    };
    v.decode_ms = Some(decode_ms);
    Ok(axum::Json(v))
}
