use sf_emulator::{FieldType, Schema};

/// A one-object schema whose single field is `spec`.
fn with_field(spec: &str) -> String {
    format!("objects:\n  A__c:\n    key_prefix: a01\n    fields:\n      {spec}\n")
}

#[test]
fn a_schema_file_is_loaded_with_defaults_and_system_fields() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let yaml = "
objects:
  Gift__c:
    key_prefix: a09
    fields:
      Donor__c: { type: reference, reference_to: [Gift__c] }
      Note__c: { type: textarea }
";
    std::fs::write(file.path(), yaml).unwrap();

    let schema = Schema::from_file(file.path()).unwrap();

    let gift = schema.object("gift__c").unwrap();
    assert_eq!(gift.label, "Gift");
    assert!(gift.custom);
    assert_eq!(gift.field("Id").unwrap().field_type, FieldType::Id);
    let donor = gift.field("Donor__c").unwrap();
    assert_eq!(donor.relationship_name.as_deref(), Some("Donor__r"));
    assert_eq!(gift.field("Note__c").unwrap().length, Some(255));
}

#[test]
fn inconsistent_schemas_are_rejected_with_the_reason() {
    let cases = [
        (
            "objects:\n  A__c:\n    key_prefix: a1\n".to_string(),
            "key_prefix",
        ),
        (
            "objects:\n  A__c:\n    key_prefix: a01\n    colour: red\n".to_string(),
            "colour",
        ),
        (
            with_field("R__c: { type: reference, reference_to: [Nope__c] }"),
            "Nope__c",
        ),
        (with_field("P__c: { type: picklist }"), "picklist"),
        (with_field("Id: { type: string }"), "system field"),
        (with_field("X__c: { type: text }"), "text"),
        (
            with_field("B__c: { type: boolean, external_id: true }"),
            "external ids",
        ),
    ];

    for (yaml, expected) in cases {
        let error = Schema::from_yaml(&yaml).unwrap_err().to_string();

        assert!(error.contains(expected), "{yaml}: {error}");
    }
}

#[test]
fn a_missing_schema_file_names_the_path() {
    let error = Schema::from_file("no/such/schema.yaml").unwrap_err();

    assert!(error.to_string().contains("no/such/schema.yaml"), "{error}");
}

#[test]
fn builtin_fields_match_what_the_shipped_mappings_write() {
    let schema = Schema::builtin();

    let contact = schema.object("Contact").unwrap();
    let msisdn = contact.field("Strex_MSISDN__c").unwrap();
    let event = schema.object("Strex_Event__c").unwrap();

    assert!(msisdn.external_id && msisdn.unique);
    assert_eq!(msisdn.length, Some(20));
    assert_eq!(
        contact.field("MobilePhone").unwrap().field_type,
        FieldType::Phone
    );
    assert_eq!(event.key_prefix, "a01");
    assert_eq!(event.field("Message__c").unwrap().length, Some(1600));
    assert_eq!(event.field("Kind__c").unwrap().picklist, ["MO", "DLR"]);
    assert!(!event.field("Name").unwrap().required);
    let opportunity = schema.object("Opportunity").unwrap();
    assert!(!opportunity.field("ContactId").unwrap().updateable);
}
