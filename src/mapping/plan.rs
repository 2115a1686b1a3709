//! Planning: which upserts one forward becomes under a mapping set.
//!
//! Files apply in file-name order and rules in the order they are written. Every rule whose
//! conditions hold contributes its upserts, until a rule with `stop: true` applies; nothing
//! after that rule is considered, in its file or in later files.

use minijinja::Value as TemplateValue;
use serde_json::{Map, Value};

use super::compile::{CompiledField, CompiledMapping, CompiledRule, CompiledStep, FieldValue};
use super::condition::Condition;
use super::context;
use super::model::Operation;
use super::template::{Rendered, TemplateError, Templates};
use crate::forward::Forward;

/// What one forward becomes.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Plan {
    /// Whose events must reach Salesforce in arrival order.
    pub subject: Option<String>,
    /// The upserts, in the order they must be sent.
    pub upserts: Vec<PlannedUpsert>,
}

/// One planned write of one record.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlannedUpsert {
    pub mapping: String,
    pub rule: String,
    pub operation: Operation,
    pub sobject: String,
    pub external_id_field: String,
    pub external_id: String,
    /// Fields sent on every upsert, the external id included.
    pub record: Map<String, Value>,
    /// Fields sent only when the upsert creates the record.
    pub create_only: Map<String, Value>,
    /// Index of an earlier upsert of this plan whose record this one refers to.
    pub depends_on: Option<usize>,
}

/// Why a forward could not be planned; stored on the event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mapping `{mapping}`, rule `{rule}`{}: {message}", field_suffix(.field))]
pub struct PlanError {
    pub mapping: String,
    pub rule: String,
    pub field: Option<String>,
    pub message: String,
}

fn field_suffix(field: &Option<String>) -> String {
    field
        .as_ref()
        .map(|name| format!(", field `{name}`"))
        .unwrap_or_default()
}

/// Plans a forward against compiled mappings.
pub fn plan(
    mappings: &[CompiledMapping],
    templates: &Templates,
    forward: &Forward,
    received_at: chrono::DateTime<chrono::Utc>,
) -> Result<Plan, PlanError> {
    let json_context = context::build(forward, received_at);
    let planner = Planner {
        templates,
        json_context: &json_context,
        context: TemplateValue::from(minijinja::value::Serde(&json_context)),
    };
    let mut plan = Plan {
        subject: None,
        upserts: Vec::new(),
    };
    let mut subject_chosen = false;
    for mapping in mappings
        .iter()
        .filter(|m| all_hold(&m.conditions, &json_context))
    {
        for rule in &mapping.rules {
            if !planner.rule_applies(mapping, rule)? {
                continue;
            }
            if !subject_chosen {
                plan.subject = planner.subject(mapping)?;
                subject_chosen = true;
            }
            for step in &rule.steps {
                let upsert = planner.step(mapping, rule, step, &plan.upserts)?;
                add_or_merge(&mut plan.upserts, upsert).map_err(|message| PlanError {
                    mapping: mapping.name.clone(),
                    rule: rule.name.clone(),
                    field: None,
                    message,
                })?;
            }
            if rule.stop {
                return Ok(plan);
            }
        }
    }
    if !subject_chosen {
        plan.subject = forward.msisdn.as_ref().map(|number| number.e164());
    }
    refuse_forward_references(&plan.upserts)?;
    Ok(plan)
}

/// A lookup to a record this same event upserts later could never be satisfied: rows of one
/// subject are sent in order, so the child would wait for a parent queued behind it.
fn refuse_forward_references(upserts: &[PlannedUpsert]) -> Result<(), PlanError> {
    for (index, upsert) in upserts.iter().enumerate() {
        let fields = references(&upsert.record).chain(references(&upsert.create_only));
        for (field, parent_field, parent_id) in fields {
            let later = upserts[index + 1..].iter().find(|other| {
                other.external_id_field == parent_field && other.external_id == parent_id
            });
            if let Some(parent) = later {
                return Err(PlanError {
                    mapping: upsert.mapping.clone(),
                    rule: upsert.rule.clone(),
                    field: Some(field.to_owned()),
                    message: format!(
                        "refers to {} {parent_id}, which this event upserts later; put the rule \
                         that upserts {} first",
                        parent.sobject, parent.sobject
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Relationship fields of a record: (field, parent external-id field, parent value).
fn references(record: &Map<String, Value>) -> impl Iterator<Item = (&str, &str, String)> {
    record.iter().filter_map(|(field, value)| {
        let reference = value.as_object().filter(|r| r.len() == 1)?;
        let (parent_field, parent_value) = reference.iter().next()?;
        Some((
            field.as_str(),
            parent_field.as_str(),
            external_id_text(Some(parent_value))?,
        ))
    })
}

/// Upserts of the same record planned by several rules become one, at the place of the first:
/// later values win field by field, and a field set outright is no longer create-only.
fn add_or_merge(upserts: &mut Vec<PlannedUpsert>, upsert: PlannedUpsert) -> Result<(), String> {
    let same_record = upserts.iter().position(|earlier| {
        earlier.sobject == upsert.sobject
            && earlier.external_id_field == upsert.external_id_field
            && earlier.external_id == upsert.external_id
            && earlier.operation == upsert.operation
    });
    let Some(position) = same_record else {
        upserts.push(upsert);
        return Ok(());
    };
    if upsert.depends_on.is_some_and(|parent| parent >= position) {
        return Err(format!(
            "{} {} refers to a record planned after its own first upsert; reorder the rules",
            upsert.sobject, upsert.external_id
        ));
    }
    let earlier = &mut upserts[position];
    for (name, value) in upsert.record {
        earlier.create_only.remove(&name);
        earlier.record.insert(name, value);
    }
    for (name, value) in upsert.create_only {
        if !earlier.record.contains_key(&name) {
            earlier.create_only.insert(name, value);
        }
    }
    earlier.depends_on = earlier.depends_on.max(upsert.depends_on);
    earlier.rule = format!("{}+{}", earlier.rule, upsert.rule);
    Ok(())
}

fn all_hold(conditions: &[Condition], context: &Value) -> bool {
    conditions.iter().all(|condition| condition.holds(context))
}

/// Where a rendered field goes.
enum Placed {
    Record(Value),
    CreateOnly(Value),
    Omitted,
}

struct Planner<'a> {
    templates: &'a Templates,
    json_context: &'a Value,
    context: TemplateValue,
}

impl Planner<'_> {
    fn rule_applies(
        &self,
        mapping: &CompiledMapping,
        rule: &CompiledRule,
    ) -> Result<bool, PlanError> {
        if !all_hold(&rule.conditions, self.json_context) {
            return Ok(false);
        }
        match &rule.if_expression {
            None => Ok(true),
            Some(expression) => self
                .templates
                .is_true(expression, &self.context)
                .map_err(|error| plan_error(mapping, rule, Some("if"), error)),
        }
    }

    fn subject(&self, mapping: &CompiledMapping) -> Result<Option<String>, PlanError> {
        let Some(template) = &mapping.subject else {
            return Ok(self.json_context["msisdn"].as_str().map(str::to_owned));
        };
        let error = |message: String| PlanError {
            mapping: mapping.name.clone(),
            rule: "subject".to_owned(),
            field: None,
            message,
        };
        let rendered = self
            .templates
            .render(template, &self.context)
            .map_err(|e| error(e.message))?;
        match rendered {
            Rendered::Nothing => Ok(None),
            // The subject is an indexed column like the external ids.
            Rendered::Value(value) => external_id_text(Some(&to_json(&value)))
                .map(Some)
                .ok_or_else(|| {
                    error("the subject is longer than 255 characters or has a NUL".to_owned())
                }),
        }
    }

    fn step(
        &self,
        mapping: &CompiledMapping,
        rule: &CompiledRule,
        step: &CompiledStep,
        earlier: &[PlannedUpsert],
    ) -> Result<PlannedUpsert, PlanError> {
        let mut record = Map::new();
        let mut create_only = Map::new();
        for field in &step.fields {
            let placed = self
                .place(field)
                .map_err(|error| plan_error(mapping, rule, Some(&field.name), error))?;
            match placed {
                Placed::Record(value) => record.insert(field.name.clone(), value),
                Placed::CreateOnly(value) => create_only.insert(field.name.clone(), value),
                Placed::Omitted => None,
            };
        }
        let external_id =
            external_id_text(record.get(&step.external_id_field)).ok_or_else(|| PlanError {
                mapping: mapping.name.clone(),
                rule: rule.name.clone(),
                field: Some(step.external_id_field.clone()),
                message: "the external id rendered empty, longer than 255 characters or with a \
                          NUL; the record cannot be matched"
                    .to_owned(),
            })?;
        let depends_on = parent_step(&record, earlier).max(parent_step(&create_only, earlier));
        Ok(PlannedUpsert {
            mapping: mapping.name.clone(),
            rule: rule.name.clone(),
            operation: step.operation,
            sobject: step.object.clone(),
            external_id_field: step.external_id_field.clone(),
            external_id,
            record,
            create_only,
            depends_on,
        })
    }

    /// Where a field's rendered value goes: into every upsert, only into a create, or nowhere.
    fn place(&self, field: &CompiledField) -> Result<Placed, TemplateError> {
        let value = match &field.value {
            Some(value) => self.field_value(value)?,
            None => None,
        };
        let value = match (&field.value_map, value) {
            (Some(map), Some(value)) => map.apply(value).map_err(|message| TemplateError {
                message,
                line: None,
            })?,
            (_, value) => value,
        };
        Ok(match (value, &field.create_default) {
            (Some(value), _) if field.create_only => Placed::CreateOnly(value),
            (Some(value), _) => Placed::Record(value),
            (None, Some(default)) => self
                .field_value(default)?
                .map_or(Placed::Omitted, Placed::CreateOnly),
            (None, None) => Placed::Omitted,
        })
    }

    /// A field's JSON value, or `None` when it is to be left out of the record.
    fn field_value(&self, value: &FieldValue) -> Result<Option<Value>, TemplateError> {
        match value {
            FieldValue::Literal(literal) => Ok(Some(literal.clone())),
            FieldValue::Template(template) => {
                match self.templates.render(template, &self.context)? {
                    Rendered::Nothing => Ok(None),
                    Rendered::Value(value) => Ok(Some(to_json(&value))),
                }
            }
            FieldValue::Reference {
                parent_field,
                value,
            } => Ok(self
                .field_value(value)?
                .filter(|v| !v.is_null())
                .map(|parent_id| {
                    let mut reference = Map::new();
                    reference.insert(parent_field.clone(), parent_id);
                    Value::Object(reference)
                })),
        }
    }
}

fn plan_error(
    mapping: &CompiledMapping,
    rule: &CompiledRule,
    field: Option<&str>,
    error: TemplateError,
) -> PlanError {
    PlanError {
        mapping: mapping.name.clone(),
        rule: rule.name.clone(),
        field: field.map(str::to_owned),
        message: error.message,
    }
}

fn to_json(value: &TemplateValue) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// An external id as text: Salesforce's External ID fields hold at most 255 characters, and
/// the sync log indexes the value, so longer text or a NUL is no usable id.
fn external_id_text(value: Option<&Value>) -> Option<String> {
    const EXTERNAL_ID_MAX_CHARS: usize = 255;
    let text = external_id_value(value)?;
    (!text.contains('\0') && text.chars().count() <= EXTERNAL_ID_MAX_CHARS).then_some(text)
}

fn external_id_value(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The latest earlier upsert whose record a relationship field of this record points at.
fn parent_step(record: &Map<String, Value>, earlier: &[PlannedUpsert]) -> Option<usize> {
    references(record)
        .filter_map(|(_, parent_field, parent_id)| {
            earlier.iter().rposition(|step| {
                step.external_id_field == parent_field && step.external_id == parent_id
            })
        })
        .max()
}
