//! What every handler of the desk API checks first: the CSRF double submit, the staff
//! session, the body's size and JSON shape; and the problems they answer with.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};

use super::Desk;
use super::auth;
use super::problem::Problem;

pub(super) type AppState = Arc<Desk>;

pub(super) fn csrf(headers: &HeaderMap) -> Result<(), Problem> {
    if auth::csrf_ok(headers) {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "this request is missing its CSRF token: reload the page",
        ))
    }
}

pub(super) async fn staff(desk: &Desk, headers: &HeaderMap) -> Result<String, Problem> {
    let Some(token) = auth::cookie(headers, auth::SESSION_COOKIE) else {
        return Err(login_required());
    };
    desk.store
        .session(&auth::token_hash(token), desk.now())
        .await
        .map_err(Problem::internal)?
        .ok_or_else(login_required)
}

fn login_required() -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "login_required",
        "staff login required",
    )
}

pub(super) fn too_large() -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        "the request is larger than this desk accepts",
    )
}

/// A body within its limit, or a problem saying it is too large.
pub(super) fn body(b: Result<Bytes, BytesRejection>) -> Result<Bytes, Problem> {
    b.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            Problem::new(StatusCode::BAD_REQUEST, "bad_request", e.body_text())
        }
    })
}

pub(super) fn json<T: serde::de::DeserializeOwned>(
    b: Result<Bytes, BytesRejection>,
) -> Result<T, Problem> {
    let bytes = body(b)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            format!("the request is not the expected JSON: {e}"),
        )
    })
}

pub(super) fn unknown_verification() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "unknown_verification",
        "this verification is unknown or too old: scan the code again",
    )
}
