//! Problem details as HTTP responses, and a JSON extractor whose rejections are problems.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_issuer_api::{Problem, ProblemType};

/// A problem, as a response.
#[derive(Debug)]
pub struct ApiProblem(pub Problem);

impl From<Problem> for ApiProblem {
    fn from(p: Problem) -> Self {
        ApiProblem(p)
    }
}

impl IntoResponse for ApiProblem {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self
            .0
            .extra
            .as_ref()
            .and_then(|e| e.get("retry_after"))
            .and_then(serde_json::Value::as_u64);
        let body = serde_json::to_vec(&self.0).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(s) = retry_after
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// `Json<T>` whose failures are problem details (malformed, too large, wrong type).
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    axum::Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiProblem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => Err(ApiProblem(rejection_problem(&rejection))),
        }
    }
}

pub(super) fn too_large() -> Problem {
    Problem::new(
        ProblemType::PayloadTooLarge,
        "the request body is larger than this endpoint accepts: send fewer or smaller frames",
    )
}

fn rejection_problem(r: &JsonRejection) -> Problem {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    match r {
        JsonRejection::MissingJsonContentType(_) => Problem::new(
            ProblemType::Malformed,
            "send the body as JSON with Content-Type: application/json",
        ),
        other => Problem::new(ProblemType::Malformed, other.body_text()),
    }
}
