//! Bounds on what one forward request may cost: body size, how long its body may take to
//! arrive, its media type, and how many requests are handled at once.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::server::problem::Problem;

/// Largest forward body accepted; Strex's forwards are a few kilobytes.
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// How long the body of one request may take to arrive.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send a request's headers before its connection is closed.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Forward requests handled at once; more are answered 503 at once rather than queued.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

/// The limits of the forward endpoints.
#[derive(Debug, Clone)]
pub struct ReceiveLimits {
    pub body_limit: usize,
    pub body_timeout: Duration,
    pub header_timeout: Duration,
    pub max_in_flight: usize,
}

impl Default for ReceiveLimits {
    fn default() -> Self {
        ReceiveLimits {
            body_limit: DEFAULT_BODY_LIMIT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
        }
    }
}

impl ReceiveLimits {
    /// The raw body, or the answer for a body that is too large or too slow.
    pub async fn read_body(&self, headers: &HeaderMap, body: Body) -> Result<Bytes, Problem> {
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.body_limit as u64) {
            return Err(self.too_large());
        }
        let limited = Limited::new(body, self.body_limit);
        match tokio::time::timeout(self.body_timeout, limited.collect()).await {
            Err(_) => Err(Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                format!(
                    "the body did not arrive within {} s",
                    self.body_timeout.as_secs_f32()
                ),
            )),
            Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => {
                Err(self.too_large())
            }
            Ok(Err(_)) => Err(Problem::bad_request(
                "body_unreadable",
                "the body could not be read",
            )),
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
        }
    }

    fn too_large(&self) -> Problem {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the body is larger than {} bytes", self.body_limit),
        )
    }

    /// The semaphore shared by both forward routes.
    pub fn in_flight_permits(&self) -> Arc<tokio::sync::Semaphore> {
        Arc::new(tokio::sync::Semaphore::new(self.max_in_flight.max(1)))
    }
}

/// Forwards are JSON (`application/json`, any parameters such as `charset=utf-8`; a
/// `+json` suffix type is accepted too). A UTF-8 byte-order mark in the body is accepted
/// by the parser.
pub fn require_json(headers: &HeaderMap) -> Result<(), Problem> {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase());
    let is_json = media_type.as_deref().is_some_and(|media| {
        media == "application/json"
            || (media.starts_with("application/") && media.ends_with("+json"))
    });
    if is_json {
        return Ok(());
    }
    Err(Problem::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "forwards must be sent as Content-Type: application/json",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_content_type(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, value.parse().unwrap());
        headers
    }

    #[test]
    fn json_with_or_without_a_charset_is_accepted() {
        for value in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON;charset=UTF-8",
        ] {
            assert!(require_json(&with_content_type(value)).is_ok(), "{value}");
        }
    }

    #[test]
    fn other_media_types_and_none_are_refused() {
        for value in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "json",
        ] {
            let refused = require_json(&with_content_type(value)).unwrap_err();
            assert_eq!(
                refused.status,
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{value}"
            );
        }
        assert!(require_json(&HeaderMap::new()).is_err());
    }
}
