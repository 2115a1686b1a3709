//! Defaults and consistency rules applied to a parsed schema.

use std::collections::HashSet;

use super::{Field, FieldType, SObject, Schema, SchemaError};

const SYSTEM_FIELD_NAMES: [&str; 4] = ["Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"];

/// Fills what the YAML may leave out: label, length, precision and relationship name.
pub(super) fn normalise_field(field: &mut Field) {
    if field.label.is_empty() {
        field.label = field.name.trim_end_matches("__c").replace('_', " ");
    }
    if field.field_type.is_text() && field.length.is_none() {
        field.length = field.field_type.default_length();
    }
    if let Some((precision, scale)) = field.field_type.default_precision() {
        field.precision.get_or_insert(precision);
        field.scale.get_or_insert(scale);
    }
    if field.field_type == FieldType::Reference {
        field.length = Some(18);
        if field.relationship_name.is_none() {
            field.relationship_name = Some(default_relationship_name(&field.name));
        }
    }
    if field.is_compound() {
        field.createable = false;
        field.updateable = false;
    }
}

/// Salesforce's naming: `Donor__c` relates through `Donor__r`, `AccountId` through `Account`.
fn default_relationship_name(field_name: &str) -> String {
    if let Some(stem) = field_name.strip_suffix("__c") {
        format!("{stem}__r")
    } else {
        field_name
            .strip_suffix("Id")
            .unwrap_or(field_name)
            .to_string()
    }
}

/// Rules that concern one field on its own.
pub(super) fn check_field(object: &str, field: &Field) -> Result<(), SchemaError> {
    let invalid = |reason: &str| SchemaError::InvalidField {
        object: object.to_string(),
        field: field.name.clone(),
        reason: reason.to_string(),
    };
    if SYSTEM_FIELD_NAMES.contains(&field.name.as_str()) {
        return Err(invalid("is a system field every object has already"));
    }
    if field.field_type == FieldType::Id {
        return Err(invalid("type id is reserved for the implicit Id field"));
    }
    if field.field_type.is_picklist() == field.picklist.is_empty() {
        return Err(invalid(
            "picklist values go with, and only with, picklist types",
        ));
    }
    if field.restricted && !field.field_type.is_picklist() {
        return Err(invalid("only picklists can be restricted"));
    }
    if field.external_id && !can_be_external_id(field.field_type) {
        return Err(invalid(
            "external ids must be string, email, int or double fields",
        ));
    }
    if (field.field_type == FieldType::Reference) == field.reference_to.is_empty() {
        return Err(invalid(
            "reference fields, and only they, need reference_to",
        ));
    }
    if field.scale > field.precision {
        return Err(invalid("scale cannot exceed precision"));
    }
    Ok(())
}

fn can_be_external_id(field_type: FieldType) -> bool {
    matches!(
        field_type,
        FieldType::String | FieldType::Email | FieldType::Int | FieldType::Double
    )
}

/// Rules that relate objects to each other.
pub(super) fn check_schema(schema: &Schema) -> Result<(), SchemaError> {
    let mut prefixes = HashSet::new();
    for object in schema.objects() {
        check_key_prefix(object)?;
        if !prefixes.insert(object.key_prefix.clone()) {
            return Err(invalid_object(
                object,
                "key_prefix is used by another object",
            ));
        }
        for field in object.fields() {
            check_links(schema, object, field)?;
        }
        check_relationship_names(object)?;
    }
    Ok(())
}

fn check_key_prefix(object: &SObject) -> Result<(), SchemaError> {
    let prefix = &object.key_prefix;
    if prefix.len() != 3 || !prefix.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(invalid_object(
            object,
            "key_prefix must be 3 letters or digits",
        ));
    }
    Ok(())
}

fn check_links(schema: &Schema, object: &SObject, field: &Field) -> Result<(), SchemaError> {
    let invalid = |reason: String| SchemaError::InvalidField {
        object: object.name.clone(),
        field: field.name.clone(),
        reason,
    };
    for target in &field.reference_to {
        if schema.object(target).is_none() {
            return Err(invalid(format!(
                "reference_to names unknown object {target}"
            )));
        }
    }
    for part in &field.compound_of {
        if object.field(part).is_none() {
            return Err(invalid(format!("compound_of names unknown field {part}")));
        }
    }
    Ok(())
}

/// A relationship name is used like a field name in bodies, so it must not clash.
fn check_relationship_names(object: &SObject) -> Result<(), SchemaError> {
    let mut seen = HashSet::new();
    for name in object
        .fields()
        .filter_map(|f| f.relationship_name.as_deref())
    {
        let lower = name.to_ascii_lowercase();
        if object.field(name).is_some() || !seen.insert(lower) {
            let reason = format!("relationship name {name} clashes with another name");
            return Err(invalid_object(object, &reason));
        }
    }
    Ok(())
}

fn invalid_object(object: &SObject, reason: &str) -> SchemaError {
    SchemaError::InvalidObject {
        object: object.name.clone(),
        reason: reason.to_string(),
    }
}
