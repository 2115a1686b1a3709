//! Saving records: match on the upsert key, then insert or update with Salesforce's
//! DML rules (createable/updateable, required fields, unique values). Shared by the
//! single-record and the sObject Collections forms.

use std::collections::BTreeMap;

use chrono::{DateTime, Timelike, Utc};
use serde_json::{Map, Value};

use crate::field_value::{display, index_key};
use crate::record_body::{FieldChange, read_changes};
use crate::record_error::RecordError;
use crate::record_id::RecordIdGenerator;
use crate::schema::{Field, FieldType, SObject, Schema};
use crate::store::{RecordStore, StoredRecord, Undo};

pub(crate) enum UpsertKey<'k> {
    Match { field: &'k Field, value: Value },
    Insert,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Saved {
    pub id: String,
    pub created: bool,
}

/// Applies writes to the store and remembers how to undo them.
pub(crate) struct Writer<'a> {
    schema: &'a Schema,
    store: &'a mut RecordStore,
    ids: &'a RecordIdGenerator,
    journal: Vec<Undo>,
    /// Ids of the records written so far, once per write; forgotten on rollback.
    written: Vec<String>,
    now: DateTime<Utc>,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(
        schema: &'a Schema,
        store: &'a mut RecordStore,
        ids: &'a RecordIdGenerator,
    ) -> Writer<'a> {
        let now = Utc::now()
            .with_nanosecond(0)
            .expect("zero nanoseconds is valid");
        Writer {
            schema,
            store,
            ids,
            journal: Vec::new(),
            written: Vec::new(),
            now,
        }
    }

    /// Upserts one record body. With `update_only`, a missing match is an error instead
    /// of an insert.
    pub(crate) fn upsert(
        &mut self,
        object: &SObject,
        key: &UpsertKey<'_>,
        body: &Map<String, Value>,
        update_only: bool,
    ) -> Result<Saved, RecordError> {
        let mut changes = read_changes(self.schema, self.store, object, body)?;
        let UpsertKey::Match { field, value } = key else {
            return self.insert(object, changes);
        };
        check_key_in_body(field, value, &changes)?;
        match self.matches(object, field, value).as_slice() {
            [] if update_only || field.field_type == FieldType::Id => {
                Err(RecordError::NoMatchForUpdateOnly)
            }
            [] => {
                changes.retain(|change| change.field != field.name);
                changes.push(FieldChange {
                    field: field.name.clone(),
                    value: value.clone(),
                });
                self.insert(object, changes)
            }
            [position] => self.update(object, *position, changes),
            several => Err(self.multiple_matches(object, field, several)),
        }
    }

    pub(crate) fn rollback(&mut self) {
        while let Some(undo) = self.journal.pop() {
            self.store.undo(undo);
        }
        self.written.clear();
    }

    /// The records written and kept, one entry per write.
    pub(crate) fn written(&self) -> &[String] {
        &self.written
    }

    fn matches(&self, object: &SObject, field: &Field, value: &Value) -> Vec<usize> {
        if field.field_type == FieldType::Id {
            let id = value.as_str().unwrap_or_default();
            return self
                .store
                .position_of(&object.name, id)
                .into_iter()
                .collect();
        }
        self.store.lookup(&object.name, field, value)
    }

    fn multiple_matches(&self, object: &SObject, field: &Field, found: &[usize]) -> RecordError {
        let records = self.store.records(&object.name);
        RecordError::MultipleMatches {
            field: field.name.clone(),
            ids: found.iter().map(|&p| records[p].id.clone()).collect(),
        }
    }

    fn insert(
        &mut self,
        object: &SObject,
        changes: Vec<FieldChange>,
    ) -> Result<Saved, RecordError> {
        reject_unwritable(object, &changes, |field| field.createable)?;
        let mut fields = BTreeMap::new();
        apply(&mut fields, changes);
        let missing: Vec<String> = object
            .fields()
            .filter(|f| f.required && !f.is_defaulted_on_create() && !fields.contains_key(&f.name))
            .map(|f| f.name.clone())
            .collect();
        if !missing.is_empty() {
            return Err(RecordError::RequiredFieldMissing(missing));
        }
        self.check_unique(object, &fields, None)?;

        let id = self.ids.next_id(&object.key_prefix);
        fill_defaults(object, &mut fields, &id);
        fill_compound(object, &mut fields);
        let record = StoredRecord {
            id: id.clone(),
            fields,
            created: self.now,
            modified: self.now,
        };
        self.journal.push(self.store.insert(&object.name, record));
        self.written.push(id.clone());
        Ok(Saved { id, created: true })
    }

    fn update(
        &mut self,
        object: &SObject,
        position: usize,
        changes: Vec<FieldChange>,
    ) -> Result<Saved, RecordError> {
        reject_unwritable(object, &changes, |field| field.updateable)?;
        let nulled: Vec<String> = changes
            .iter()
            .filter(|c| c.value.is_null() && object.field(&c.field).is_some_and(|f| f.required))
            .map(|c| c.field.clone())
            .collect();
        if !nulled.is_empty() {
            return Err(RecordError::RequiredFieldMissing(nulled));
        }
        let mut record = self.store.records(&object.name)[position].clone();
        apply(&mut record.fields, changes);
        self.check_unique(object, &record.fields, Some(position))?;

        fill_compound(object, &mut record.fields);
        record.modified = self.now;
        let id = record.id.clone();
        self.journal
            .push(self.store.replace(&object.name, position, record));
        self.written.push(id.clone());
        Ok(Saved { id, created: false })
    }

    /// A unique value may not appear on any other record (DUPLICATE_VALUE).
    fn check_unique(
        &self,
        object: &SObject,
        fields: &BTreeMap<String, Value>,
        own_position: Option<usize>,
    ) -> Result<(), RecordError> {
        for field in object.fields().filter(|f| f.unique) {
            let Some(value) = fields.get(&field.name) else {
                continue;
            };
            let positions = self.store.lookup(&object.name, field, value);
            if let Some(&other) = positions.iter().find(|&&p| Some(p) != own_position) {
                return Err(RecordError::DuplicateValue {
                    field: field.name.clone(),
                    other_id: self.store.records(&object.name)[other].id.clone(),
                });
            }
        }
        Ok(())
    }
}

/// A body may repeat the URL's external id only with the same value.
fn check_key_in_body(
    field: &Field,
    value: &Value,
    changes: &[FieldChange],
) -> Result<(), RecordError> {
    let Some(repeated) = changes.iter().find(|change| change.field == field.name) else {
        return Ok(());
    };
    if index_key(field, &repeated.value) == index_key(field, value) {
        return Ok(());
    }
    Err(RecordError::KeyMismatch {
        field: field.name.clone(),
        url_value: display(value),
        body_value: display(&repeated.value),
    })
}

fn reject_unwritable(
    object: &SObject,
    changes: &[FieldChange],
    writable: impl Fn(&Field) -> bool,
) -> Result<(), RecordError> {
    let refused: Vec<String> = changes
        .iter()
        .filter(|change| object.field(&change.field).is_some_and(|f| !writable(f)))
        .map(|change| change.field.clone())
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(RecordError::NotWritable(refused))
    }
}

/// Null removes a value; absent fields are left as they are.
fn apply(fields: &mut BTreeMap<String, Value>, changes: Vec<FieldChange>) {
    for FieldChange { field, value } in changes {
        if value.is_null() {
            fields.remove(&field);
        } else {
            fields.insert(field, value);
        }
    }
}

/// Checkboxes start false; a defaulted text field (a custom object's Name) gets the
/// record Id, which is what Salesforce stores when the Name is left empty.
fn fill_defaults(object: &SObject, fields: &mut BTreeMap<String, Value>, id: &str) {
    for field in object
        .fields()
        .filter(|f| !f.system && f.is_defaulted_on_create())
    {
        if fields.contains_key(&field.name) {
            continue;
        }
        if field.is_boolean() {
            fields.insert(field.name.clone(), Value::Bool(false));
        } else if field.field_type.is_text() && !field.field_type.is_picklist() {
            fields.insert(field.name.clone(), Value::String(id.to_string()));
        }
    }
}

fn fill_compound(object: &SObject, fields: &mut BTreeMap<String, Value>) {
    for field in object.fields().filter(|f| f.is_compound()) {
        let parts: Vec<String> = field
            .compound_of
            .iter()
            .filter_map(|part| fields.get(part).map(display))
            .collect();
        if parts.is_empty() {
            fields.remove(&field.name);
        } else {
            fields.insert(field.name.clone(), Value::String(parts.join(" ")));
        }
    }
}
