//! Reading a record body: field names are checked against the schema, values are
//! converted, and `"Rel": {"ExtField": value}` references are resolved to parent Ids
//! (reference §5).

use serde_json::{Map, Value};

use crate::field_value::{coerce, display, wrong_type};
use crate::record_error::RecordError;
use crate::schema::{Field, FieldType, SObject, Schema};
use crate::store::RecordStore;

/// One field to set, under its canonical name, with its stored value (null clears).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FieldChange {
    pub field: String,
    pub value: Value,
}

/// Converts every entry of `body` into a change; the first problem fails the record.
/// `attributes` is metadata and ignored; `Id` is never accepted in an upsert body.
pub(crate) fn read_changes(
    schema: &Schema,
    store: &RecordStore,
    object: &SObject,
    body: &Map<String, Value>,
) -> Result<Vec<FieldChange>, RecordError> {
    let mut changes = Vec::with_capacity(body.len());
    for (key, raw) in body {
        if key == "attributes" {
            continue;
        }
        if key.eq_ignore_ascii_case("Id") {
            return Err(RecordError::IdInBody);
        }
        changes.push(read_entry(schema, store, object, key, raw)?);
    }
    Ok(changes)
}

fn read_entry(
    schema: &Schema,
    store: &RecordStore,
    object: &SObject,
    key: &str,
    raw: &Value,
) -> Result<FieldChange, RecordError> {
    if let Some(field) = object.field(key) {
        let value = coerce(field, raw)?;
        if field.field_type == FieldType::Reference {
            check_reference(schema, store, field, &value)?;
        }
        return Ok(change(field, value));
    }
    if let Some(field) = object.field_by_relationship(key) {
        let parent = resolve_parent(schema, store, field, raw)?;
        return Ok(change(field, parent));
    }
    Err(RecordError::NoSuchColumn {
        field: key.to_string(),
        object: object.name.clone(),
    })
}

fn change(field: &Field, value: Value) -> FieldChange {
    FieldChange {
        field: field.name.clone(),
        value,
    }
}

/// A reference set by Id must point at an existing record of an allowed type.
fn check_reference(
    schema: &Schema,
    store: &RecordStore,
    field: &Field,
    value: &Value,
) -> Result<(), RecordError> {
    let Some(id) = value.as_str() else {
        return Ok(());
    };
    let target = schema
        .object_for_prefix(&id[..3])
        .filter(|target| field.reference_to.iter().any(|t| t == &target.name));
    let Some(target) = target else {
        return Err(RecordError::MalformedId {
            label: field.label.clone(),
            field: field.name.clone(),
            value: id.to_string(),
        });
    };
    match store.get(&target.name, id) {
        Some(_) => Ok(()),
        None => Err(RecordError::InvalidCrossReference {
            field: field.name.clone(),
        }),
    }
}

/// Finds the one parent whose external id matches the nested object.
fn resolve_parent(
    schema: &Schema,
    store: &RecordStore,
    field: &Field,
    raw: &Value,
) -> Result<Value, RecordError> {
    let nested = match raw {
        Value::Null => return Ok(Value::Null),
        Value::Object(nested) => nested,
        other => return Err(wrong_type(field, "relationship", other)),
    };
    let target = relationship_target(schema, field, nested)?;
    let (key_field, key_raw) = parent_key(target, nested)?;
    let key_value = coerce(key_field, key_raw)?;
    let not_found = || RecordError::ForeignKeyNotFound {
        value: display(key_raw),
        external_field: key_field.name.clone(),
        entity: target.name.clone(),
    };
    if key_field.field_type == FieldType::Id {
        let id = key_value.as_str().ok_or_else(not_found)?;
        return store
            .get(&target.name, id)
            .map(|_| key_value.clone())
            .ok_or_else(not_found);
    }
    match store.lookup(&target.name, key_field, &key_value).as_slice() {
        [] => Err(not_found()),
        [position] => Ok(Value::String(
            store.records(&target.name)[*position].id.clone(),
        )),
        _ => Err(RecordError::ForeignKeyAmbiguous {
            value: display(key_raw),
            external_field: key_field.name.clone(),
            entity: target.name.clone(),
        }),
    }
}

/// The parent object: the only reference target, or the one named in `attributes.type`
/// for polymorphic references.
fn relationship_target<'s>(
    schema: &'s Schema,
    field: &Field,
    nested: &Map<String, Value>,
) -> Result<&'s SObject, RecordError> {
    let named = nested
        .get("attributes")
        .and_then(|attributes| attributes.get("type"))
        .and_then(Value::as_str);
    let target_name = match (field.reference_to.as_slice(), named) {
        ([only], _) => only.as_str(),
        (_, Some(named)) if field.reference_to.iter().any(|t| t == named) => named,
        _ => {
            return Err(RecordError::NotAnExternalId {
                external_field: "attributes.type".to_string(),
                entity: field.reference_to.join(", "),
            });
        }
    };
    Ok(schema
        .object(target_name)
        .expect("schema checks reference targets"))
}

fn parent_key<'o>(
    target: &'o SObject,
    nested: &'o Map<String, Value>,
) -> Result<(&'o Field, &'o Value), RecordError> {
    let mut entries = nested.iter().filter(|(key, _)| *key != "attributes");
    let (Some((name, raw)), None) = (entries.next(), entries.next()) else {
        return Err(RecordError::NotAnExternalId {
            external_field: nested.keys().cloned().collect::<Vec<_>>().join(", "),
            entity: target.name.clone(),
        });
    };
    let Some(key_field) = target.field(name) else {
        return Err(RecordError::NoSuchColumn {
            field: name.clone(),
            object: target.name.clone(),
        });
    };
    if !key_field.id_lookup() {
        return Err(RecordError::NotAnExternalId {
            external_field: key_field.name.clone(),
            entity: target.name.clone(),
        });
    }
    Ok((key_field, raw))
}
