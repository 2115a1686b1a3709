//! Describe data from a schema file in the emulator's format, so that mappings can be checked
//! without an org: `crates/sf-emulator/schema/salesforce.yaml` describes the objects and fields
//! the shipped mappings write, and an org's own file can describe its customisations.

use std::path::Path;

use sf_emulator::{Field, SObject, Schema};

use super::describe::{FieldDescription, ObjectDescription};

/// Every object of a schema file.
pub fn load(path: &Path) -> Result<Vec<ObjectDescription>, String> {
    let schema = Schema::from_file(path).map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(descriptions(&schema))
}

/// Every object of the built-in schema.
pub fn builtin() -> Vec<ObjectDescription> {
    descriptions(&Schema::builtin())
}

pub fn descriptions(schema: &Schema) -> Vec<ObjectDescription> {
    schema.objects().map(object).collect()
}

fn object(object: &SObject) -> ObjectDescription {
    ObjectDescription {
        name: object.name.clone(),
        createable: true,
        updateable: true,
        fields: object.fields().map(field).collect(),
    }
}

fn field(field: &Field) -> FieldDescription {
    FieldDescription {
        name: field.name.clone(),
        field_type: field.field_type.describe_name().to_owned(),
        length: field.length,
        nillable: field.nillable(),
        createable: field.createable,
        updateable: field.updateable,
        defaulted_on_create: field.is_defaulted_on_create(),
        external_id: field.external_id,
        id_lookup: field.id_lookup(),
        unique: field.unique,
        picklist_values: field.picklist.clone(),
        restricted_picklist: field.restricted,
        reference_to: field.reference_to.clone(),
        relationship_name: field.relationship_name.clone(),
    }
}
