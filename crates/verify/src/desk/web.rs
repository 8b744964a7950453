//! The front-desk page, embedded in the binary: nothing is fetched from anywhere else.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

pub async fn index() -> Response {
    asset(
        "text/html; charset=utf-8",
        include_str!("../../web/index.html"),
    )
}

pub async fn app_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../web/app.js"),
    )
}

pub async fn i18n_js() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("../../web/i18n.js"),
    )
}

pub async fn style_css() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("../../web/style.css"),
    )
}

/// `GET /openapi.json`: the OpenAPI 3.1 description of the desk's HTTP API, for whoever
/// integrates with it (a property-management system); no session needed.
pub async fn openapi() -> Response {
    asset("application/json", include_str!("openapi.json"))
}
