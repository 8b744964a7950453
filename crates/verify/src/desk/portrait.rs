//! The registry portrait, fetched by the desk server from the issuer's `POST /v1/portraits`
//! with this desk's API key, for logged-in staff and a recent valid upgraded verification.
//! The browser never sees the key, and the image is passed through, never stored or logged.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::api::{AppState, staff, unknown_verification};
use super::problem::Problem;

/// `GET /api/portrait/{verification}`.
pub(super) async fn portrait(
    State(desk): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    staff(&desk, &headers).await?;
    let (Some(base), Some(key)) = (&desk.issuer, &desk.issuer_key) else {
        return Err(Problem::new(
            StatusCode::CONFLICT,
            "no_issuer_key",
            "this desk is not registered with the issuer for portraits",
        ));
    };
    let text = {
        let pending = desk.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending
            .get(&id)
            .filter(|p| p.expires_at > desk.now())
            .map(|p| p.text.clone())
    };
    let Some(text) = text else {
        return Err(unknown_verification());
    };
    let r = desk
        .http
        .post(format!("{base}/v1/portraits"))
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
        let detail = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v.get("detail").and_then(|d| d.as_str()).map(str::to_owned))
            .unwrap_or_else(|| format!("HTTP {status}"));
        return Err(Problem::new(
            StatusCode::BAD_GATEWAY,
            "portrait_refused",
            format!("the issuer refused the portrait: {detail}"),
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
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(ct)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        bytes,
    )
        .into_response())
}
