//! Checks mappings against describe data (from a schema file or an org): every object and
//! field they write must exist, external ids must be external ids, and literal values must be
//! allowed by the field.

use serde_json::Value;

use super::{FieldTarget, Issue, StepTarget};
use crate::salesforce::describe::{FieldDescription, ObjectDescription};

/// Problems found by checking `targets` against `objects`.
pub fn check(targets: &[StepTarget<'_>], objects: &[ObjectDescription]) -> Vec<Issue> {
    let mut issues = Vec::new();
    for step in targets {
        let at = |field: Option<&FieldTarget>, message: String| Issue {
            file: Some(step.file.to_owned()),
            line: field.map_or(step.at.line, |f| f.at.line),
            column: field.map_or(step.at.column, |f| f.at.column),
            message,
        };
        let Some(object) = find_object(objects, step.object) else {
            issues.push(at(
                None,
                format!("object `{}` is not in the schema", step.object),
            ));
            continue;
        };
        if let Some(problem) = external_id_problem(object, step.external_id_field) {
            issues.push(at(None, problem));
        }
        for field in &step.fields {
            for problem in field_problems(objects, object, field) {
                issues.push(at(Some(field), problem));
            }
        }
    }
    // In the order a reader meets them in the files.
    issues.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
    issues
}

fn find_object<'a>(objects: &'a [ObjectDescription], name: &str) -> Option<&'a ObjectDescription> {
    objects
        .iter()
        .find(|object| object.name.eq_ignore_ascii_case(name))
}

fn external_id_problem(object: &ObjectDescription, name: &str) -> Option<String> {
    match object.field(name) {
        None => Some(format!(
            "external id field `{name}` is not a field of {}",
            object.name
        )),
        Some(field) if !field.external_id && !field.id_lookup => Some(format!(
            "`{name}` of {} is not marked External ID; upserts cannot match on it",
            object.name
        )),
        Some(_) => None,
    }
}

fn field_problems(
    objects: &[ObjectDescription],
    object: &ObjectDescription,
    target: &FieldTarget<'_>,
) -> Vec<String> {
    if let Some(parent_field) = target.parent_external_id {
        return relationship_problems(objects, object, target.name, parent_field);
    }
    let Some(field) = object.field(target.name) else {
        return vec![format!(
            "field `{}` is not a field of {}",
            target.name, object.name
        )];
    };
    let literals = target
        .literal
        .into_iter()
        .chain(target.mapped_values.iter().copied());
    literals
        .filter_map(|value| literal_problem(object, field, value))
        .collect()
}

fn relationship_problems(
    objects: &[ObjectDescription],
    object: &ObjectDescription,
    relationship: &str,
    parent_field: &str,
) -> Vec<String> {
    let Some(reference) = object.relationship(relationship) else {
        return vec![format!(
            "`{relationship}` is not a relationship of {}",
            object.name
        )];
    };
    let parents: Vec<&ObjectDescription> = reference
        .reference_to
        .iter()
        .filter_map(|name| find_object(objects, name))
        .collect();
    let resolves = parents.iter().any(|parent| {
        parent
            .field(parent_field)
            .is_some_and(|f| f.external_id || f.id_lookup)
    });
    if resolves {
        return Vec::new();
    }
    vec![format!(
        "`{relationship}` points to {}, which has no external id field `{parent_field}`",
        reference.reference_to.join(" or ")
    )]
}

fn literal_problem(
    object: &ObjectDescription,
    field: &FieldDescription,
    value: &Value,
) -> Option<String> {
    let Value::String(text) = value else {
        return None;
    };
    let is_picklist = field.field_type == "picklist" || field.field_type == "multipicklist";
    if is_picklist && field.restricted_picklist && !field.picklist_values.iter().any(|v| v == text)
    {
        return Some(format!(
            "`{text}` is not an allowed value of {}.{} (allowed: {})",
            object.name,
            field.name,
            field.picklist_values.join(", ")
        ));
    }
    let units = text.encode_utf16().count();
    match field.length {
        Some(length) if units > length as usize => Some(format!(
            "`{text}` is {units} characters long; {}.{} holds {length}",
            object.name, field.name
        )),
        _ => None,
    }
}
