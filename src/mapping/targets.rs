//! What the mappings write, for checking them against an org's objects and fields.

use std::path::Path;

use serde_json::Value;

use super::Position;
use super::compile::{CompiledMapping, FieldValue};
use super::model::Operation;

/// One upsert step as written in a file.
#[derive(Debug, Clone)]
pub struct StepTarget<'a> {
    pub file: &'a Path,
    pub at: Position,
    pub mapping: &'a str,
    pub rule: &'a str,
    pub object: &'a str,
    pub external_id_field: &'a str,
    pub operation: Operation,
    pub fields: Vec<FieldTarget<'a>>,
}

/// One field a step sets.
#[derive(Debug, Clone)]
pub struct FieldTarget<'a> {
    pub at: Position,
    pub name: &'a str,
    /// The value when it is a literal in the file (templates are known only per event).
    pub literal: Option<&'a Value>,
    /// Values a value map can produce (its targets and its default).
    pub mapped_values: Vec<&'a Value>,
    /// For `Relationship__r: {Parent_Field__c: …}`, the parent's external-id field.
    pub parent_external_id: Option<&'a str>,
    pub create_only: bool,
}

pub fn of(mappings: &[CompiledMapping]) -> Vec<StepTarget<'_>> {
    let mut targets = Vec::new();
    for mapping in mappings {
        for rule in &mapping.rules {
            for step in &rule.steps {
                targets.push(StepTarget {
                    file: &mapping.file,
                    at: step.at,
                    mapping: &mapping.name,
                    rule: &rule.name,
                    object: &step.object,
                    external_id_field: &step.external_id_field,
                    operation: step.operation,
                    fields: step.fields.iter().map(field_target).collect(),
                });
            }
        }
    }
    targets
}

fn field_target(field: &super::compile::CompiledField) -> FieldTarget<'_> {
    let (literal, parent_external_id) = match &field.value {
        Some(FieldValue::Literal(value)) => (Some(value), None),
        Some(FieldValue::Reference {
            parent_field,
            value,
        }) => {
            let literal = match value.as_ref() {
                FieldValue::Literal(value) => Some(value),
                _ => None,
            };
            (literal, Some(parent_field.as_str()))
        }
        _ => (None, None),
    };
    FieldTarget {
        at: field.at,
        name: &field.name,
        literal,
        mapped_values: field
            .value_map
            .iter()
            .flat_map(|map| map.outputs())
            .collect(),
        parent_external_id,
        create_only: field.create_only || field.value.is_none(),
    }
}
