//! The one shape of every error answer: a machine `code` and a human `detail`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answer.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// Seconds the client should wait before trying again.
    pub retry_after: Option<u32>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            code,
            detail: detail.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, code, detail)
    }

    /// The request did not prove it comes from Strex (or, on the admin listener, from an
    /// operator). Strex retries a 401 like any other non-200.
    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, code, detail)
    }

    /// Too many requests are already being handled; the sender should come back shortly
    /// instead of waiting in an unbounded queue.
    pub fn overloaded() -> Problem {
        Problem {
            retry_after: Some(1),
            ..Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "too many requests in flight; send it again shortly",
            )
        }
    }

    pub fn not_found() -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
    }

    pub fn method_not_allowed() -> Problem {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this endpoint does not take that method",
        )
    }

    /// Postgres could not take the forward; Strex retries anything that is not a 200.
    pub fn storage_unavailable() -> Problem {
        Problem {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "storage_unavailable",
            detail: "the forward could not be stored; send it again".to_owned(),
            retry_after: Some(5),
        }
    }

    /// The answer, naming the stored event when there is one.
    pub fn into_response_with_event(self, event_id: Option<i64>) -> Response {
        let mut body = json!({ "code": self.code, "detail": self.detail });
        if let Some(id) = event_id {
            body["event_id"] = json!(id);
        }
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        self.into_response_with_event(None)
    }
}

/// The body of every error answer, as the OpenAPI document describes it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ProblemBody {
    /// A machine-readable reason, such as `bad_signature` or `storage_unavailable`.
    pub code: String,
    /// What went wrong and what to do about it.
    pub detail: String,
    /// The stored event, when a rejected forward was kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<i64>,
}
