//! sObject Collections upsert semantics (reference §4): records are processed in
//! request order, each gets its own result, and `allOrNone` rolls everything back
//! when any record fails.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::field_value::{coerce, display, index_key};
use crate::record_error::RecordError;
use crate::schema::{Field, SObject};
use crate::upsert::{Saved, UpsertKey, Writer};

/// Salesforce accepts at most 200 records per collections request.
pub(crate) const MAX_RECORDS: usize = 200;

pub(crate) struct CollectionRequest {
    pub all_or_none: bool,
    pub records: Vec<Map<String, Value>>,
}

pub(crate) type RecordResult = Result<Saved, RecordError>;

/// Upserts every record keyed on `key_field`. `row_locked` is asked once per record
/// that reaches the database, with the record's key, and simulates lock contention.
pub(crate) fn upsert_collection(
    writer: &mut Writer<'_>,
    object: &SObject,
    key_field: &Field,
    request: &CollectionRequest,
    mut row_locked: impl FnMut(&Value) -> bool,
) -> Vec<RecordResult> {
    let keys = duplicate_keys_failed(key_field, record_keys(key_field, &request.records));
    let results: Vec<RecordResult> = request
        .records
        .iter()
        .zip(keys)
        .map(|(body, key)| {
            let value = key?;
            if row_locked(&value) {
                return Err(RecordError::RowLocked);
            }
            let key = UpsertKey::Match {
                field: key_field,
                value,
            };
            writer.upsert(object, &key, body, false)
        })
        .collect();
    if request.all_or_none && results.iter().any(Result::is_err) {
        writer.rollback();
        return results.into_iter().map(rolled_back).collect();
    }
    results
}

/// Failing records keep their own error; the others report the rollback.
fn rolled_back(result: RecordResult) -> RecordResult {
    match result {
        Ok(_) => Err(RecordError::RolledBack),
        failed => failed,
    }
}

/// Each record's own external-id value, which must be present in its body.
fn record_keys(
    key_field: &Field,
    records: &[Map<String, Value>],
) -> Vec<Result<Value, RecordError>> {
    records
        .iter()
        .map(|body| {
            let raw = body
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(&key_field.name))
                .map(|(_, raw)| raw);
            let value = coerce(key_field, raw.unwrap_or(&Value::Null))?;
            if value.is_null() {
                return Err(RecordError::MissingExternalId {
                    field: key_field.name.clone(),
                });
            }
            Ok(value)
        })
        .collect()
}

/// Two records with the same external id in one request both fail, since the outcome
/// would depend on their order.
fn duplicate_keys_failed(
    key_field: &Field,
    keys: Vec<Result<Value, RecordError>>,
) -> Vec<Result<Value, RecordError>> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for value in keys.iter().flatten() {
        if let Some(key) = index_key(key_field, value) {
            *counts.entry(key).or_default() += 1;
        }
    }
    keys.into_iter()
        .map(|key| {
            let value = key?;
            let seen = index_key(key_field, &value).map_or(0, |k| counts[&k]);
            if seen > 1 {
                return Err(RecordError::DuplicateInRequest {
                    field: key_field.name.clone(),
                    value: display(&value),
                });
            }
            Ok(value)
        })
        .collect()
}
