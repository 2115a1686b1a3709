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
    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status: StatusCode::BAD_REQUEST,
            code,
            detail: detail.into(),
            retry_after: None,
        }
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
