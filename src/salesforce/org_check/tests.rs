use std::collections::HashMap;
use std::path::PathBuf;

use super::finding::Severity;
use super::*;
use crate::mapping::{MappingSet, MappingSettings, MappingSource};

/// A small org: Contact with an external id, a restricted and an open picklist, a
/// read-only field, a create-only lookup; Strex_Event__c with a lookup to Contact.
fn org() -> HashMap<String, ObjectDescription> {
    [contact(), event(), locked()]
        .into_iter()
        .map(|object| (object.name.clone(), object))
        .collect()
}

fn contact() -> ObjectDescription {
    object(
        "Contact",
        vec![
            FieldDescription {
                external_id: true,
                unique: true,
                ..text("Ext__c", 20)
            },
            FieldDescription {
                nillable: false,
                ..text("LastName", 80)
            },
            text("FirstName", 40),
            FieldDescription {
                id_lookup: true,
                ..text("Email", 80)
            },
            FieldDescription {
                createable: false,
                updateable: false,
                ..text("Name", 121)
            },
            FieldDescription {
                updateable: false,
                ..text("Origin__c", 40)
            },
            picklist("Status__c", &["Active", "Unsubscribed"], true),
            picklist("Gender__c", &["M", "F"], false),
            FieldDescription {
                field_type: "multipicklist".into(),
                ..picklist("Topics__c", &["News", "Offers"], true)
            },
        ],
    )
}

fn event() -> ObjectDescription {
    object(
        "Strex_Event__c",
        vec![
            FieldDescription {
                external_id: true,
                ..text("Transaction__c", 100)
            },
            FieldDescription {
                field_type: "reference".into(),
                length: Some(18),
                reference_to: vec!["Contact".into()],
                relationship_name: Some("Contact__r".into()),
                ..text("Contact__c", 18)
            },
            FieldDescription {
                field_type: "reference".into(),
                reference_to: vec!["Campaign".into()],
                relationship_name: Some("Campaign__r".into()),
                ..text("Campaign__c", 18)
            },
        ],
    )
}

fn locked() -> ObjectDescription {
    ObjectDescription {
        createable: false,
        updateable: false,
        ..object(
            "Locked__c",
            vec![FieldDescription {
                external_id: true,
                ..text("Key__c", 20)
            }],
        )
    }
}

fn object(name: &str, fields: Vec<FieldDescription>) -> ObjectDescription {
    ObjectDescription {
        name: name.into(),
        createable: true,
        updateable: true,
        fields,
    }
}

fn text(name: &str, length: u32) -> FieldDescription {
    FieldDescription {
        name: name.into(),
        field_type: "string".into(),
        length: Some(length),
        nillable: true,
        createable: true,
        updateable: true,
        defaulted_on_create: false,
        external_id: false,
        id_lookup: false,
        unique: false,
        picklist_values: Vec::new(),
        restricted_picklist: false,
        reference_to: Vec::new(),
        relationship_name: None,
    }
}

fn picklist(name: &str, values: &[&str], restricted: bool) -> FieldDescription {
    FieldDescription {
        field_type: "picklist".into(),
        picklist_values: values.iter().map(|v| v.to_string()).collect(),
        restricted_picklist: restricted,
        ..text(name, 255)
    }
}

/// Checks one mapping file, given as its `upserts:` list, against [`org`].
fn findings(upserts: &str) -> Vec<Finding> {
    let text = format!("name: t\nmatch:\n  kind: mo\nrules:\n  - name: r\n    upserts:\n{upserts}");
    let source = MappingSource {
        path: PathBuf::from("mappings/t.yaml"),
        text,
    };
    let set = MappingSet::from_sources(vec![source], &MappingSettings::default())
        .unwrap_or_else(|error| panic!("the test mapping loads: {error}"));
    let org = org();
    check(&set.targets(), |name| org.get(name).cloned())
}

fn problems(findings: &[Finding]) -> Vec<(Option<&str>, &Problem)> {
    findings
        .iter()
        .map(|f| (f.field.as_deref(), &f.problem))
        .collect()
}

const CONTACT: &str = "      - object: Contact
        external_id: Ext__c
        fields:
          Ext__c: \"{{ msisdn }}\"
          LastName: { create_default: \"{{ msisdn }}\" }
";

#[test]
fn a_step_that_fits_the_org_has_no_findings() {
    let found = findings(CONTACT);

    assert_eq!(found, Vec::new());
}

#[test]
fn an_unknown_object_is_an_error_at_the_step() {
    let found = findings(
        "      - object: Contcat
        external_id: Ext__c
        fields:
          Ext__c: \"{{ msisdn }}\"
",
    );

    assert_eq!(problems(&found), vec![(None, &Problem::UnknownObject)]);
    assert_eq!(found[0].location(), "mappings/t.yaml:7:17");
    assert_eq!(found[0].severity(), Severity::Error);
}

#[test]
fn an_object_the_user_cannot_write_is_an_error() {
    let found = findings(
        "      - object: Locked__c
        external_id: Key__c
        fields:
          Key__c: \"{{ msisdn }}\"
",
    );

    let kinds: Vec<_> = found.iter().map(|f| &f.problem).collect();
    assert!(kinds.contains(&&Problem::ObjectNotCreateable), "{found:?}");
    assert!(kinds.contains(&&Problem::ObjectNotUpdateable), "{found:?}");
}

#[test]
fn an_unknown_field_is_an_error_with_a_suggestion() {
    let found = findings(&format!(
        "{CONTACT}          FirstNmae: \"{{{{ sender }}}}\"\n"
    ));

    assert_eq!(
        problems(&found),
        vec![(
            Some("FirstNmae"),
            &Problem::UnknownField {
                suggestion: Some("FirstName".into())
            }
        )]
    );
    assert!(found[0].to_string().contains("did you mean FirstName?"));
}

#[test]
fn a_read_only_field_cannot_be_set_on_create() {
    let found = findings(&format!("{CONTACT}          Name: Someone\n"));

    assert_eq!(
        problems(&found),
        vec![(Some("Name"), &Problem::FieldNotCreateable)]
    );
}

#[test]
fn a_field_settable_only_on_create_is_written_as_an_ordinary_field() {
    let create_only =
        format!("{CONTACT}          Origin__c: {{ value: sms, create_only: true }}\n");
    let always = format!("{CONTACT}          Origin__c: sms\n");

    assert_eq!(
        problems(&findings(&create_only)),
        vec![(Some("Origin__c"), &Problem::CreateOnlyNotUpdateable)]
    );
    let found = findings(&always);
    assert_eq!(
        problems(&found),
        vec![(Some("Origin__c"), &Problem::SetOnlyOnCreate)]
    );
    assert_eq!(found[0].problem.severity(), Severity::Warning);
}

#[test]
fn an_update_step_needs_updateable_fields_only() {
    let found = findings(
        "      - object: Contact
        external_id: Ext__c
        operation: update
        fields:
          Ext__c: \"{{ msisdn }}\"
          Origin__c: sms
",
    );

    assert_eq!(
        problems(&found),
        vec![(Some("Origin__c"), &Problem::FieldNotUpdateable)]
    );
}

#[test]
fn the_upsert_key_must_be_an_external_id_or_an_id_lookup() {
    let by_name = findings(
        "      - object: Contact
        external_id: FirstName
        fields:
          FirstName: \"{{ sender }}\"
          LastName: x
",
    );
    let by_email = findings(
        "      - object: Contact
        external_id: Email
        fields:
          Email: \"{{ sender }}\"
          LastName: x
",
    );

    assert_eq!(
        problems(&by_name),
        vec![(Some("FirstName"), &Problem::NotExternalId)]
    );
    assert_eq!(by_email, Vec::new());
}

#[test]
fn a_literal_outside_a_restricted_picklist_is_an_error_and_outside_an_open_one_a_warning() {
    let found = findings(&format!(
        "{CONTACT}          Status__c: Subscribed
          Gender__c: X
          Topics__c: News;Sports
"
    ));

    let severities: Vec<_> = found
        .iter()
        .map(|f| (f.field.as_deref().unwrap(), f.severity()))
        .collect();
    assert_eq!(
        severities,
        vec![
            ("Gender__c", Severity::Warning),
            ("Status__c", Severity::Error),
            ("Topics__c", Severity::Error),
        ]
    );
    assert!(found[2].to_string().contains("\"Sports\""), "{}", found[2]);
}

#[test]
fn a_literal_longer_than_the_field_in_utf16_units_is_an_error() {
    // An emoji is one character but two UTF-16 units: 20 fill the 40-unit field, 21 are
    // too long, though 21 characters would pass a count of characters.
    let fits = "😀".repeat(20);
    let longer = "😀".repeat(21);

    let fitting = findings(&format!("{CONTACT}          FirstName: \"{fits}\"\n"));
    let too_long = findings(&format!("{CONTACT}          FirstName: \"{longer}\"\n"));

    assert_eq!(fitting, Vec::new());
    assert_eq!(
        problems(&too_long),
        vec![(
            Some("FirstName"),
            &Problem::TooLong {
                length: 42,
                max: 40
            }
        )]
    );
}

#[test]
fn null_on_a_required_field_is_an_error() {
    let found = findings(
        "      - object: Contact
        external_id: Ext__c
        operation: update
        fields:
          Ext__c: \"{{ msisdn }}\"
          LastName: null
",
    );

    assert_eq!(
        problems(&found),
        vec![(Some("LastName"), &Problem::CannotBeCleared)]
    );
}

#[test]
fn a_required_field_set_by_another_step_of_the_same_record_counts_as_set() {
    let found = findings(&format!(
        "{CONTACT}      - object: Contact
        external_id: Ext__c
        fields:
          Ext__c: \"{{{{ msisdn }}}}\"
          Status__c: Active
"
    ));

    assert_eq!(found, Vec::new());
}

#[test]
fn a_field_required_on_create_that_an_upsert_leaves_out_is_a_warning() {
    let found = findings(
        "      - object: Contact
        external_id: Ext__c
        fields:
          Ext__c: \"{{ msisdn }}\"
",
    );

    assert_eq!(
        problems(&found),
        vec![(Some("LastName"), &Problem::RequiredOnCreate)]
    );
    assert_eq!(found[0].severity(), Severity::Warning);
}

const EVENT: &str = "      - object: Strex_Event__c
        external_id: Transaction__c
        fields:
          Transaction__c: \"{{ transactionId }}\"
";

#[test]
fn a_relationship_by_the_parents_external_id_resolves() {
    let found = findings(&format!(
        "{EVENT}          Contact__r: {{ Ext__c: \"{{{{ msisdn }}}}\" }}\n"
    ));

    assert_eq!(found, Vec::new());
}

#[test]
fn a_relationship_that_does_not_exist_is_an_error_with_a_suggestion() {
    let found = findings(&format!(
        "{EVENT}          Contact__c: {{ Ext__c: \"{{{{ msisdn }}}}\" }}\n"
    ));

    assert_eq!(
        problems(&found),
        vec![(
            Some("Contact__c"),
            &Problem::UnknownRelationship {
                suggestion: Some("Contact__r".into())
            }
        )]
    );
}

#[test]
fn a_relationship_keyed_on_a_field_that_is_not_an_external_id_is_an_error() {
    let found = findings(&format!(
        "{EVENT}          Contact__r: {{ LastName: \"{{{{ msisdn }}}}\" }}\n"
    ));

    assert_eq!(
        problems(&found),
        vec![(
            Some("Contact__r"),
            &Problem::ParentKeyNotExternalId {
                key: "LastName".into(),
                objects: vec!["Contact".into()]
            }
        )]
    );
}

#[test]
fn a_relationship_to_an_object_that_cannot_be_described_is_an_error() {
    let found = findings(&format!(
        "{EVENT}          Campaign__r: {{ Code__c: \"{{{{ msisdn }}}}\" }}\n"
    ));

    assert_eq!(
        problems(&found),
        vec![(
            Some("Campaign__r"),
            &Problem::ParentObjectUnknown {
                objects: vec!["Campaign".into()]
            }
        )]
    );
}

#[test]
fn parents_of_relationships_are_listed_for_describing() {
    let text = format!("{EVENT}          Contact__r: {{ Ext__c: \"{{{{ msisdn }}}}\" }}\n");
    let source = MappingSource {
        path: PathBuf::from("t.yaml"),
        text: format!("match:\n  kind: mo\nrules:\n  - name: r\n    upserts:\n{text}"),
    };
    let set = MappingSet::from_sources(vec![source], &MappingSettings::default()).unwrap();
    let org = org();

    let parents = parent_objects(&set.targets(), |name| org.get(name).cloned());

    assert_eq!(
        objects_written(&set.targets()),
        ["Strex_Event__c".to_owned()].into()
    );
    assert_eq!(parents, ["Contact".to_owned()].into());
}
