//! RFC 9457 problem details for the desk API (`application/problem+json`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A problem: a stable `type` slug the page words in the user's language, and a detail.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// `urn:tessera:desk:<slug>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Short title.
    pub title: &'static str,
    /// HTTP status.
    pub status: u16,
    /// For people.
    pub detail: String,
    /// The slug alone, for the page.
    pub code: &'static str,
}

impl Problem {
    /// A problem of `status` with slug `code`.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            type_uri: format!("urn:tessera:desk:{code}"),
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            code,
        }
    }

    /// The server failed (logged without request data).
    pub fn internal(e: impl std::fmt::Display) -> Problem {
        tracing::error!(error = %e, "internal error");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the desk server failed; please try again",
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&self).unwrap_or_default();
        (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/problem+json"),
            )],
            body,
        )
            .into_response()
    }
}
