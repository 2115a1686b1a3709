//! Turning Salesforce's answers into row outcomes.
//!
//! Create-only fields: the first request leaves them out, so an existing record keeps its
//! values. A record that turns out to be new gets them in a second request: when Salesforce
//! created it (`created: true`), or when it refused to create it because a required field was
//! missing and every missing field is a create-only one (a placeholder LastName, say). Only
//! records that are new cost the extra call. When the second request fails transiently after
//! the first created the record, the row remembers that it created the record, and its next
//! attempt sends every field at once.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Map, Value};

use super::SyncSettings;
use super::classify::{self, Disposition};
use crate::salesforce::{ApiError, RecordError, RecordResult};
use crate::store::{ClaimedRow, ErrorDetail, RowOutcome};

/// What became of one record of a request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Salesforce's result for the record.
    Record(RecordResult),
    /// The whole request failed.
    Request(RequestFailure),
    /// Not sent: shutdown began, or the lease was lost.
    NotSent,
}

/// Enough of a whole-request failure to settle each row with.
#[derive(Debug, Clone)]
pub struct RequestFailure {
    pub disposition: Disposition,
    pub detail: ErrorDetail,
}

impl RequestFailure {
    pub fn of(error: &ApiError) -> RequestFailure {
        RequestFailure {
            disposition: classify::api_error(error),
            detail: ErrorDetail::new(error.code(), error.to_string()),
        }
    }
}

/// After the first request for a row.
pub enum Step {
    Done(RowOutcome),
    /// Send again with this record, which includes the create-only fields; `created_id` is
    /// set when the first request created the record. `refused` names fields left out
    /// because Salesforce refused them on the existing record (they can be set only when a
    /// record is created, like Opportunity.ContactId): the record keeps its values.
    Again {
        record: Map<String, Value>,
        created_id: Option<String>,
        refused: Vec<String>,
    },
}

/// The record the first request sends: without the create-only fields, unless an earlier
/// attempt of this row created the record and could not add them.
pub fn first_record(row: &ClaimedRow) -> Map<String, Value> {
    let mut record = row.record.0.clone();
    if row.created_in_salesforce == Some(true) {
        record.extend(row.create_only.0.clone());
    }
    record
}

pub fn first_round(row: &ClaimedRow, answer: Answer, settings: &SyncSettings) -> Step {
    let create_only = &row.create_only.0;
    let created_before = row.created_in_salesforce == Some(true);
    match answer {
        Answer::Record(RecordResult::Saved { id, created: true })
            if !create_only.is_empty() && !created_before =>
        {
            let mut record = create_only.clone();
            record.insert(
                row.external_id_field.clone(),
                Value::from(row.external_id.clone()),
            );
            Step::Again {
                record,
                created_id: Some(id),
                refused: Vec::new(),
            }
        }
        Answer::Record(RecordResult::Saved { id, created }) => Step::Done(RowOutcome::Succeeded {
            salesforce_id: id,
            created: created || created_before,
        }),
        Answer::Record(RecordResult::Failed(errors))
            if needs_create_only_fields(&errors, create_only) =>
        {
            let mut record = row.record.0.clone();
            record.extend(create_only.clone());
            Step::Again {
                record,
                created_id: None,
                refused: Vec::new(),
            }
        }
        Answer::Record(RecordResult::Failed(errors))
            if !refused_fields(&errors, &first_record(row)).is_empty() =>
        {
            let mut record = first_record(row);
            let refused = refused_fields(&errors, &record);
            record.retain(|name, _| !refused.contains(name));
            Step::Again {
                record,
                created_id: None,
                refused,
            }
        }
        other => Step::Done(settle_answer(row, other, settings, None)),
    }
}

/// The outcome after the second request: the one that carried the create-only fields, or
/// the one sent without the fields Salesforce refused on an existing record.
pub fn second_round(
    row: &ClaimedRow,
    answer: Answer,
    created_id: Option<String>,
    refused: &[String],
    settings: &SyncSettings,
) -> RowOutcome {
    if !refused.is_empty() {
        return without_refused(row, answer, refused, settings);
    }
    match answer {
        // The record is new: either this request created it, or the first one did.
        Answer::Record(RecordResult::Saved { id, .. }) => RowOutcome::Succeeded {
            salesforce_id: id,
            created: true,
        },
        other => settle_answer(row, other, settings, created_id),
    }
}

fn without_refused(
    row: &ClaimedRow,
    answer: Answer,
    refused: &[String],
    settings: &SyncSettings,
) -> RowOutcome {
    match answer {
        Answer::Record(RecordResult::Saved { id, created: false }) => {
            tracing::info!(
                row = row.id,
                fields = ?refused,
                "the record kept fields Salesforce sets only on create"
            );
            RowOutcome::Succeeded {
                salesforce_id: id,
                created: false,
            }
        }
        // Refused on create too: the mapping writes a field the user may not set at all.
        Answer::Record(RecordResult::Saved { .. }) => RowOutcome::Failed(ErrorDetail {
            code: "INVALID_FIELD_FOR_INSERT_UPDATE".to_owned(),
            message: format!(
                "the record was created without {}, which Salesforce refused to set",
                refused.join(", ")
            ),
            fields: refused.to_vec(),
        }),
        other => settle_answer(row, other, settings, None),
    }
}

/// The record's keys for the fields Salesforce refused as not settable in this operation,
/// when every error is of that kind and every field it names is one the record carries.
fn refused_fields(errors: &[RecordError], record: &Map<String, Value>) -> Vec<String> {
    let mut keys = Vec::new();
    for error in errors {
        if error.status_code != "INVALID_FIELD_FOR_INSERT_UPDATE" || error.fields.is_empty() {
            return Vec::new();
        }
        for field in &error.fields {
            match record_key(record, field) {
                Some(key) => keys.push(key),
                None => return Vec::new(),
            }
        }
    }
    keys
}

/// The key under which the record sets `field`: the field itself, or the relationship that
/// sets it by external id (`Contact` for ContactId, `Contact__r` for Contact__c).
fn record_key(record: &Map<String, Value>, field: &str) -> Option<String> {
    let relationship = match (field.strip_suffix("__c"), field.strip_suffix("Id")) {
        (Some(custom), _) => Some(format!("{custom}__r")),
        (None, Some(standard)) => Some(standard.to_owned()),
        _ => None,
    };
    std::iter::once(field.to_owned())
        .chain(relationship)
        .find(|key| record.contains_key(key))
}

/// The outcome of a failed answer, or of a success with nothing more to do.
pub fn settle_answer(
    row: &ClaimedRow,
    answer: Answer,
    settings: &SyncSettings,
    created_id: Option<String>,
) -> RowOutcome {
    match answer {
        Answer::Record(RecordResult::Saved { id, created }) => RowOutcome::Succeeded {
            salesforce_id: id,
            created,
        },
        Answer::Record(RecordResult::Failed(errors)) => {
            let disposition = classify::record_errors(&errors);
            settle(row, disposition, detail(&errors), settings, created_id)
        }
        Answer::Request(failure) => settle(
            row,
            failure.disposition,
            failure.detail,
            settings,
            created_id,
        ),
        Answer::NotSent => RowOutcome::Released,
    }
}

/// A create refused only for lack of fields that are held back as create-only.
fn needs_create_only_fields(errors: &[RecordError], create_only: &Map<String, Value>) -> bool {
    !create_only.is_empty()
        && errors.iter().all(|error| {
            error.status_code == "REQUIRED_FIELD_MISSING"
                && !error.fields.is_empty()
                && error
                    .fields
                    .iter()
                    .all(|field| create_only.contains_key(field))
        })
}

/// A failed attempt becomes a retry, unless the failure is permanent or the row is too old.
fn settle(
    row: &ClaimedRow,
    disposition: Disposition,
    detail: ErrorDetail,
    settings: &SyncSettings,
    created_id: Option<String>,
) -> RowOutcome {
    if disposition == Disposition::GiveUp {
        return RowOutcome::Failed(detail);
    }
    let age = (Utc::now() - row.retry_since)
        .to_std()
        .unwrap_or(Duration::ZERO);
    if age >= settings.max_age {
        return RowOutcome::Dead(detail);
    }
    let delay = settings.backoff.delay(row.attempts.max(0) as u32);
    RowOutcome::Retry {
        at: Utc::now() + delay,
        error: detail,
        created_id,
    }
}

/// One stored error for all of a record's errors: the first code, every message, every field.
pub fn detail(errors: &[RecordError]) -> ErrorDetail {
    let code = errors.first().map_or("UNKNOWN", |e| e.status_code.as_str());
    let message: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    let mut fields: Vec<String> = errors.iter().flat_map(|e| e.fields.clone()).collect();
    fields.dedup();
    ErrorDetail {
        code: code.to_owned(),
        message: message.join("; "),
        fields,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sqlx::types::Json;

    fn row(created_before: Option<bool>) -> ClaimedRow {
        let object = |value: Value| value.as_object().cloned().unwrap();
        ClaimedRow {
            id: 1,
            event_id: 1,
            step: 0,
            operation: "upsert".to_owned(),
            sobject: "Contact".to_owned(),
            external_id_field: "Strex_MSISDN__c".to_owned(),
            external_id: "+4790000001".to_owned(),
            record: Json(object(
                json!({"Strex_MSISDN__c": "+4790000001", "MobilePhone": "1"}),
            )),
            create_only: Json(object(json!({"Strex_Subscribed_At__c": "2025-03-12"}))),
            attempts: 1,
            retry_since: Utc::now(),
            created_in_salesforce: created_before,
            salesforce_id: None,
            lease_token: uuid::Uuid::new_v4(),
        }
    }

    fn unavailable() -> Answer {
        Answer::Request(RequestFailure {
            disposition: Disposition::Retry,
            detail: ErrorDetail::new("SERVER_UNAVAILABLE", "down"),
        })
    }

    #[test]
    fn a_record_created_by_the_first_request_gets_its_create_only_fields_next() {
        let row = row(None);
        let created = Answer::Record(RecordResult::Saved {
            id: "003A".to_owned(),
            created: true,
        });

        let step = first_round(&row, created, &SyncSettings::default());

        let Step::Again {
            record, created_id, ..
        } = step
        else {
            panic!("no second request");
        };
        assert_eq!(created_id.as_deref(), Some("003A"));
        assert_eq!(
            Value::Object(record),
            json!({"Strex_Subscribed_At__c": "2025-03-12", "Strex_MSISDN__c": "+4790000001"})
        );
    }

    #[test]
    fn a_failed_second_request_remembers_the_record_it_created() {
        let row = row(None);

        let outcome = second_round(
            &row,
            unavailable(),
            Some("003A".to_owned()),
            &[],
            &SyncSettings::default(),
        );

        let RowOutcome::Retry { created_id, .. } = outcome else {
            panic!("not retried: {outcome:?}");
        };
        assert_eq!(created_id.as_deref(), Some("003A"));
    }

    #[test]
    fn the_next_attempt_sends_every_field_and_counts_the_record_as_created() {
        let row = row(Some(true));
        let updated = Answer::Record(RecordResult::Saved {
            id: "003A".to_owned(),
            created: false,
        });

        let record = first_record(&row);
        let step = first_round(&row, updated, &SyncSettings::default());

        assert!(record.contains_key("Strex_Subscribed_At__c"));
        assert!(matches!(
            step,
            Step::Done(RowOutcome::Succeeded { created: true, .. })
        ));
    }

    #[test]
    fn a_passing_failure_past_the_retry_age_is_dead() {
        let mut row = row(None);
        row.retry_since = Utc::now() - chrono::Duration::hours(73);

        let outcome = settle_answer(&row, unavailable(), &SyncSettings::default(), None);

        assert!(matches!(outcome, RowOutcome::Dead(detail) if detail.code == "SERVER_UNAVAILABLE"));
    }
}
