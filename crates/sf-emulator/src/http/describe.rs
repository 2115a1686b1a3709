//! Global and per-object describe (reference §8), generated from the schema.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::error::ApiError;
use crate::api_version::ApiVersion;
use crate::schema::{Field, SObject, Schema};
use crate::state::Emulator;

/// `GET …/sobjects/`.
pub(super) async fn global(
    State(state): State<Arc<Emulator>>,
    Extension(version): Extension<ApiVersion>,
    headers: HeaderMap,
) -> Response {
    let sobjects: Vec<Value> = state
        .schema
        .objects()
        .map(|object| object_summary(object, version))
        .collect();
    let body = json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects});
    conditional(&state, &headers, body)
}

/// `GET …/sobjects/{object}/`: the object's summary and (always empty) recent items.
pub(super) async fn basic_info(
    State(state): State<Arc<Emulator>>,
    Extension(version): Extension<ApiVersion>,
    Path((_, object)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let object = state.schema.object(&object).ok_or(ApiError::NotFound)?;
    let summary = object_summary(object, version);
    Ok(Json(json!({"objectDescribe": summary, "recentItems": []})))
}

/// `GET …/sobjects/{object}/describe/`.
pub(super) async fn object(
    State(state): State<Arc<Emulator>>,
    Extension(version): Extension<ApiVersion>,
    Path((_, object)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(object) = state.schema.object(&object) else {
        return ApiError::NotFound.into_response();
    };
    let mut body = object_summary(object, version);
    body["fields"] = object.fields().map(describe_field).collect();
    body["childRelationships"] = child_relationships(&state.schema, object);
    body["recordTypeInfos"] = json!([]);
    conditional(&state, &headers, body)
}

/// The schema never changes while the emulator runs, so any If-Modified-Since at or
/// after start-up gets 304.
fn conditional(state: &Emulator, headers: &HeaderMap, body: Value) -> Response {
    let since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| DateTime::parse_from_rfc2822(text).ok());
    let last_modified = http_date(state.schema_loaded_at);
    let last_modified = HeaderValue::from_str(&last_modified).expect("HTTP dates are ASCII");
    if since.is_some_and(|since| since >= state.schema_loaded_at) {
        return (
            StatusCode::NOT_MODIFIED,
            [(header::LAST_MODIFIED, last_modified)],
        )
            .into_response();
    }
    ([(header::LAST_MODIFIED, last_modified)], Json(body)).into_response()
}

fn http_date(instant: DateTime<Utc>) -> String {
    instant.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn object_summary(object: &SObject, version: ApiVersion) -> Value {
    let base = format!("{}/sobjects/{}", version.base_path(), object.name);
    json!({
        "name": object.name,
        "label": object.label,
        "labelPlural": object.label_plural,
        "keyPrefix": object.key_prefix,
        "custom": object.custom,
        "createable": true,
        "updateable": true,
        "deletable": true,
        "queryable": true,
        "urls": {
            "sobject": base,
            "describe": format!("{base}/describe"),
            "rowTemplate": format!("{base}/{{ID}}"),
        },
    })
}

fn describe_field(field: &Field) -> Value {
    let numeric = field.field_type.is_decimal();
    json!({
        "name": field.name,
        "label": field.label,
        "type": field.field_type.describe_name(),
        "length": field.length.filter(|_| field.field_type.is_text()).unwrap_or(0),
        "precision": if numeric { field.precision.unwrap_or(0) } else { 0 },
        "scale": if numeric { field.scale.unwrap_or(0) } else { 0 },
        "digits": field.digits(),
        "nillable": field.nillable(),
        "createable": field.createable,
        "updateable": field.updateable,
        "defaultedOnCreate": field.is_defaulted_on_create(),
        "externalId": field.external_id,
        "idLookup": field.id_lookup(),
        "unique": field.unique,
        "caseSensitive": field.case_sensitive,
        "picklistValues": picklist_values(field),
        "restrictedPicklist": field.restricted,
        "referenceTo": field.reference_to,
        "relationshipName": field.relationship_name,
        "calculated": false,
        "autoNumber": false,
        "custom": field.is_custom(),
        "nameField": field.name == "Name",
    })
}

fn picklist_values(field: &Field) -> Value {
    field
        .picklist
        .iter()
        .map(|value| {
            json!({
                "active": true,
                "defaultValue": false,
                "label": value,
                "value": value,
                "validFor": null,
            })
        })
        .collect()
}

/// Lookups from other objects (and this one) that point at `object`.
fn child_relationships(schema: &Schema, object: &SObject) -> Value {
    schema
        .objects()
        .flat_map(|child| child.fields().map(move |field| (child, field)))
        .filter(|(_, field)| field.reference_to.iter().any(|t| t == &object.name))
        .map(|(child, field)| {
            json!({
                "childSObject": child.name,
                "field": field.name,
                "relationshipName": null,
                "cascadeDelete": false,
            })
        })
        .collect()
}
