//! The SFDX metadata under salesforce/ and the emulator's schema describe the same custom
//! fields: what the tests write to the emulator is what a real org would accept.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sf_emulator::{Field, FieldType, Schema};

fn objects_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("salesforce/force-app/main/default/objects")
}

/// Every `objects/<Object>/fields/<Field>.field-meta.xml`, as `Object.Field`.
fn metadata_fields() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for object in std::fs::read_dir(objects_dir()).unwrap() {
        let object = object.unwrap().path();
        let Ok(fields) = std::fs::read_dir(object.join("fields")) else {
            continue;
        };
        for field in fields {
            let file = field.unwrap().file_name().into_string().unwrap();
            let name = file.trim_end_matches(".field-meta.xml");
            names.insert(format!(
                "{}.{name}",
                object.file_name().unwrap().to_str().unwrap()
            ));
        }
    }
    names
}

fn schema_custom_fields(schema: &Schema) -> BTreeSet<String> {
    schema
        .objects()
        .flat_map(|object| {
            object
                .fields()
                .filter(|f| f.is_custom())
                .map(|f| format!("{}.{}", object.name, f.name))
        })
        .collect()
}

fn element<'a>(xml: &'a roxmltree::Document, name: &str) -> Option<&'a str> {
    xml.descendants()
        .find(|n| n.has_tag_name(name))
        .and_then(|n| n.text())
}

fn metadata_type(field: &Field) -> &'static str {
    match field.field_type {
        FieldType::String => "Text",
        FieldType::Textarea if field.length.unwrap_or(255) > 255 => "LongTextArea",
        FieldType::Textarea => "TextArea",
        FieldType::Phone => "Phone",
        FieldType::Email => "Email",
        FieldType::Picklist => "Picklist",
        FieldType::Boolean => "Checkbox",
        FieldType::Currency => "Currency",
        FieldType::Date => "Date",
        FieldType::Datetime => "DateTime",
        FieldType::Reference => "Lookup",
        other => panic!("no metadata type for {other:?}"),
    }
}

fn assert_field_agrees(path: &Path, field: &Field) {
    let text = std::fs::read_to_string(path).unwrap();
    let xml = roxmltree::Document::parse(&text).unwrap();
    let what = path.display();
    assert_eq!(element(&xml, "type"), Some(metadata_type(field)), "{what}");
    let length = element(&xml, "length").map(|l| l.parse::<u32>().unwrap());
    if matches!(field.field_type, FieldType::String) || length.is_some() {
        assert_eq!(length, field.length, "{what}: length");
    }
    assert_eq!(
        element(&xml, "externalId") == Some("true"),
        field.external_id,
        "{what}: externalId"
    );
    assert_eq!(
        element(&xml, "unique") == Some("true"),
        field.unique,
        "{what}: unique"
    );
    assert_eq!(
        element(&xml, "required") == Some("true"),
        field.required,
        "{what}: required"
    );
    if let Some(target) = field.reference_to.first() {
        assert_eq!(
            element(&xml, "referenceTo"),
            Some(target.as_str()),
            "{what}"
        );
        let relationship = element(&xml, "relationshipName").map(|r| format!("{r}__r"));
        assert_eq!(
            relationship.as_deref(),
            field.relationship_name.as_deref(),
            "{what}"
        );
    }
    if field.field_type == FieldType::Picklist {
        let values: Vec<&str> = xml
            .descendants()
            .filter(|n| n.has_tag_name("value"))
            .filter_map(|n| {
                n.children()
                    .find(|c| c.has_tag_name("fullName"))
                    .and_then(|c| c.text())
            })
            .collect();
        assert_eq!(values, field.picklist, "{what}: picklist values");
        assert_eq!(
            element(&xml, "restricted") == Some("true"),
            field.restricted,
            "{what}: restricted"
        );
    }
}

#[test]
fn the_metadata_and_the_emulator_schema_describe_the_same_custom_fields() {
    let schema = Schema::builtin();

    assert_eq!(metadata_fields(), schema_custom_fields(&schema));
    for object in schema.objects() {
        for field in object.fields().filter(|f| f.is_custom()) {
            let path = objects_dir()
                .join(&object.name)
                .join("fields")
                .join(format!("{}.field-meta.xml", field.name));
            assert_field_agrees(&path, field);
        }
    }
}

#[test]
fn every_custom_object_the_schema_knows_has_its_object_metadata() {
    let schema = Schema::builtin();

    for object in schema.objects().filter(|o| o.name.ends_with("__c")) {
        let path = objects_dir()
            .join(&object.name)
            .join(format!("{}.object-meta.xml", object.name));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("{} is missing", path.display()));
        let xml = roxmltree::Document::parse(&text).unwrap();
        assert_eq!(element(&xml, "label"), Some(object.label.as_str()));
    }
}
