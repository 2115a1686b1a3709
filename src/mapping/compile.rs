//! Turns a parsed [`MappingFile`] into a [`CompiledMapping`] whose templates and conditions
//! are ready to run, collecting every problem with its position in the file.

use std::collections::BTreeMap;

use serde_json::Value;
use serde_saphyr::{Location, Spanned};

use super::condition::Condition;
use super::context::{DERIVED_VARIABLES, FORWARD_FIELDS};
use super::model::{MappingFile, Operation, RuleDef, StepDef};
use super::template::{TemplateRef, Templates};
use super::value_map::ValueMap;
use super::{Issue, IssueSink, Position};

/// Keys of the long form of a field (`{value: …, create_only: true, map: …}`).
pub const FIELD_OPTION_KEYS: [&str; 6] = [
    "value",
    "create_only",
    "create_default",
    "map",
    "map_default",
    "unmapped",
];

/// A mapping file ready to plan events.
#[derive(Debug)]
pub struct CompiledMapping {
    pub file: std::path::PathBuf,
    pub name: String,
    pub description: Option<String>,
    pub conditions: Vec<Condition>,
    pub subject: Option<TemplateRef>,
    pub rules: Vec<CompiledRule>,
}

#[derive(Debug)]
pub struct CompiledRule {
    pub name: String,
    pub conditions: Vec<Condition>,
    pub if_expression: Option<TemplateRef>,
    pub stop: bool,
    pub steps: Vec<CompiledStep>,
}

#[derive(Debug)]
pub struct CompiledStep {
    pub at: Position,
    pub object: String,
    pub external_id_field: String,
    pub operation: Operation,
    pub fields: Vec<CompiledField>,
}

#[derive(Debug)]
pub struct CompiledField {
    pub at: Position,
    pub name: String,
    /// `None` when the field has only a `create_default`.
    pub value: Option<FieldValue>,
    /// Set only when the upsert creates the record.
    pub create_only: bool,
    /// Used, only when the record is created, if `value` renders nothing.
    pub create_default: Option<FieldValue>,
    /// Turns rendered values into allowed picklist values.
    pub value_map: Option<ValueMap>,
}

impl CompiledField {
    fn plain(name: &str, value: FieldValue, at: &Location) -> CompiledField {
        CompiledField {
            at: Position::of(at),
            name: name.to_owned(),
            value: Some(value),
            create_only: false,
            create_default: None,
            value_map: None,
        }
    }
}

/// Where a field's value comes from.
#[derive(Debug)]
pub enum FieldValue {
    /// A YAML literal; `null` clears the field in Salesforce.
    Literal(Value),
    Template(TemplateRef),
    /// A lookup set through the parent's external id: `Contact__r: {Strex_MSISDN__c: …}`.
    Reference {
        parent_field: String,
        value: Box<FieldValue>,
    },
}

/// Compiles one file; problems go to `issues` and the returned mapping omits what failed.
pub fn compile(
    file: MappingFile,
    path: &std::path::Path,
    default_name: &str,
    templates: &mut Templates,
    issues: &mut IssueSink,
) -> CompiledMapping {
    let mut compiler = Compiler { templates, issues };
    compiler.refuse_repeated_rule_names(&file.rules);
    CompiledMapping {
        file: path.to_owned(),
        name: file.name.unwrap_or_else(|| default_name.to_owned()),
        description: file.description,
        conditions: compiler.conditions(&file.match_conditions),
        subject: file
            .subject
            .as_ref()
            .and_then(|s| compiler.template(&s.value, &s.referenced)),
        rules: file
            .rules
            .into_iter()
            .map(|rule| compiler.rule(rule))
            .collect(),
    }
}

struct Compiler<'a> {
    templates: &'a mut Templates,
    issues: &'a mut IssueSink,
}

impl Compiler<'_> {
    /// Rule names tell rows apart in the sync log; two rules of one file with one name would
    /// make that column lie.
    fn refuse_repeated_rule_names(&mut self, rules: &[RuleDef]) {
        let mut seen = std::collections::HashSet::new();
        for rule in rules {
            if !seen.insert(rule.name.value.as_str()) {
                let message = format!("rule name `{}` is used twice in this file", rule.name.value);
                self.issues.push(Issue::at(&rule.name.referenced, message));
            }
        }
    }

    fn rule(&mut self, rule: RuleDef) -> CompiledRule {
        let if_expression = rule.if_expression.as_ref().and_then(|expression| {
            // Checked as an expression first, so that a syntax error reads as the author wrote
            // it rather than as the template it is evaluated in.
            if let Err(message) = self.templates.check_expression(&expression.value) {
                let message = format!("`if` expression: {message}");
                self.issues.push(Issue::at(&expression.referenced, message));
                return None;
            }
            let source = format!("{{{{ {} }}}}", expression.value);
            self.template(&source, &expression.referenced)
        });
        CompiledRule {
            name: rule.name.value,
            conditions: self.conditions(&rule.when),
            if_expression,
            stop: rule.stop,
            steps: rule
                .upserts
                .into_iter()
                .map(|step| self.step(step))
                .collect(),
        }
    }

    fn step(&mut self, step: StepDef) -> CompiledStep {
        if !step.fields.contains_key(&step.external_id.value) {
            self.issues.push(Issue::at(
                &step.external_id.referenced,
                format!(
                    "external id field `{}` must also be set under `fields`",
                    step.external_id.value
                ),
            ));
        }
        let fields = step
            .fields
            .iter()
            .filter_map(|(name, value)| self.field(name, value))
            .collect();
        CompiledStep {
            at: Position::of(&step.object.referenced),
            object: step.object.value,
            external_id_field: step.external_id.value,
            operation: step.operation,
            fields,
        }
    }

    fn field(&mut self, name: &str, spanned: &Spanned<Value>) -> Option<CompiledField> {
        let at = &spanned.referenced;
        let Value::Object(map) = &spanned.value else {
            let value = self.value(&spanned.value, at)?;
            return Some(CompiledField::plain(name, value, at));
        };
        if map
            .keys()
            .all(|key| FIELD_OPTION_KEYS.contains(&key.as_str()))
        {
            return self.long_form_field(name, map, at);
        }
        let value = self.reference(name, map, at)?;
        Some(CompiledField::plain(name, value, at))
    }

    fn long_form_field(
        &mut self,
        name: &str,
        options: &serde_json::Map<String, Value>,
        at: &Location,
    ) -> Option<CompiledField> {
        if !options.contains_key("value") && !options.contains_key("create_default") {
            let message = format!("field `{name}` needs a `value` or a `create_default`");
            self.issues.push(Issue::at(at, message));
            return None;
        }
        let create_only = match options.get("create_only") {
            None => false,
            Some(Value::Bool(flag)) => *flag,
            Some(_) => {
                let message = format!("`create_only` of `{name}` must be true or false");
                self.issues.push(Issue::at(at, message));
                return None;
            }
        };
        let value = match options.get("value") {
            Some(Value::Object(reference)) => Some(self.reference(name, reference, at)?),
            Some(raw) => Some(self.value(raw, at)?),
            None => None,
        };
        let create_default = match options.get("create_default") {
            Some(raw) => Some(self.value(raw, at)?),
            None => None,
        };
        let value_map = match ValueMap::compile(options) {
            Ok(map) => map,
            Err(message) => {
                self.issues
                    .push(Issue::at(at, format!("field `{name}`: {message}")));
                return None;
            }
        };
        Some(CompiledField {
            at: Position::of(at),
            name: name.to_owned(),
            value,
            create_only,
            create_default,
            value_map,
        })
    }

    fn reference(
        &mut self,
        name: &str,
        map: &serde_json::Map<String, Value>,
        at: &Location,
    ) -> Option<FieldValue> {
        let mut entries = map.iter();
        match (entries.next(), entries.next()) {
            (Some((parent_field, raw)), None) if !raw.is_object() => {
                let value = self.value(raw, at)?;
                Some(FieldValue::Reference {
                    parent_field: parent_field.clone(),
                    value: Box::new(value),
                })
            }
            _ => {
                self.issues.push(Issue::at(
                    at,
                    format!(
                        "field `{name}` must be a value, {{value: …, create_only: …}}, or a \
                         relationship with exactly one parent external id such as \
                         {{Strex_MSISDN__c: \"{{{{ msisdn }}}}\"}}"
                    ),
                ));
                None
            }
        }
    }

    fn value(&mut self, raw: &Value, at: &Location) -> Option<FieldValue> {
        match raw {
            Value::String(source) if Templates::is_template(source) => {
                self.template(source, at).map(FieldValue::Template)
            }
            Value::Array(_) | Value::Object(_) => {
                self.issues.push(Issue::at(
                    at,
                    "a field value must be a scalar or a template",
                ));
                None
            }
            literal => Some(FieldValue::Literal(literal.clone())),
        }
    }

    fn template(&mut self, source: &str, at: &Location) -> Option<TemplateRef> {
        let template = match self.templates.compile(source) {
            Ok(template) => template,
            Err(error) => {
                self.issues
                    .push(Issue::at(at, format!("template error: {}", error.message)));
                return None;
            }
        };
        let mut unknown: Vec<String> = self
            .templates
            .variables(&template)
            .into_iter()
            .filter(|name| !is_known_variable(name))
            .collect();
        unknown.sort();
        for name in &unknown {
            self.issues
                .push(Issue::at(at, unknown_variable_message(name)));
        }
        if let Some(problem) = self.templates.unknown_names(&template) {
            self.issues
                .push(Issue::at(at, format!("template error: {problem}")));
            return None;
        }
        unknown.is_empty().then_some(template)
    }

    fn conditions(&mut self, written: &BTreeMap<String, Spanned<Value>>) -> Vec<Condition> {
        let mut compiled = Vec::new();
        for (path, expected) in written {
            if let Some(problem) = condition_problem(path, &expected.value) {
                self.issues.push(Issue::at(&expected.referenced, problem));
                continue;
            }
            match Condition::compile(path, &expected.value) {
                Ok(condition) => compiled.push(condition),
                Err(error) => self
                    .issues
                    .push(Issue::at(&expected.referenced, error.to_string())),
            }
        }
        compiled
    }
}

/// minijinja's global functions, which templates may call.
const TEMPLATE_FUNCTIONS: [&str; 4] = ["range", "dict", "namespace", "debug"];

fn is_known_variable(name: &str) -> bool {
    FORWARD_FIELDS.contains(&name)
        || DERIVED_VARIABLES.contains(&name)
        || TEMPLATE_FUNCTIONS.contains(&name)
}

/// A condition that could never hold as meant: a path that starts at no variable (a typo
/// such as `propertes.SystemAction` would silently never match), or a kind other than the two.
fn condition_problem(path: &str, expected: &Value) -> Option<String> {
    let root = path.split('.').next().unwrap_or_default();
    if !FORWARD_FIELDS.contains(&root) && !DERIVED_VARIABLES.contains(&root) {
        return Some(format!(
            "condition on `{path}`: {}",
            unknown_variable_message(root)
        ));
    }
    let kinds = match expected {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let bad_kind = path == "kind"
        && kinds
            .iter()
            .any(|kind| !matches!(kind.as_str(), Some("mo" | "dlr")));
    bad_kind.then(|| format!("`kind` is mo or dlr, not {expected}"))
}

fn unknown_variable_message(name: &str) -> String {
    let suggestion = FORWARD_FIELDS
        .iter()
        .chain(DERIVED_VARIABLES.iter())
        .map(|known| (strsim::jaro_winkler(name, known), known))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, known)| format!("; did you mean `{known}`?"))
        .unwrap_or_default();
    format!("unknown variable `{name}`{suggestion}")
}
