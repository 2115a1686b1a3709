//! What strexforce needs to know about Salesforce objects and fields to check mappings
//! against an org: the subset of the sObject Describe result that validation uses.
//!
//! The same model is filled from a live org's describe resource or from a schema file (the
//! emulator's), so that `mappings check` and `salesforce check` apply one set of rules.

use serde::{Deserialize, Serialize};

/// One object, as describe reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectDescription {
    pub name: String,
    pub createable: bool,
    pub updateable: bool,
    pub fields: Vec<FieldDescription>,
}

/// One field, as describe reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDescription {
    pub name: String,
    /// Describe's type name: `string`, `boolean`, `date`, `datetime`, `currency`, `double`,
    /// `int`, `picklist`, `reference`, `phone`, `email`, `textarea`, …
    pub field_type: String,
    /// Maximum length of text types, in UTF-16 units as Salesforce counts them.
    pub length: Option<u32>,
    pub nillable: bool,
    pub createable: bool,
    pub updateable: bool,
    pub defaulted_on_create: bool,
    pub external_id: bool,
    pub id_lookup: bool,
    pub unique: bool,
    /// Active picklist values.
    pub picklist_values: Vec<String>,
    pub restricted_picklist: bool,
    pub reference_to: Vec<String>,
    /// The name to use for `Relationship__r: {…}` lookups by external id.
    pub relationship_name: Option<String>,
}

impl ObjectDescription {
    /// A field by API name; Salesforce field names are case-insensitive.
    pub fn field(&self, name: &str) -> Option<&FieldDescription> {
        self.fields
            .iter()
            .find(|field| field.name.eq_ignore_ascii_case(name))
    }

    /// The reference field whose relationship name is `name` (`Contact__r`, `Account`).
    pub fn relationship(&self, name: &str) -> Option<&FieldDescription> {
        self.fields.iter().find(|field| {
            field
                .relationship_name
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(name))
        })
    }
}

impl FieldDescription {
    /// Required when a record is created: not nillable and not filled by Salesforce.
    pub fn required_on_create(&self) -> bool {
        self.createable && !self.nillable && !self.defaulted_on_create
    }
}
