//! Every failure of the REST API, folded into Salesforce's error body: a JSON array
//! of `{"message", "errorCode", "fields"}` (reference §6).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api_version::VersionError;
use crate::collections::MAX_RECORDS;
use crate::record_error::RecordError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    #[error("The requested resource does not exist")]
    NotFound,
    #[error("HTTP Method '{method}' not allowed. Allowed are {allowed}")]
    MethodNotAllowed { method: String, allowed: String },
    #[error("Session expired or invalid")]
    InvalidSession,
    #[error("Authorization header must be of the form 'Bearer <access token>'")]
    InvalidAuthHeader,
    #[error("TotalRequests Limit exceeded.")]
    RequestLimitExceeded,
    #[error("API version {0}.0 has been retired and is no longer available")]
    VersionRetired(u32),
    #[error("{0}")]
    JsonParser(String),
    #[error("record limit reached. cannot submit more than {MAX_RECORDS} records into this call")]
    TooManyRecords,
    #[error("{0}")]
    InvalidType(String),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("Server is temporarily unavailable; please try again later")]
    ServerUnavailable,
    #[error("An unexpected error occurred. Please include this ErrorId if you contact support")]
    Internal,
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::NotFound | ApiError::Record(RecordError::NoMatchForUpdateOnly) => {
                StatusCode::NOT_FOUND
            }
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::InvalidSession | ApiError::InvalidAuthHeader => StatusCode::UNAUTHORIZED,
            ApiError::RequestLimitExceeded => StatusCode::FORBIDDEN,
            ApiError::VersionRetired(_) => StatusCode::GONE,
            ApiError::ServerUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_code(&self) -> &'static str {
        match self {
            ApiError::NotFound => "NOT_FOUND",
            ApiError::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            ApiError::InvalidSession => "INVALID_SESSION_ID",
            ApiError::InvalidAuthHeader => "INVALID_AUTH_HEADER",
            ApiError::RequestLimitExceeded => "REQUEST_LIMIT_EXCEEDED",
            ApiError::VersionRetired(_) => "GONE",
            ApiError::JsonParser(_) => "JSON_PARSER_ERROR",
            ApiError::TooManyRecords => "EXCEEDED_ID_LIMIT",
            ApiError::InvalidType(_) => "INVALID_TYPE",
            ApiError::Record(error) => error.status_code(),
            ApiError::ServerUnavailable => "SERVER_UNAVAILABLE",
            ApiError::Internal => "UNKNOWN_EXCEPTION",
        }
    }

    fn fields(&self) -> Vec<String> {
        match self {
            ApiError::Record(error) => error.fields(),
            _ => Vec::new(),
        }
    }
}

impl From<VersionError> for ApiError {
    fn from(error: VersionError) -> ApiError {
        match error {
            VersionError::Retired(major) => ApiError::VersionRetired(major),
            VersionError::Unknown => ApiError::NotFound,
        }
    }
}

impl From<serde_json::Error> for ApiError {
    fn from(error: serde_json::Error) -> ApiError {
        ApiError::JsonParser(format!("Unexpected character or end of input: {error}"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!([{
            "message": self.to_string(),
            "errorCode": self.error_code(),
            "fields": self.fields(),
        }]);
        (self.status(), Json(body)).into_response()
    }
}
