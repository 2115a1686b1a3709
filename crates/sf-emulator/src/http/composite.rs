//! `PATCH …/composite/sobjects/{object}/{field}`: sObject Collections upsert
//! (reference §4).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::records::{parse_object, upsert_key_field, write};
use crate::api_version::ApiVersion;
use crate::collections::{self, CollectionRequest, MAX_RECORDS, RecordResult};
use crate::field_value::display;
use crate::schema::{Field, SObject};
use crate::state::Emulator;

/// A malformed request is a top-level 400; otherwise the answer is 200 with one result
/// per record, in request order, whatever happened to each.
pub(super) async fn upsert_collection(
    State(state): State<Arc<Emulator>>,
    Extension(version): Extension<ApiVersion>,
    Path((_, object, field)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    if !version.has_collections_upsert() {
        return Err(ApiError::NotFound);
    }
    let object = state.schema.object(&object).ok_or(ApiError::NotFound)?;
    let key_field = upsert_key_field(object, &field)?;
    let request = parse_request(object, parse_object(&body)?)?;
    refuse_poisoned(&state, key_field, &request)?;
    state.stats.record_batch(request.records.len());

    let mut results = write(&state, |writer| {
        collections::upsert_collection(writer, object, key_field, &request, |key| {
            state.faults.row_locked() | state.faults.record_locked(&display(key))
        })
    });
    if state.faults.short_collections_results() {
        results.pop();
    }
    let failed = results.iter().filter(|result| result.is_err()).count();
    tracing::debug!(object = %object.name, records = results.len(), failed, "collections upsert");
    Ok(Json(results.iter().map(result_json).collect()))
}

/// The `poison_external_id` fault: one unreadable record fails the whole request.
fn refuse_poisoned(
    state: &Emulator,
    key_field: &Field,
    request: &CollectionRequest,
) -> Result<(), ApiError> {
    let Some(poison) = state.faults.poison_external_id() else {
        return Ok(());
    };
    let poisoned = request.records.iter().any(|record| {
        record
            .iter()
            .any(|(name, value)| name.eq_ignore_ascii_case(&key_field.name) && *value == poison)
    });
    if poisoned {
        return Err(ApiError::JsonParser(format!(
            "Cannot deserialize the record whose {} is {poison}",
            key_field.name
        )));
    }
    Ok(())
}

fn parse_request(
    object: &SObject,
    mut body: Map<String, Value>,
) -> Result<CollectionRequest, ApiError> {
    let all_or_none = match body.remove("allOrNone") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(flag)) => flag,
        Some(_) => {
            return Err(ApiError::JsonParser(
                "allOrNone must be true or false".into(),
            ));
        }
    };
    let Some(Value::Array(items)) = body.remove("records") else {
        return Err(ApiError::JsonParser(
            "records must be an array of sObjects".into(),
        ));
    };
    if items.len() > MAX_RECORDS {
        return Err(ApiError::TooManyRecords);
    }
    let records = items
        .into_iter()
        .map(|item| typed_record(object, item))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CollectionRequest {
        all_or_none,
        records,
    })
}

/// Every record names its type in `attributes.type`, and it must be the URL's object.
fn typed_record(object: &SObject, item: Value) -> Result<Map<String, Value>, ApiError> {
    let Value::Object(record) = item else {
        return Err(ApiError::JsonParser(
            "each record must be a JSON object".into(),
        ));
    };
    let named = record
        .get("attributes")
        .and_then(|attributes| attributes.get("type"))
        .and_then(Value::as_str);
    match named {
        None => Err(ApiError::InvalidType(
            "Must send a concrete entity type.".into(),
        )),
        Some(name) if name.eq_ignore_ascii_case(&object.name) => Ok(record),
        Some(name) => Err(ApiError::InvalidType(format!(
            "Record type {name} does not match the sObject type {} in the URL",
            object.name
        ))),
    }
}

/// `statusCode`, not `errorCode`, is the key inside per-record results.
fn result_json(result: &RecordResult) -> Value {
    match result {
        Ok(saved) => {
            json!({"id": saved.id, "success": true, "errors": [], "created": saved.created})
        }
        Err(error) => json!({
            "success": false,
            "errors": [{
                "statusCode": error.status_code(),
                "message": error.to_string(),
                "fields": error.fields(),
            }],
        }),
    }
}
