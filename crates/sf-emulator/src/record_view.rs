//! Records as JSON, the way a GET on an sObject row returns them.

use serde_json::{Map, Value, json};

use crate::api_version::ApiVersion;
use crate::field_value::format_datetime;
use crate::schema::SObject;
use crate::store::StoredRecord;

/// Every field of the object, null where unset. With a version, the record gets the
/// `attributes` block the REST API adds; `only` narrows the fields (the `fields`
/// query parameter), though Id is always included.
pub(crate) fn render(
    object: &SObject,
    record: &StoredRecord,
    version: Option<ApiVersion>,
    only: Option<&[String]>,
) -> Value {
    let mut out = Map::new();
    if let Some(version) = version {
        out.insert("attributes".into(), attributes(object, &record.id, version));
    }
    for field in object.fields() {
        let wanted =
            only.is_none_or(|names| names.iter().any(|n| n.eq_ignore_ascii_case(&field.name)));
        if field.name == "Id" || wanted {
            out.insert(field.name.clone(), field_value(record, &field.name));
        }
    }
    Value::Object(out)
}

/// `{"type": "Contact", "url": "/services/data/v62.0/sobjects/Contact/003…"}`.
pub(crate) fn attributes(object: &SObject, id: &str, version: ApiVersion) -> Value {
    json!({"type": object.name, "url": record_url(object, id, version)})
}

pub(crate) fn record_url(object: &SObject, id: &str, version: ApiVersion) -> String {
    format!("{}/sobjects/{}/{id}", version.base_path(), object.name)
}

fn field_value(record: &StoredRecord, name: &str) -> Value {
    match name {
        "Id" => Value::String(record.id.clone()),
        "CreatedDate" => Value::String(format_datetime(record.created)),
        "LastModifiedDate" | "SystemModstamp" => Value::String(format_datetime(record.modified)),
        _ => record.fields.get(name).cloned().unwrap_or(Value::Null),
    }
}
