//! The org's data model: which sObjects exist and what their fields accept.
//!
//! Parsed from YAML (see `schema/salesforce.yaml` and the README for the format),
//! then normalised so that every object carries its implicit system fields and every
//! field has its type's default length or precision.

mod field;
mod rules;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use field::{Field, FieldType};

const BUILTIN_YAML: &str = include_str!("../../schema/salesforce.yaml");

#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    #[error("cannot read schema file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("schema YAML is invalid: {0}")]
    Yaml(#[from] serde_saphyr::Error),
    #[error("object {object}: {reason}")]
    InvalidObject { object: String, reason: String },
    #[error("field {object}.{field}: {reason}")]
    InvalidField {
        object: String,
        field: String,
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub struct Schema {
    objects: Vec<SObject>,
}

#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SObject {
    pub name: String,
    pub label: String,
    pub label_plural: String,
    /// The three characters every record Id of this object starts with.
    pub key_prefix: String,
    pub custom: bool,
    fields: Vec<Field>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SchemaFile {
    objects: BTreeMap<String, ObjectSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectSpec {
    label: Option<String>,
    label_plural: Option<String>,
    key_prefix: String,
    #[serde(default)]
    fields: BTreeMap<String, Field>,
}

impl Schema {
    /// The schema shipped with the emulator: the objects strexforce writes.
    pub fn builtin() -> Schema {
        Schema::from_yaml(BUILTIN_YAML).expect("the built-in schema is valid")
    }

    pub fn from_file(path: impl AsRef<Path>) -> Result<Schema, SchemaError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Schema::from_yaml(&text)
    }

    pub fn from_yaml(text: &str) -> Result<Schema, SchemaError> {
        let file: SchemaFile = serde_saphyr::from_str(text)?;
        let objects = file
            .objects
            .into_iter()
            .map(|(name, spec)| build_object(name, spec))
            .collect::<Result<Vec<_>, _>>()?;
        let schema = Schema { objects };
        rules::check_schema(&schema)?;
        Ok(schema)
    }

    /// Looks an object up by API name; like Salesforce, case does not matter.
    pub fn object(&self, name: &str) -> Option<&SObject> {
        self.objects
            .iter()
            .find(|object| object.name.eq_ignore_ascii_case(name))
    }

    pub fn objects(&self) -> impl Iterator<Item = &SObject> {
        self.objects.iter()
    }

    pub fn object_for_prefix(&self, prefix: &str) -> Option<&SObject> {
        self.objects
            .iter()
            .find(|object| object.key_prefix == prefix)
    }
}

impl SObject {
    /// Looks a field up by API name, ignoring case as Salesforce does.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|field| field.name.eq_ignore_ascii_case(name))
    }

    /// System fields first, then the configured fields in name order.
    pub fn fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter()
    }

    /// The reference field whose relationship name is `name` (`Account`, `Contact__r`).
    pub fn field_by_relationship(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|field| {
            field
                .relationship_name
                .as_deref()
                .is_some_and(|relationship| relationship.eq_ignore_ascii_case(name))
        })
    }

    pub fn external_id_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().filter(|field| field.external_id)
    }
}

fn build_object(name: String, spec: ObjectSpec) -> Result<SObject, SchemaError> {
    let label = spec
        .label
        .unwrap_or_else(|| name.trim_end_matches("__c").to_string());
    let label_plural = spec.label_plural.unwrap_or_else(|| format!("{label}s"));
    let mut fields = system_fields(&label);
    for (field_name, mut field) in spec.fields {
        field.name = field_name;
        rules::normalise_field(&mut field);
        rules::check_field(&name, &field)?;
        fields.push(field);
    }
    Ok(SObject {
        custom: name.ends_with("__c"),
        name,
        label,
        label_plural,
        key_prefix: spec.key_prefix,
        fields,
    })
}

/// Every Salesforce object has these; they are read-only and maintained by the org.
fn system_fields(object_label: &str) -> Vec<Field> {
    let mut id = Field::system("Id", FieldType::Id, &format!("{object_label} ID"));
    id.case_sensitive = true;
    vec![
        id,
        Field::system("CreatedDate", FieldType::Datetime, "Created Date"),
        Field::system(
            "LastModifiedDate",
            FieldType::Datetime,
            "Last Modified Date",
        ),
        Field::system("SystemModstamp", FieldType::Datetime, "System Modstamp"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_schema_has_the_objects_the_connector_writes() {
        let schema = Schema::builtin();

        let names: Vec<_> = schema
            .objects()
            .map(|object| object.name.as_str())
            .collect();

        for expected in ["Account", "Contact", "Opportunity", "Strex_Event__c"] {
            assert!(names.contains(&expected), "missing {expected}");
        }
    }

    #[test]
    fn unknown_field_key_is_rejected_with_its_name() {
        let yaml = "
objects:
  A__c:
    key_prefix: a05
    fields:
      X__c: { type: string, lenght: 5 }
";

        let error = Schema::from_yaml(yaml).unwrap_err().to_string();

        assert!(error.contains("lenght"), "{error}");
    }
}
