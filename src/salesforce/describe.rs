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

/// The describe resource's JSON (reference §8), of which only what checks use is read.
mod wire {
    use serde::Deserialize;

    #[derive(Deserialize)]
    pub(super) struct Object {
        pub name: String,
        #[serde(default)]
        pub createable: bool,
        #[serde(default)]
        pub updateable: bool,
        #[serde(default)]
        pub fields: Vec<Field>,
    }

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(super) struct Field {
        pub name: String,
        #[serde(rename = "type")]
        pub field_type: String,
        #[serde(default)]
        pub length: u32,
        #[serde(default)]
        pub nillable: bool,
        #[serde(default)]
        pub createable: bool,
        #[serde(default)]
        pub updateable: bool,
        #[serde(default)]
        pub defaulted_on_create: bool,
        #[serde(default)]
        pub external_id: bool,
        #[serde(default)]
        pub id_lookup: bool,
        #[serde(default)]
        pub unique: bool,
        #[serde(default)]
        pub picklist_values: Vec<PicklistValue>,
        #[serde(default)]
        pub restricted_picklist: bool,
        #[serde(default)]
        pub reference_to: Vec<String>,
        pub relationship_name: Option<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct PicklistValue {
        pub value: String,
        #[serde(default = "yes")]
        pub active: bool,
    }

    fn yes() -> bool {
        true
    }
}

impl ObjectDescription {
    /// Reads the body of `GET …/sobjects/{object}/describe/`.
    pub fn from_describe_json(body: &[u8]) -> Result<ObjectDescription, serde_json::Error> {
        let object: wire::Object = serde_json::from_slice(body)?;
        Ok(ObjectDescription {
            name: object.name,
            createable: object.createable,
            updateable: object.updateable,
            fields: object
                .fields
                .into_iter()
                .map(FieldDescription::from)
                .collect(),
        })
    }
}

impl From<wire::Field> for FieldDescription {
    fn from(field: wire::Field) -> FieldDescription {
        FieldDescription {
            // Describe reports 0 for types without a length.
            length: Some(field.length).filter(|length| *length > 0),
            picklist_values: field
                .picklist_values
                .into_iter()
                .filter(|value| value.active)
                .map(|value| value.value)
                .collect(),
            name: field.name,
            field_type: field.field_type,
            nillable: field.nillable,
            createable: field.createable,
            updateable: field.updateable,
            defaulted_on_create: field.defaulted_on_create,
            external_id: field.external_id,
            id_lookup: field.id_lookup,
            unique: field.unique,
            restricted_picklist: field.restricted_picklist,
            reference_to: field.reference_to,
            relationship_name: field.relationship_name,
        }
    }
}
