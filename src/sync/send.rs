//! Sending one claimed batch and turning Salesforce's answers into row outcomes.
//!
//! Create-only fields: the first request leaves them out, so an existing record keeps its
//! values. A record that turns out to be new gets them in a second request: when Salesforce
//! created it (`created: true`), or when it refused to create it because a required field was
//! missing and every missing field is a create-only one (a placeholder LastName, say). Only
//! records that are new cost the extra call.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use serde_json::{Map, Value};

use super::SyncSettings;
use super::classify::{self, Disposition};
use crate::salesforce::{ApiError, RecordError, RecordResult, SalesforceClient};
use crate::store::sync_log::ErrorDetail;
use crate::store::{ClaimedRow, RowOutcome};

/// Sends a batch claimed for one object, external-id field and operation.
#[tracing::instrument(skip_all, fields(sobject, rows = rows.len()))]
pub async fn send_batch(
    salesforce: &SalesforceClient,
    settings: &SyncSettings,
    rows: Vec<ClaimedRow>,
) -> Vec<(ClaimedRow, RowOutcome)> {
    if let Some(first) = rows.first() {
        tracing::Span::current().record("sobject", first.sobject.as_str());
    }
    let (unique, repeated) = split_repeated_records(rows);
    let mut outcomes: Vec<(ClaimedRow, RowOutcome)> = repeated
        .into_iter()
        .map(|row| (row, RowOutcome::Released))
        .collect();
    let sent = match unique.first().map(|row| row.operation.as_str()) {
        Some("update") => send_updates(salesforce, settings, unique).await,
        Some(_) => send_upserts(salesforce, settings, unique).await,
        None => Vec::new(),
    };
    outcomes.extend(sent);
    outcomes
}

/// Salesforce fails both copies when one request carries the same external id twice, so
/// only the oldest row per record goes now; the others wait for the next batch.
fn split_repeated_records(rows: Vec<ClaimedRow>) -> (Vec<ClaimedRow>, Vec<ClaimedRow>) {
    let mut seen = HashSet::new();
    rows.into_iter()
        .partition(|row| seen.insert(row.external_id.clone()))
}

async fn send_upserts(
    salesforce: &SalesforceClient,
    settings: &SyncSettings,
    rows: Vec<ClaimedRow>,
) -> Vec<(ClaimedRow, RowOutcome)> {
    let records: Vec<Map<String, Value>> = rows.iter().map(|row| row.record.0.clone()).collect();
    let results = collections(salesforce, &rows, &records).await;
    let mut outcomes = Vec::with_capacity(rows.len());
    let mut second_round = Vec::new();
    for (row, result) in rows.into_iter().zip(results) {
        match first_round_outcome(&row, result, settings) {
            Step::Done(outcome) => outcomes.push((row, outcome)),
            Step::Again(record, purpose) => second_round.push((row, record, purpose)),
        }
    }
    outcomes.extend(send_second_round(salesforce, settings, second_round).await);
    outcomes
}

/// A result per row: either Salesforce's, or the failure of the whole request.
async fn collections(
    salesforce: &SalesforceClient,
    rows: &[ClaimedRow],
    records: &[Map<String, Value>],
) -> Vec<Result<RecordResult, ApiErrorSummary>> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    match salesforce
        .upsert_collection(&first.sobject, &first.external_id_field, records)
        .await
    {
        Ok(results) => results.into_iter().map(Ok).collect(),
        Err(error) => {
            tracing::warn!(%error, sobject = %first.sobject, rows = rows.len(), "collections upsert failed");
            let summary = ApiErrorSummary::of(&error);
            rows.iter().map(|_| Err(summary.clone())).collect()
        }
    }
}

/// Enough of a whole-request failure to settle each row with.
#[derive(Debug, Clone)]
struct ApiErrorSummary {
    disposition: Disposition,
    detail: ErrorDetail,
}

impl ApiErrorSummary {
    fn of(error: &ApiError) -> ApiErrorSummary {
        ApiErrorSummary {
            disposition: classify::api_error(error),
            detail: ErrorDetail::new(error.code(), error.to_string()),
        }
    }
}

enum Step {
    Done(RowOutcome),
    /// Send again with this record.
    Again(Map<String, Value>, Purpose),
}

/// Why a record goes out a second time.
enum Purpose {
    /// The record is new: it now gets its create-only fields.
    CreateOnly,
    /// The record exists and Salesforce refused to update these fields (they can be set only
    /// when a record is created, like Opportunity.ContactId); it goes again without them.
    WithoutRefused(Vec<String>),
}

fn first_round_outcome(
    row: &ClaimedRow,
    result: Result<RecordResult, ApiErrorSummary>,
    settings: &SyncSettings,
) -> Step {
    let create_only = &row.create_only.0;
    match result {
        Ok(RecordResult::Saved { created: true, .. }) if !create_only.is_empty() => {
            let mut record = create_only.clone();
            record.insert(
                row.external_id_field.clone(),
                Value::from(row.external_id.clone()),
            );
            Step::Again(record, Purpose::CreateOnly)
        }
        Ok(RecordResult::Saved { id, created }) => Step::Done(RowOutcome::Succeeded {
            salesforce_id: id,
            created,
        }),
        Ok(RecordResult::Failed(errors)) if needs_create_only_fields(&errors, create_only) => {
            let mut record = row.record.0.clone();
            record.extend(create_only.clone());
            Step::Again(record, Purpose::CreateOnly)
        }
        Ok(RecordResult::Failed(errors)) if !refused_fields(&errors, &row.record.0).is_empty() => {
            let refused = refused_fields(&errors, &row.record.0);
            let mut record = row.record.0.clone();
            record.retain(|name, _| !refused.contains(name));
            Step::Again(record, Purpose::WithoutRefused(refused))
        }
        Ok(RecordResult::Failed(errors)) => Step::Done(failure(row, &errors, settings)),
        Err(summary) => Step::Done(settle(row, summary.disposition, summary.detail, settings)),
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

/// The record's keys for the fields Salesforce refused as not settable in this operation, when
/// every error is of that kind and every field it names is one the record carries.
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

async fn send_second_round(
    salesforce: &SalesforceClient,
    settings: &SyncSettings,
    pending: Vec<(ClaimedRow, Map<String, Value>, Purpose)>,
) -> Vec<(ClaimedRow, RowOutcome)> {
    if pending.is_empty() {
        return Vec::new();
    }
    let mut rows = Vec::with_capacity(pending.len());
    let mut records = Vec::with_capacity(pending.len());
    let mut purposes = Vec::with_capacity(pending.len());
    for (row, record, purpose) in pending {
        rows.push(row);
        records.push(record);
        purposes.push(purpose);
    }
    let results = collections(salesforce, &rows, &records).await;
    rows.into_iter()
        .zip(results)
        .zip(purposes)
        .map(|((row, result), purpose)| {
            let outcome = match (result, purpose) {
                // The record is new: either this request created it, or the first one did.
                (Ok(RecordResult::Saved { id, .. }), Purpose::CreateOnly) => {
                    RowOutcome::Succeeded {
                        salesforce_id: id,
                        created: true,
                    }
                }
                (
                    Ok(RecordResult::Saved { id, created: false }),
                    Purpose::WithoutRefused(fields),
                ) => {
                    tracing::info!(
                        row = row.id,
                        ?fields,
                        "existing record kept fields Salesforce sets only on create"
                    );
                    RowOutcome::Succeeded {
                        salesforce_id: id,
                        created: false,
                    }
                }
                // Refused on create: the mapping writes a field the user may not set at all.
                (Ok(RecordResult::Saved { .. }), Purpose::WithoutRefused(fields)) => {
                    RowOutcome::Failed(ErrorDetail {
                        code: "INVALID_FIELD_FOR_INSERT_UPDATE".to_owned(),
                        message: format!(
                            "the record was created without {}, which Salesforce refused to set",
                            fields.join(", ")
                        ),
                        fields,
                    })
                }
                (Ok(RecordResult::Failed(errors)), _) => failure(&row, &errors, settings),
                (Err(summary), _) => settle(&row, summary.disposition, summary.detail, settings),
            };
            (row, outcome)
        })
        .collect()
}

/// Update-only steps go one by one through the sObject resource, which alone can refuse to
/// create (`updateOnly=true`); a record that does not exist makes the row `skipped`.
async fn send_updates(
    salesforce: &SalesforceClient,
    settings: &SyncSettings,
    rows: Vec<ClaimedRow>,
) -> Vec<(ClaimedRow, RowOutcome)> {
    let mut outcomes = Vec::with_capacity(rows.len());
    for row in rows {
        let result = salesforce
            .upsert_record(
                &row.sobject,
                &row.external_id_field,
                &row.external_id,
                &row.record.0,
                true,
            )
            .await;
        let outcome = match result {
            Ok(RecordResult::Saved { id, created }) => RowOutcome::Succeeded {
                salesforce_id: id,
                created,
            },
            Ok(RecordResult::Failed(errors))
                if errors.iter().any(|e| e.status_code == "NOT_FOUND") =>
            {
                RowOutcome::Skipped(detail(&errors))
            }
            Ok(RecordResult::Failed(errors)) => failure(&row, &errors, settings),
            Err(error) => {
                let summary = ApiErrorSummary::of(&error);
                settle(&row, summary.disposition, summary.detail, settings)
            }
        };
        outcomes.push((row, outcome));
    }
    outcomes
}

fn failure(row: &ClaimedRow, errors: &[RecordError], settings: &SyncSettings) -> RowOutcome {
    settle(
        row,
        classify::record_errors(errors),
        detail(errors),
        settings,
    )
}

/// A failed attempt becomes a retry, unless the failure is permanent or the row is too old.
fn settle(
    row: &ClaimedRow,
    disposition: Disposition,
    detail: ErrorDetail,
    settings: &SyncSettings,
) -> RowOutcome {
    if disposition == Disposition::GiveUp {
        return RowOutcome::Failed(detail);
    }
    let age = (Utc::now() - row.created_at)
        .to_std()
        .unwrap_or(Duration::ZERO);
    if age >= settings.max_age {
        return RowOutcome::Dead(detail);
    }
    let delay = settings.backoff.delay(row.attempts.max(0) as u32);
    RowOutcome::Retry {
        at: Utc::now() + delay,
        error: detail,
    }
}

/// One stored error for all of a record's errors: the first code, every message, every field.
fn detail(errors: &[RecordError]) -> ErrorDetail {
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
