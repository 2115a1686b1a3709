//! Which Salesforce failures are worth retrying.
//!
//! Transient failures (the platform busy, a row locked, the API allocation exhausted, the
//! network) are retried with backoff; data errors (a missing required field, a bad picklist
//! value, a value too long) would fail the same way every time and end the row at once.

use crate::salesforce::{ApiError, RecordError};

/// What to do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Send again later.
    Retry,
    /// Give up on the row; an operator must fix the data or the mapping.
    GiveUp,
}

/// Per-record error codes Salesforce documents as temporary.
const TRANSIENT_RECORD_CODES: [&str; 8] = [
    "UNABLE_TO_LOCK_ROW",
    "SERVER_UNAVAILABLE",
    "REQUEST_LIMIT_EXCEEDED",
    "TOO_MANY_APEX_REQUESTS",
    "API_CURRENTLY_DISABLED",
    "INSERT_UPDATE_DELETE_NOT_ALLOWED_DURING_MAINTENANCE",
    "UNKNOWN_EXCEPTION",
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
];

/// The disposition of a record's errors: retry only if every error is transient.
pub fn record_errors(errors: &[RecordError]) -> Disposition {
    let all_transient = !errors.is_empty() && errors.iter().all(is_transient_record_error);
    if all_transient {
        Disposition::Retry
    } else {
        Disposition::GiveUp
    }
}

fn is_transient_record_error(error: &RecordError) -> bool {
    TRANSIENT_RECORD_CODES.contains(&error.status_code.as_str()) || is_parent_not_found(error)
}

/// A lookup by the parent's external id whose parent does not exist yet: it may be created
/// by a later forward (or by someone in Salesforce), so the child waits.
pub fn is_parent_not_found(error: &RecordError) -> bool {
    error.status_code == "INVALID_FIELD" && error.message.starts_with("Foreign key external ID")
}

/// The disposition of a failure of the whole request.
pub fn api_error(error: &ApiError) -> Disposition {
    match error {
        ApiError::Transport(_)
        | ApiError::SessionRefused
        | ApiError::Auth(_)
        | ApiError::Protocol(_) => Disposition::Retry,
        ApiError::Refused { status, errors } => {
            let limit = errors
                .iter()
                .any(|e| e.error_code == "REQUEST_LIMIT_EXCEEDED");
            if *status >= 500 || *status == 429 || limit {
                Disposition::Retry
            } else {
                Disposition::GiveUp
            }
        }
        // Maintenance pages and proxies answer with HTML; only a server-side status is
        // worth waiting for.
        ApiError::Unexpected { status, .. } => {
            if *status >= 500 || *status == 408 || *status == 429 {
                Disposition::Retry
            } else {
                Disposition::GiveUp
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::salesforce::SalesforceErrorItem;

    fn record_error(code: &str, message: &str) -> RecordError {
        RecordError {
            status_code: code.to_owned(),
            message: message.to_owned(),
            fields: Vec::new(),
        }
    }

    #[test]
    fn locked_rows_are_retried_and_data_errors_are_not() {
        assert_eq!(
            record_errors(&[record_error("UNABLE_TO_LOCK_ROW", "")]),
            Disposition::Retry
        );
        assert_eq!(
            record_errors(&[record_error("REQUIRED_FIELD_MISSING", "")]),
            Disposition::GiveUp
        );
        assert_eq!(
            record_errors(&[
                record_error("UNABLE_TO_LOCK_ROW", ""),
                record_error("STRING_TOO_LONG", "")
            ]),
            Disposition::GiveUp
        );
    }

    #[test]
    fn a_missing_parent_is_retried_but_an_unknown_field_is_not() {
        let parent = record_error(
            "INVALID_FIELD",
            concat!(
                "Foreign key external ID: +4700000001 not found ",
                "for field Strex_MSISDN__c in entity Contact"
            ),
        );
        let unknown = record_error(
            "INVALID_FIELD",
            "No such column 'Foo__c' on sobject of type Contact",
        );

        assert_eq!(record_errors(&[parent]), Disposition::Retry);
        assert_eq!(record_errors(&[unknown]), Disposition::GiveUp);
    }

    #[test]
    fn server_errors_and_limits_are_retried_and_bad_requests_are_not() {
        let refused = |status, code: &str| ApiError::Refused {
            status,
            errors: vec![SalesforceErrorItem {
                error_code: code.to_owned(),
                message: String::new(),
                fields: Vec::new(),
            }],
        };
        let html = ApiError::Unexpected {
            status: 503,
            excerpt: "<html>maintenance</html>".to_owned(),
        };

        assert_eq!(
            api_error(&refused(503, "SERVER_UNAVAILABLE")),
            Disposition::Retry
        );
        assert_eq!(
            api_error(&refused(403, "REQUEST_LIMIT_EXCEEDED")),
            Disposition::Retry
        );
        assert_eq!(api_error(&html), Disposition::Retry);
        assert_eq!(
            api_error(&refused(400, "JSON_PARSER_ERROR")),
            Disposition::GiveUp
        );
        assert_eq!(api_error(&refused(404, "NOT_FOUND")), Disposition::GiveUp);
    }
}
