//! Single-record resources: upsert by external id (reference §3), insert, and reads.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{Map, Value, json};

use super::error::ApiError;
use crate::api_version::ApiVersion;
use crate::field_value::coerce_key;
use crate::record_error::RecordError;
use crate::record_id;
use crate::record_view::{record_url, render};
use crate::schema::{Field, SObject};
use crate::state::Emulator;
use crate::store::RecordStore;
use crate::upsert::{Saved, UpsertKey, Writer};

type QueryParams = Query<HashMap<String, String>>;

/// `PATCH …/sobjects/{object}/{field}/{value}`: 201 when created; on update 200 with
/// `created: false` from 46.0, 204 before; 300 when several records match.
pub(super) async fn upsert(
    State(state): State<Arc<Emulator>>,
    Extension(version): Extension<ApiVersion>,
    Path((_, object, field, value)): Path<(String, String, String, String)>,
    Query(query): QueryParams,
    body: Bytes,
) -> Result<Response, ApiError> {
    let object = state.schema.object(&object).ok_or(ApiError::NotFound)?;
    let key_field = upsert_key_field(object, &field)?;
    let body = parse_object(&body)?;
    let key = UpsertKey::Match {
        field: key_field,
        value: coerce_key(key_field, &value)?,
    };
    let update_only = version.has_update_only() && flag(&query, "updateOnly");
    if state.faults.row_locked() | state.faults.record_locked(&value) {
        return Err(RecordError::RowLocked.into());
    }
    if state.faults.poison_external_id().as_deref() == Some(value.as_str()) {
        return Err(ApiError::JsonParser(format!(
            "Cannot deserialize the record whose {} is {value}",
            key_field.name
        )));
    }
    let result = write(&state, |writer| {
        writer.upsert(object, &key, &body, update_only)
    });
    match result {
        Ok(saved) => Ok(saved_response(object, &saved, version)),
        Err(RecordError::MultipleMatches { ids, .. }) => {
            Ok(multiple_choices(object, &ids, version))
        }
        Err(error) => Err(error.into()),
    }
}

/// `POST …/sobjects/{object}/Id` (37.0 and later): always inserts. Other values of the
/// last segment name a record, which cannot be POSTed to.
pub(super) async fn insert_with_id_key(
    State(state): State<Arc<Emulator>>,
    Extension(version): Extension<ApiVersion>,
    Path((_, object, segment)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if segment != "Id" {
        let allowed = "GET,HEAD".to_string();
        return Err(ApiError::MethodNotAllowed {
            method: "POST".into(),
            allowed,
        });
    }
    let object = state.schema.object(&object).ok_or(ApiError::NotFound)?;
    if !version.has_insert_by_id_key() {
        return Err(ApiError::NotFound);
    }
    let body = parse_object(&body)?;
    if let Some(field) = object
        .external_id_fields()
        .find(|f| has_key(&body, &f.name))
    {
        let field = field.name.clone();
        return Err(RecordError::ExternalIdInInsertBody { field }.into());
    }
    let saved = write(&state, |writer| {
        writer.upsert(object, &UpsertKey::Insert, &body, false)
    })?;
    Ok(saved_response(object, &saved, version))
}

/// `POST …/sobjects/{object}/`: a plain create, answered like Salesforce's SaveResult.
pub(super) async fn create(
    State(state): State<Arc<Emulator>>,
    Path((_, object)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let object = state.schema.object(&object).ok_or(ApiError::NotFound)?;
    let body = parse_object(&body)?;
    let saved = write(&state, |writer| {
        writer.upsert(object, &UpsertKey::Insert, &body, false)
    })?;
    let result = json!({"id": saved.id, "success": true, "errors": []});
    Ok((StatusCode::CREATED, Json(result)).into_response())
}

/// `GET …/sobjects/{object}/{id}`; accepts 15- and 18-character Ids.
pub(super) async fn read_by_id(
    State(state): State<Arc<Emulator>>,
    Extension(version): Extension<ApiVersion>,
    Path((_, object, id)): Path<(String, String, String)>,
    Query(query): QueryParams,
) -> Result<Json<Value>, ApiError> {
    let object = state.schema.object(&object).ok_or(ApiError::NotFound)?;
    let id = record_id::normalise(&id).ok_or(ApiError::NotFound)?;
    let store = state.store();
    let record = store.get(&object.name, &id).ok_or(ApiError::NotFound)?;
    let only = selected_fields(&query);
    Ok(Json(render(object, record, Some(version), only.as_deref())))
}

/// `GET …/sobjects/{object}/{field}/{value}`: 404 with no match, 300 with several.
pub(super) async fn read_by_external_id(
    State(state): State<Arc<Emulator>>,
    Extension(version): Extension<ApiVersion>,
    Path((_, object, field, value)): Path<(String, String, String, String)>,
    Query(query): QueryParams,
) -> Result<Response, ApiError> {
    let object = state.schema.object(&object).ok_or(ApiError::NotFound)?;
    let key_field = upsert_key_field(object, &field)?;
    let key_value = coerce_key(key_field, &value).map_err(|_| ApiError::NotFound)?;
    let store = state.store();
    let positions = matching(&store, object, key_field, &key_value);
    let records = store.records(&object.name);
    match positions.as_slice() {
        [] => Err(ApiError::NotFound),
        [position] => {
            let only = selected_fields(&query);
            let body = render(object, &records[*position], Some(version), only.as_deref());
            Ok(Json(body).into_response())
        }
        several => {
            let ids: Vec<String> = several.iter().map(|&p| records[p].id.clone()).collect();
            Ok(multiple_choices(object, &ids, version))
        }
    }
}

fn matching(store: &RecordStore, object: &SObject, field: &Field, value: &Value) -> Vec<usize> {
    if field.name == "Id" {
        let id = value.as_str().unwrap_or_default();
        return store.position_of(&object.name, id).into_iter().collect();
    }
    store.lookup(&object.name, field, value)
}

/// The field named in an upsert URL: unknown is 404, not an external id is 400.
pub(super) fn upsert_key_field<'o>(object: &'o SObject, name: &str) -> Result<&'o Field, ApiError> {
    let field = object.field(name).ok_or(ApiError::NotFound)?;
    if !field.id_lookup() {
        return Err(RecordError::NotAnExternalId {
            external_field: field.name.clone(),
            entity: object.name.clone(),
        }
        .into());
    }
    Ok(field)
}

pub(super) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body)? {
        Value::Object(map) => Ok(map),
        _ => Err(ApiError::JsonParser(
            "Cannot deserialize instance of the sObject from a value that is not an object"
                .to_string(),
        )),
    }
}

/// Runs a write while holding the store lock; nothing awaits inside. Every record written
/// is counted in the stats.
pub(super) fn write<T>(state: &Emulator, action: impl FnOnce(&mut Writer<'_>) -> T) -> T {
    let mut store = state.store();
    let mut writer = Writer::new(&state.schema, &mut store, &state.ids);
    let result = action(&mut writer);
    state.stats.count_writes(writer.written());
    result
}

fn saved_response(object: &SObject, saved: &Saved, version: ApiVersion) -> Response {
    let mut body = json!({"id": saved.id, "success": true, "errors": []});
    if version.reports_created_flag() {
        body["created"] = Value::Bool(saved.created);
    }
    if saved.created {
        let location = record_url(object, &saved.id, version);
        return (
            StatusCode::CREATED,
            [(header::LOCATION, location)],
            Json(body),
        )
            .into_response();
    }
    if version.reports_created_flag() {
        (StatusCode::OK, Json(body)).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    }
}

/// 300 Multiple Choices with the URLs of the matching records.
fn multiple_choices(object: &SObject, ids: &[String], version: ApiVersion) -> Response {
    let urls: Vec<String> = ids
        .iter()
        .map(|id| record_url(object, id, version))
        .collect();
    (StatusCode::MULTIPLE_CHOICES, Json(urls)).into_response()
}

fn selected_fields(query: &HashMap<String, String>) -> Option<Vec<String>> {
    let list = query.get("fields")?;
    Some(
        list.split(',')
            .map(|name| name.trim().to_string())
            .collect(),
    )
}

fn flag(query: &HashMap<String, String>, name: &str) -> bool {
    query
        .get(name)
        .is_some_and(|value| value.eq_ignore_ascii_case("true"))
}

fn has_key(body: &Map<String, Value>, name: &str) -> bool {
    body.keys().any(|key| key.eq_ignore_ascii_case(name))
}
