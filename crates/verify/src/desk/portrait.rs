//! The registry portrait, fetched by the desk server from the issuer's `POST /v1/portraits`
//! with this desk's API key, for logged-in staff and a recent valid upgraded verification.
//! The browser never sees the key, and the image is passed through, never stored or logged.
//!
//! The credential carries the SHA-256 of the registry photo it was issued with: the image is
//! shown only if it has that digest, so whoever sits between the desk and the issuer cannot
//! put another face in front of the clerk.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use super::Desk;
use super::problem::Problem;
use super::request::{AppState, staff, unknown_verification};

/// The issuer's problem type for a registry photo replaced since the credential was issued
/// (`tessera_issuer_api::ProblemType::PortraitChanged`).
const PORTRAIT_CHANGED: &str = "urn:tessera:problem:portrait-changed";

/// A registry portrait checked against the credential's digest.
pub(super) struct Portrait {
    /// The image.
    pub bytes: Bytes,
    /// `image/png` or `image/jpeg`.
    pub content_type: &'static str,
}

/// `GET /api/portrait/{verification}`.
pub(super) async fn portrait(
    State(desk): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    staff(&desk, &headers).await?;
    let p = fetch(&desk, &id).await?;
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

/// Fetches the portrait of pending verification `id` from the issuer (the caller checked
/// the staff session).
pub(super) async fn fetch(desk: &Desk, id: &str) -> Result<Portrait, Problem> {
    let (Some(base), Some(key)) = (&desk.issuer, &desk.issuer_key) else {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "no_issuer_key",
            "this desk is not registered with the issuer for portraits",
        ));
    };
    let pending = {
        let pending = desk.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending
            .get(id)
            .filter(|p| p.expires_at > desk.now())
            .map(|p| (p.text.clone(), p.claims.photo_sha256))
    };
    let Some((text, photo_sha256)) = pending else {
        return Err(unknown_verification());
    };
    let url = format!("{base}/v1/portraits");
    let r = desk
        .http
        .post(&url)
        .bearer_auth(key)
        .header(header::CONTENT_TYPE, "application/json")
        .body(serde_json::json!({ "presentation": text }).to_string())
        .send()
        .await
        .map_err(|e| {
            Problem::new(
                StatusCode::BAD_GATEWAY,
                "issuer_unreachable",
                format!("the issuer is unreachable: {}", e.without_url()),
            )
        })?;
    // The presentation and the API key go to the configured issuer only.
    if let Some(why) = crate::desk::http::redirect_refusal(&url, &r) {
        tracing::warn!("the issuer answered the portrait request with a redirect");
        return Err(Problem::new(
            StatusCode::BAD_GATEWAY,
            "issuer_redirected",
            why,
        ));
    }
    let status = r.status();
    let content_type = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = r.bytes().await.map_err(|e| {
        Problem::new(
            StatusCode::BAD_GATEWAY,
            "issuer_unreachable",
            e.without_url().to_string(),
        )
    })?;
    if !status.is_success() {
        let problem = serde_json::from_slice::<serde_json::Value>(&bytes).ok();
        if problem
            .as_ref()
            .and_then(|p| p.get("type"))
            .and_then(|t| t.as_str())
            == Some(PORTRAIT_CHANGED)
        {
            return Err(Problem::new(
                StatusCode::BAD_GATEWAY,
                "portrait_changed",
                "the registry photo has changed since this ID was issued, so it cannot be shown: \
                 check the guest's identity another way; the guest should renew their ID",
            ));
        }
        let detail = problem
            .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
            .unwrap_or_else(|| format!("HTTP {status}"));
        return Err(Problem::new(
            StatusCode::BAD_GATEWAY,
            "portrait_refused",
            format!("the issuer refused the portrait: {detail}"),
        ));
    }
    if Sha256::digest(&bytes).as_slice() != photo_sha256.as_slice() {
        // Not logged with anything about the guest: only that it happened.
        tracing::warn!(
            event = "portrait",
            outcome = "refused",
            "the portrait received is not the one the credential names"
        );
        return Err(Problem::new(
            StatusCode::BAD_GATEWAY,
            "portrait_mismatch",
            "the photo the desk received is not the photo this ID was issued with, so it is not \
             shown: check the guest's identity another way, and tell whoever runs this desk \
             (the connection to the issuer may be tampered with)",
        ));
    }
    let ct = match content_type.as_str() {
        "image/png" => "image/png",
        _ if crate::is_image(&bytes) => "image/jpeg",
        _ => {
            return Err(Problem::new(
                StatusCode::BAD_GATEWAY,
                "portrait_refused",
                "the issuer sent something that is not an image",
            ));
        }
    };
    Ok(Portrait {
        bytes,
        content_type: ct,
    })
}
