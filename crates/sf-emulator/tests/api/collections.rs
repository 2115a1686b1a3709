use serde_json::{Value, json};
use sf_emulator::CallKind;

use crate::support::{contact, spawn};

fn error_of(result: &Value) -> (&str, &str) {
    let error = &result["errors"][0];
    (
        error["statusCode"].as_str().unwrap(),
        error["message"].as_str().unwrap(),
    )
}

#[tokio::test]
async fn results_come_back_in_request_order_with_created_flags() {
    let org = spawn().await;
    org.upsert_contact("4791000002", json!({"LastName": "Old"}))
        .await;
    let records = vec![
        contact("4791000001", "First"),
        contact("4791000002", "Second"),
        contact("4791000003", "Third"),
    ];

    let reply = org.upsert_contacts(records, false).await;

    assert_eq!(reply.status, 200);
    let results = reply.body.as_array().unwrap();
    let created: Vec<&Value> = results.iter().map(|result| &result["created"]).collect();
    assert_eq!(created, [&json!(true), &json!(false), &json!(true)]);
    for (result, msisdn) in results
        .iter()
        .zip(["4791000001", "4791000002", "4791000003"])
    {
        let stored = org.emulator.find("Contact", "Strex_MSISDN__c", msisdn);
        assert_eq!(result["id"], stored[0]["Id"]);
        assert_eq!(result["success"], true);
        assert_eq!(result["errors"], json!([]));
    }
    assert_eq!(org.emulator.find("Contact", "LastName", "Second").len(), 1);
}

#[tokio::test]
async fn a_failing_record_does_not_stop_the_others() {
    let org = spawn().await;
    let mut bad = contact("4791000011", "Bad");
    bad["Strex_Subscription_Status__c"] = json!("Paused");
    let records = vec![
        contact("4791000010", "Good"),
        bad,
        contact("4791000012", "Good"),
    ];

    let reply = org.upsert_contacts(records, false).await;

    let results = reply.body.as_array().unwrap();
    assert_eq!(reply.status, 200);
    assert_eq!(results[0]["success"], true);
    assert_eq!(results[1]["success"], false);
    assert!(results[1].get("id").is_none());
    assert_eq!(
        results[1]["errors"][0]["statusCode"],
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    );
    assert_eq!(
        results[1]["errors"][0]["fields"],
        json!(["Strex_Subscription_Status__c"])
    );
    assert_eq!(results[2]["success"], true);
    assert_eq!(org.emulator.records("Contact").len(), 2);
}

#[tokio::test]
async fn the_same_external_id_twice_in_one_request_fails_both() {
    let org = spawn().await;
    let records = vec![
        contact("4791000020", "A"),
        contact("4791000021", "B"),
        contact("4791000020", "C"),
    ];

    let reply = org.upsert_contacts(records, false).await;

    let results = reply.body.as_array().unwrap();
    for index in [0, 2] {
        assert_eq!(
            error_of(&results[index]),
            (
                "DUPLICATE_EXTERNAL_ID",
                "Duplicate external id specified: 4791000020"
            )
        );
    }
    assert_eq!(results[1]["success"], true);
    assert!(
        org.emulator
            .find("Contact", "Strex_MSISDN__c", "4791000020")
            .is_empty()
    );
}

#[tokio::test]
async fn a_record_without_its_external_id_fails_with_missing_argument() {
    let org = spawn().await;
    let records = vec![json!({"attributes": {"type": "Contact"}, "LastName": "NoKey"})];

    let reply = org.upsert_contacts(records, false).await;

    assert_eq!(
        error_of(&reply.body[0]),
        ("MISSING_ARGUMENT", "Strex_MSISDN__c not specified")
    );
}

#[tokio::test]
async fn more_than_200_records_is_a_top_level_error() {
    let org = spawn().await;
    let records = (0..201)
        .map(|n| contact(&format!("479200{n:04}"), "Many"))
        .collect();

    let reply = org.upsert_contacts(records, false).await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_code(), "EXCEEDED_ID_LIMIT");
    assert!(org.emulator.records("Contact").is_empty());
}

#[tokio::test]
async fn exactly_200_records_are_accepted_and_counted_as_one_call() {
    let org = spawn().await;
    let records = (0..200)
        .map(|n| contact(&format!("479300{n:04}"), "Many"))
        .collect();

    let reply = org.upsert_contacts(records, false).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.as_array().unwrap().len(), 200);
    let stats = org.emulator.stats();
    assert_eq!(stats.api_usage, 1);
    assert_eq!(stats.calls_of(CallKind::CollectionsUpsert), 1);
    assert_eq!(stats.collections_batch_sizes, [200]);
}

#[tokio::test]
async fn a_record_of_another_type_or_without_a_type_is_a_top_level_error() {
    let org = spawn().await;
    let account = json!({"attributes": {"type": "Account"}, "Strex_MSISDN__c": "4791000030"});
    let untyped = json!({"Strex_MSISDN__c": "4791000031", "LastName": "X"});

    let wrong = org
        .upsert_contacts(vec![contact("4791000032", "Ok"), account], false)
        .await;
    let missing = org.upsert_contacts(vec![untyped], false).await;

    assert_eq!((wrong.status, wrong.error_code()), (400, "INVALID_TYPE"));
    assert_eq!(
        (missing.status, missing.error_code()),
        (400, "INVALID_TYPE")
    );
    assert_eq!(
        missing.body[0]["message"],
        "Must send a concrete entity type."
    );
    assert!(org.emulator.records("Contact").is_empty());
}

#[tokio::test]
async fn all_or_none_rolls_back_every_record_when_one_fails() {
    let org = spawn().await;
    org.upsert_contact("4791000041", json!({"LastName": "Before"}))
        .await;
    let no_last_name = json!({"attributes": {"type": "Contact"}, "Strex_MSISDN__c": "4791000042"});
    let records = vec![
        contact("4791000040", "New"),
        contact("4791000041", "After"),
        no_last_name,
    ];

    let reply = org.upsert_contacts(records, true).await;

    assert_eq!(reply.status, 200);
    let results = reply.body.as_array().unwrap();
    for index in [0, 1] {
        assert_eq!(results[index]["success"], false);
        assert_eq!(
            error_of(&results[index]),
            (
                "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                "Record rolled back because not all records were valid and the request was \
                 using AllOrNone header"
            )
        );
    }
    assert_eq!(error_of(&results[2]).0, "REQUIRED_FIELD_MISSING");
    let stored = org.emulator.records("Contact");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["LastName"], "Before");
}

#[tokio::test]
async fn all_or_none_commits_when_every_record_is_valid() {
    let org = spawn().await;
    let records = vec![contact("4791000050", "A"), contact("4791000051", "B")];

    let reply = org.upsert_contacts(records, true).await;

    assert!(
        reply
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["success"] == true)
    );
    assert_eq!(org.emulator.records("Contact").len(), 2);
}

#[tokio::test]
async fn collections_upsert_does_not_exist_before_api_46() {
    let org = spawn().await;
    let url = org.url("/services/data/v45.0/composite/sobjects/Contact/Strex_MSISDN__c");

    let reply = org
        .patch(&url, json!({"records": [contact("4791000060", "A")]}))
        .await;

    assert_eq!(reply.status, 404);
}

#[tokio::test]
async fn external_ids_differing_only_in_case_are_duplicates_in_one_request() {
    let org = spawn().await;
    let records = vec![
        json!({"attributes": {"type": "Account"}, "Strex_Account_Key__c": "k1", "Name": "One"}),
        json!({"attributes": {"type": "Account"}, "Strex_Account_Key__c": "K1", "Name": "Two"}),
    ];
    let url = org.data("/composite/sobjects/Account/Strex_Account_Key__c");

    let reply = org.patch(&url, json!({"records": records})).await;

    let results = reply.body.as_array().unwrap();
    assert_eq!(error_of(&results[0]).0, "DUPLICATE_EXTERNAL_ID");
    assert_eq!(error_of(&results[1]).0, "DUPLICATE_EXTERNAL_ID");
}
