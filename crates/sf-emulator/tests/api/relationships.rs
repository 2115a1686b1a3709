use serde_json::json;
use sf_emulator::Schema;

use crate::support::{config, spawn, spawn_with};

#[tokio::test]
async fn a_custom_relationship_by_external_id_sets_the_parent_id() {
    let org = spawn().await;
    let parent = org
        .upsert_contact("+4796000001", json!({"LastName": "Foreldre"}))
        .await;
    let url = org.data("/sobjects/Strex_Event__c/Strex_Transaction_Id__c/ev-10");

    let reply = org
        .patch(
            &url,
            json!({"Kind__c": "MO", "Contact__r": {"Strex_MSISDN__c": "+4796000001"}}),
        )
        .await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(
        org.emulator.records("Strex_Event__c")[0]["Contact__c"],
        parent.body["id"]
    );
}

#[tokio::test]
async fn a_standard_relationship_uses_the_name_without_suffix() {
    let org = spawn().await;
    let account_url = org.data("/sobjects/Account/Strex_Account_Key__c/org-42");
    let account = org
        .patch(&account_url, json!({"Name": "Innsamling AS"}))
        .await;

    let reply = org
        .upsert_contact(
            "4796000002",
            json!({
                "LastName": "Barn",
                "Account": {"attributes": {"type": "Account"}, "Strex_Account_Key__c": "org-42"},
            }),
        )
        .await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    assert_eq!(
        org.emulator.records("Contact")[0]["AccountId"],
        account.body["id"]
    );
}

#[tokio::test]
async fn a_missing_parent_is_an_invalid_field_error_naming_the_key() {
    let org = spawn().await;
    let url = org.data("/sobjects/Strex_Event__c/Strex_Transaction_Id__c/ev-11");

    let reply = org
        .patch(
            &url,
            json!({"Contact__r": {"Strex_MSISDN__c": "+4796009999"}}),
        )
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_code(), "INVALID_FIELD");
    assert_eq!(
        reply.body[0]["message"],
        "Foreign key external ID: +4796009999 not found for field Strex_MSISDN__c in entity Contact"
    );
    assert!(org.emulator.records("Strex_Event__c").is_empty());
}

#[tokio::test]
async fn a_missing_parent_fails_only_its_record_in_a_collection() {
    let org = spawn().await;
    org.upsert_contact("4796000003", json!({"LastName": "Foreldre"}))
        .await;
    let event = |tx: &str, msisdn: &str| {
        json!({
            "attributes": {"type": "Strex_Event__c"},
            "Strex_Transaction_Id__c": tx,
            "Contact__r": {"Strex_MSISDN__c": msisdn},
        })
    };
    let records = vec![event("ev-12", "4796000003"), event("ev-13", "4796000004")];

    let reply = org
        .patch(
            &org.data("/composite/sobjects/Strex_Event__c/Strex_Transaction_Id__c"),
            json!({"records": records}),
        )
        .await;

    assert_eq!(reply.body[0]["success"], true);
    assert_eq!(reply.body[1]["errors"][0]["statusCode"], "INVALID_FIELD");
}

#[tokio::test]
async fn several_matching_parents_are_a_duplicate_external_id() {
    let yaml = "
objects:
  Household__c:
    key_prefix: a03
    fields:
      Code__c: { type: string, length: 20, external_id: true }
  Member__c:
    key_prefix: a04
    fields:
      Key__c: { type: string, length: 20, external_id: true, unique: true }
      Household__c: { type: reference, reference_to: [Household__c] }
";
    let mut settings = config();
    settings.schema = Schema::from_yaml(yaml).unwrap();
    let org = spawn_with(settings).await;
    for _ in 0..2 {
        org.post(
            &org.data("/sobjects/Household__c"),
            json!({"Code__c": "H1"}),
        )
        .await;
    }

    let reply = org
        .patch(
            &org.data("/sobjects/Member__c/Key__c/m1"),
            json!({"Household__r": {"Code__c": "H1"}}),
        )
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_code(), "DUPLICATE_EXTERNAL_ID");
}

#[tokio::test]
async fn a_relationship_keyed_on_a_field_that_is_not_an_external_id_is_refused() {
    let org = spawn().await;
    org.upsert_contact("4796000005", json!({"LastName": "Foreldre"}))
        .await;
    let url = org.data("/sobjects/Strex_Event__c/Strex_Transaction_Id__c/ev-14");

    let reply = org
        .patch(&url, json!({"Contact__r": {"LastName": "Foreldre"}}))
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_code(), "INVALID_FIELD");
}
