//! Checks what the mappings write against an org's describe results: objects and fields
//! exist and may be written the way each step writes them, upsert keys are external ids,
//! literal values fit, and relationships resolve to a parent's external id.
//!
//! Pure: the describe results come from a lookup, so the same rules apply to a live org
//! (`salesforce check`) and to a schema file (`mappings check`).

mod described;
mod finding;

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::Value;

pub use described::Described;
pub use finding::{Finding, Problem, Severity};

use super::describe::{FieldDescription, ObjectDescription};
use crate::mapping::{FieldTarget, Operation, Position, StepTarget};

/// Every finding for `targets`, in file order. `describe` answers for an object name
/// (as written in the mappings) with its describe result, or `None` if there is none.
pub fn check<F>(targets: &[StepTarget<'_>], describe: F) -> Vec<Finding>
where
    F: Fn(&str) -> Option<ObjectDescription>,
{
    let mut findings = Vec::new();
    let set_per_record = fields_set_per_record(targets);
    for target in targets {
        let mut step = StepCheck {
            target,
            describe: &describe,
            set_for_record: &set_per_record[&record_key(target)],
            findings: &mut findings,
        };
        step.run();
    }
    findings
}

/// Which record a step writes, as far as the files tell: object and upsert key.
fn record_key(target: &StepTarget<'_>) -> (String, String) {
    (
        target.object.to_ascii_lowercase(),
        target.external_id_field.to_ascii_lowercase(),
    )
}

/// The fields any step sets per record kind. Upserts of one record by several rules of an
/// event are merged before they are sent, so a field another rule sets (a placeholder
/// LastName, say) counts as set.
fn fields_set_per_record(targets: &[StepTarget<'_>]) -> HashMap<(String, String), HashSet<String>> {
    let mut set: HashMap<(String, String), HashSet<String>> = HashMap::new();
    for target in targets {
        let names = target.fields.iter().map(|f| f.name.to_ascii_lowercase());
        set.entry(record_key(target)).or_default().extend(names);
    }
    set
}

/// The objects the steps write, to describe before [`check`].
pub fn objects_written(targets: &[StepTarget<'_>]) -> BTreeSet<String> {
    targets.iter().map(|t| t.object.to_owned()).collect()
}

/// The parents that the steps' relationships point to, once the written objects are
/// described; [`check`] looks them up too.
pub fn parent_objects<F>(targets: &[StepTarget<'_>], describe: F) -> BTreeSet<String>
where
    F: Fn(&str) -> Option<ObjectDescription>,
{
    let mut parents = BTreeSet::new();
    for target in targets {
        let Some(object) = describe(target.object) else {
            continue;
        };
        let relationships = target
            .fields
            .iter()
            .filter(|f| f.parent_external_id.is_some());
        for field in relationships {
            if let Some(reference) = object.relationship(field.name) {
                parents.extend(reference.reference_to.iter().cloned());
            }
        }
    }
    parents
}

/// Checking one step.
struct StepCheck<'s, 't, F> {
    target: &'s StepTarget<'t>,
    describe: &'s F,
    /// Lower-case names of the fields the steps writing this record set.
    set_for_record: &'s HashSet<String>,
    findings: &'s mut Vec<Finding>,
}

impl<F> StepCheck<'_, '_, F>
where
    F: Fn(&str) -> Option<ObjectDescription>,
{
    fn run(&mut self) {
        let Some(object) = (self.describe)(self.target.object) else {
            self.report(self.target.at, None, Problem::UnknownObject);
            return;
        };
        self.check_object(&object);
        self.check_key(&object);
        for field in &self.target.fields {
            match field.parent_external_id {
                Some(key) => self.check_relationship(&object, field, key),
                None => self.check_field(&object, field),
            }
        }
        if self.target.operation == Operation::Upsert {
            self.check_required(&object);
        }
    }

    fn check_object(&mut self, object: &ObjectDescription) {
        let upsert = self.target.operation == Operation::Upsert;
        if upsert && !object.createable {
            self.report(self.target.at, None, Problem::ObjectNotCreateable);
        }
        if !object.updateable {
            self.report(self.target.at, None, Problem::ObjectNotUpdateable);
        }
    }

    fn check_key(&mut self, object: &ObjectDescription) {
        let key = self.target.external_id_field;
        match object.field(key) {
            None => {
                let suggestion = closest(key, object.fields.iter().map(|f| f.name.as_str()));
                self.report(
                    self.target.at,
                    Some(key),
                    Problem::UnknownField { suggestion },
                );
            }
            Some(field) if !(field.external_id || field.id_lookup) => {
                self.report(self.target.at, Some(key), Problem::NotExternalId);
            }
            Some(_) => {}
        }
    }

    fn check_field(&mut self, object: &ObjectDescription, target: &FieldTarget<'_>) {
        let Some(field) = object.field(target.name) else {
            let suggestion = closest(target.name, object.fields.iter().map(|f| f.name.as_str()));
            self.report(
                target.at,
                Some(target.name),
                Problem::UnknownField { suggestion },
            );
            return;
        };
        self.check_access(field, target);
        // A value map's outputs are values the field will receive, like literals.
        let values = target
            .literal
            .into_iter()
            .chain(target.mapped_values.iter().copied());
        for literal in values {
            for problem in literal_problems(field, literal) {
                self.report(target.at, Some(target.name), problem);
            }
        }
    }

    /// What each kind of step sends when. An upsert sends ordinary fields on create and on
    /// update; when Salesforce refuses one on update (it can be set only on create), sync
    /// sends the record again without it, so that is a warning. Create-only fields go in an
    /// update right after the record was created, unless the create needed them (a required
    /// field): such a field must be updateable. Update steps never create.
    fn check_access(&mut self, field: &FieldDescription, target: &FieldTarget<'_>) {
        let upsert = self.target.operation == Operation::Upsert;
        let problem = if upsert && !field.createable {
            Some(Problem::FieldNotCreateable)
        } else if field.updateable {
            None
        } else if !upsert {
            Some(Problem::FieldNotUpdateable)
        } else if !target.create_only {
            Some(Problem::SetOnlyOnCreate)
        } else if field.required_on_create() {
            None
        } else {
            Some(Problem::CreateOnlyNotUpdateable)
        };
        if let Some(problem) = problem {
            self.report(target.at, Some(target.name), problem);
        }
    }

    fn check_relationship(
        &mut self,
        object: &ObjectDescription,
        target: &FieldTarget<'_>,
        key: &str,
    ) {
        let Some(reference) = object.relationship(target.name) else {
            let names = object
                .fields
                .iter()
                .filter_map(|f| f.relationship_name.as_deref());
            let suggestion = closest(target.name, names);
            self.report(
                target.at,
                Some(target.name),
                Problem::UnknownRelationship { suggestion },
            );
            return;
        };
        self.check_access(reference, target);
        if let Some(problem) = self.parent_key_problem(reference, key) {
            self.report(target.at, Some(target.name), problem);
        }
    }

    /// The parent key must be an external id of at least one of the reference's targets.
    fn parent_key_problem(&self, reference: &FieldDescription, key: &str) -> Option<Problem> {
        let parents: Vec<ObjectDescription> = reference
            .reference_to
            .iter()
            .filter_map(|name| (self.describe)(name))
            .collect();
        if parents.is_empty() {
            let objects = reference.reference_to.clone();
            return Some(Problem::ParentObjectUnknown { objects });
        }
        let keyed = parents.iter().any(|parent| {
            parent
                .field(key)
                .is_some_and(|field| field.external_id || field.id_lookup)
        });
        let objects = parents.into_iter().map(|parent| parent.name).collect();
        (!keyed).then(|| Problem::ParentKeyNotExternalId {
            key: key.to_owned(),
            objects,
        })
    }

    /// Fields Salesforce needs on create that no step writing the record sets.
    fn check_required(&mut self, object: &ObjectDescription) {
        let missing: Vec<&FieldDescription> = object
            .fields
            .iter()
            .filter(|field| field.required_on_create() && !self.sets(field))
            .collect();
        for field in missing {
            self.report(self.target.at, Some(&field.name), Problem::RequiredOnCreate);
        }
    }

    fn sets(&self, field: &FieldDescription) -> bool {
        let relationship = field
            .relationship_name
            .as_deref()
            .map(str::to_ascii_lowercase);
        self.set_for_record
            .contains(&field.name.to_ascii_lowercase())
            || relationship.is_some_and(|r| self.set_for_record.contains(&r))
    }

    fn report(&mut self, at: Position, field: Option<&str>, problem: Problem) {
        self.findings.push(Finding {
            file: self.target.file.to_owned(),
            at,
            mapping: self.target.mapping.to_owned(),
            rule: self.target.rule.to_owned(),
            object: self.target.object.to_owned(),
            field: field.map(str::to_owned),
            problem,
        });
    }
}

/// What is wrong with a literal value for `field`: picklist membership, length in UTF-16
/// units (Salesforce's STRING_TOO_LONG counts those), and null on a required field.
fn literal_problems(field: &FieldDescription, literal: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    match literal {
        Value::String(text) => {
            problems.extend(picklist_problems(field, text));
            let length = text.encode_utf16().count();
            if let Some(max) = field.length.filter(|max| length > *max as usize) {
                problems.push(Problem::TooLong { length, max });
            }
        }
        // Checkboxes are never null: Salesforce stores null as false.
        Value::Null if !field.nillable && field.field_type != "boolean" => {
            problems.push(Problem::CannotBeCleared);
        }
        _ => {}
    }
    problems
}

/// Multi-select picklists take `;`-separated values.
fn picklist_problems(field: &FieldDescription, text: &str) -> Vec<Problem> {
    let values: Vec<&str> = match field.field_type.as_str() {
        "picklist" => vec![text],
        "multipicklist" => text.split(';').map(str::trim).collect(),
        _ => return Vec::new(),
    };
    values
        .into_iter()
        .filter(|value| !field.picklist_values.iter().any(|allowed| allowed == value))
        .map(|value| Problem::PicklistValueNotAllowed {
            value: value.to_owned(),
            restricted: field.restricted_picklist,
        })
        .collect()
}

/// The most similar name, if one is close enough to be a likely typo.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<String> {
    let wanted = name.to_ascii_lowercase();
    candidates
        .map(|candidate| {
            let distance = strsim::levenshtein(&wanted, &candidate.to_ascii_lowercase());
            (distance, candidate)
        })
        .filter(|(distance, _)| *distance <= 3)
        .min()
        .map(|(_, candidate)| candidate.to_owned())
}

#[cfg(test)]
mod tests;
