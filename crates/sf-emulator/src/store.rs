//! In-memory record tables with indexes on unique and external-id fields, and an
//! undo journal so an allOrNone collection can be rolled back.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::field_value::index_key;
use crate::schema::{Field, SObject, Schema};

/// One saved record. `fields` holds only non-null values, under canonical names.
#[derive(Debug, Clone)]
pub(crate) struct StoredRecord {
    pub id: String,
    pub fields: BTreeMap<String, Value>,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

#[derive(Debug)]
pub(crate) enum Undo {
    RemoveLast {
        object: String,
    },
    Restore {
        object: String,
        position: usize,
        record: StoredRecord,
    },
}

#[derive(Debug)]
pub(crate) struct RecordStore {
    tables: HashMap<String, Table>,
}

#[derive(Debug)]
struct Table {
    records: Vec<StoredRecord>,
    by_id: HashMap<String, usize>,
    /// Indexed fields and, per field, positions by comparison key.
    indexed: Vec<Field>,
    indexes: HashMap<String, HashMap<String, Vec<usize>>>,
}

impl RecordStore {
    pub(crate) fn new(schema: &Schema) -> RecordStore {
        let tables = schema
            .objects()
            .map(|object| (object.name.clone(), Table::new(object)))
            .collect();
        RecordStore { tables }
    }

    pub(crate) fn clear(&mut self) {
        for table in self.tables.values_mut() {
            table.clear();
        }
    }

    pub(crate) fn records(&self, object: &str) -> &[StoredRecord] {
        &self.table(object).records
    }

    pub(crate) fn position_of(&self, object: &str, id: &str) -> Option<usize> {
        self.table(object).by_id.get(id).copied()
    }

    pub(crate) fn get(&self, object: &str, id: &str) -> Option<&StoredRecord> {
        let position = self.position_of(object, id)?;
        Some(&self.records(object)[position])
    }

    /// Positions of records whose `field` equals `value` (case rules of the field).
    pub(crate) fn lookup(&self, object: &str, field: &Field, value: &Value) -> Vec<usize> {
        let Some(key) = index_key(field, value) else {
            return Vec::new();
        };
        let table = self.table(object);
        if let Some(index) = table.indexes.get(&field.name) {
            return index.get(&key).cloned().unwrap_or_default();
        }
        table
            .records
            .iter()
            .enumerate()
            .filter(|(_, record)| {
                record
                    .fields
                    .get(&field.name)
                    .and_then(|v| index_key(field, v))
                    == Some(key.clone())
            })
            .map(|(position, _)| position)
            .collect()
    }

    pub(crate) fn insert(&mut self, object: &str, record: StoredRecord) -> Undo {
        let table = self.table_mut(object);
        let position = table.records.len();
        table.by_id.insert(record.id.clone(), position);
        table.records.push(record);
        table.index(position);
        Undo::RemoveLast {
            object: object.to_string(),
        }
    }

    pub(crate) fn replace(&mut self, object: &str, position: usize, record: StoredRecord) -> Undo {
        let table = self.table_mut(object);
        table.unindex(position);
        let previous = std::mem::replace(&mut table.records[position], record);
        table.index(position);
        Undo::Restore {
            object: object.to_string(),
            position,
            record: previous,
        }
    }

    /// Reverses writes; the journal must be replayed newest first.
    pub(crate) fn undo(&mut self, undo: Undo) {
        match undo {
            Undo::RemoveLast { object } => {
                let table = self.table_mut(&object);
                let position = table.records.len() - 1;
                table.unindex(position);
                let removed = table.records.pop().expect("undo follows an insert");
                table.by_id.remove(&removed.id);
            }
            Undo::Restore {
                object,
                position,
                record,
            } => {
                self.replace(&object, position, record);
            }
        }
    }

    /// Tables exist for every schema object; callers resolve names through the schema.
    fn table(&self, object: &str) -> &Table {
        self.tables
            .get(object)
            .expect("object names come from the schema")
    }

    fn table_mut(&mut self, object: &str) -> &mut Table {
        self.tables
            .get_mut(object)
            .expect("object names come from the schema")
    }
}

impl Table {
    fn new(object: &SObject) -> Table {
        let indexed: Vec<Field> = object
            .fields()
            .filter(|field| field.external_id || field.unique)
            .cloned()
            .collect();
        let indexes = indexed
            .iter()
            .map(|f| (f.name.clone(), HashMap::new()))
            .collect();
        Table {
            records: Vec::new(),
            by_id: HashMap::new(),
            indexed,
            indexes,
        }
    }

    fn clear(&mut self) {
        self.records.clear();
        self.by_id.clear();
        self.indexes.values_mut().for_each(HashMap::clear);
    }

    fn index(&mut self, position: usize) {
        for (field, key) in self.keys_at(position) {
            let index = self.indexes.get_mut(&field).expect("indexed field");
            index.entry(key).or_default().push(position);
        }
    }

    fn unindex(&mut self, position: usize) {
        for (field, key) in self.keys_at(position) {
            let index = self.indexes.get_mut(&field).expect("indexed field");
            if let Some(positions) = index.get_mut(&key) {
                positions.retain(|&p| p != position);
                if positions.is_empty() {
                    index.remove(&key);
                }
            }
        }
    }

    fn keys_at(&self, position: usize) -> Vec<(String, String)> {
        let record = &self.records[position];
        self.indexed
            .iter()
            .filter_map(|field| {
                let key = index_key(field, record.fields.get(&field.name)?)?;
                Some((field.name.clone(), key))
            })
            .collect()
    }
}
