use reqwest::Method;
use serde_json::json;
use sf_emulator::{CallKind, Schema};

use crate::support::{config, encode, spawn, spawn_with};

/// An object whose external id is not unique, so two records can share a value.
const SHARED_KEY_SCHEMA: &str = "
objects:
  Donor__c:
    key_prefix: a02
    fields:
      Code__c: { type: string, length: 20, external_id: true }
      Note__c: { type: string, length: 20 }
";

#[tokio::test]
async fn upsert_without_a_match_creates_the_record() {
    let org = spawn().await;

    let reply = org
        .upsert_contact("+4790000001", json!({"LastName": "Hansen"}))
        .await;

    assert_eq!(reply.status, 201);
    let id = reply.body["id"].as_str().unwrap();
    assert_eq!(
        reply.body,
        json!({"id": id, "success": true, "errors": [], "created": true})
    );
    assert_eq!(
        reply.header("location").unwrap(),
        format!("/services/data/v62.0/sobjects/Contact/{id}")
    );
    let stored = org
        .emulator
        .find("Contact", "Strex_MSISDN__c", "+4790000001");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["Id"], id);
    assert_eq!(stored[0]["LastName"], "Hansen");
    assert_eq!(stored[0]["Name"], "Hansen");
    assert_eq!(stored[0]["HasOptedOutOfEmail"], false);
    assert_eq!(org.emulator.stats().calls_of(CallKind::SingleUpsert), 1);
}

#[tokio::test]
async fn upsert_with_one_match_updates_and_leaves_absent_fields_alone() {
    let org = spawn().await;
    let body = json!({"LastName": "Hansen", "FirstName": "Kari", "Email": "kari@example.no"});
    let created = org.upsert_contact("+4790000002", body).await;

    let reply = org
        .upsert_contact("+4790000002", json!({"FirstName": "Ola", "Email": null}))
        .await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["created"], false);
    assert_eq!(reply.body["id"], created.body["id"]);
    let stored = &org.emulator.records("Contact")[0];
    assert_eq!(stored["FirstName"], "Ola");
    assert_eq!(stored["LastName"], "Hansen");
    assert_eq!(stored["Name"], "Ola Hansen");
    assert_eq!(stored["Email"], serde_json::Value::Null);
}

#[tokio::test]
async fn update_before_api_46_answers_204_without_a_body() {
    let org = spawn().await;
    org.upsert_contact("+4790000003", json!({"LastName": "Berg"}))
        .await;
    let url = org.url("/services/data/v45.0/sobjects/Contact/Strex_MSISDN__c/%2B4790000003");

    let reply = org.patch(&url, json!({"FirstName": "Per"})).await;

    assert_eq!(reply.status, 204);
    assert!(reply.text.is_empty());
}

#[tokio::test]
async fn create_before_api_46_has_no_created_flag() {
    let org = spawn().await;
    let url = org.url("/services/data/v40.0/sobjects/Contact/Strex_MSISDN__c/4790000004");

    let reply = org.patch(&url, json!({"LastName": "Berg"})).await;

    assert_eq!(reply.status, 201);
    assert!(reply.body.get("created").is_none());
}

#[tokio::test]
async fn several_matches_answer_300_with_the_record_urls_and_write_nothing() {
    let mut settings = config();
    settings.schema = Schema::from_yaml(SHARED_KEY_SCHEMA).unwrap();
    let org = spawn_with(settings).await;
    for _ in 0..2 {
        let reply = org
            .post(&org.data("/sobjects/Donor__c"), json!({"Code__c": "D-1"}))
            .await;
        assert_eq!(reply.status, 201);
    }

    let reply = org
        .patch(
            &org.data("/sobjects/Donor__c/Code__c/D-1"),
            json!({"Note__c": "x"}),
        )
        .await;
    let read = org.get(&org.data("/sobjects/Donor__c/Code__c/D-1")).await;

    assert_eq!(reply.status, 300);
    let urls = reply.body.as_array().unwrap();
    assert_eq!(urls.len(), 2);
    assert!(
        urls[0]
            .as_str()
            .unwrap()
            .starts_with("/services/data/v62.0/sobjects/Donor__c/a02")
    );
    assert_eq!(read.status, 300);
    let records = org.emulator.records("Donor__c");
    assert!(records.iter().all(|record| record["Note__c"].is_null()));
}

#[tokio::test]
async fn update_only_without_a_match_is_not_found_and_creates_nothing() {
    let org = spawn().await;
    let url = org.data("/sobjects/Contact/Strex_MSISDN__c/4790000005?updateOnly=true");

    let reply = org.patch(&url, json!({"LastName": "Lie"})).await;

    assert_eq!(reply.status, 404);
    assert_eq!(reply.error_code(), "NOT_FOUND");
    assert!(org.emulator.records("Contact").is_empty());
}

#[tokio::test]
async fn update_only_is_ignored_before_api_61() {
    let org = spawn().await;
    let url =
        org.url("/services/data/v60.0/sobjects/Contact/Strex_MSISDN__c/4790000006?updateOnly=true");

    let reply = org.patch(&url, json!({"LastName": "Lie"})).await;

    assert_eq!(reply.status, 201);
}

#[tokio::test]
async fn update_only_with_a_match_updates() {
    let org = spawn().await;
    org.upsert_contact("4790000007", json!({"LastName": "Lie"}))
        .await;
    let url = org.data("/sobjects/Contact/Strex_MSISDN__c/4790000007?updateOnly=true");

    let reply = org.patch(&url, json!({"FirstName": "Ane"})).await;

    assert_eq!(reply.status, 200);
    assert_eq!(org.emulator.records("Contact")[0]["FirstName"], "Ane");
}

#[tokio::test]
async fn unknown_object_or_key_field_in_the_url_is_not_found() {
    let org = spawn().await;

    let object = org
        .patch(&org.data("/sobjects/Donor__c/Code__c/1"), json!({}))
        .await;
    let field = org
        .patch(&org.data("/sobjects/Contact/Member_No__c/1"), json!({}))
        .await;

    assert_eq!((object.status, object.error_code()), (404, "NOT_FOUND"));
    assert_eq!((field.status, field.error_code()), (404, "NOT_FOUND"));
}

#[tokio::test]
async fn a_key_field_that_is_not_an_external_id_is_a_bad_request() {
    let org = spawn().await;

    let reply = org
        .patch(&org.data("/sobjects/Contact/LastName/Hansen"), json!({}))
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_code(), "INVALID_FIELD");
}

#[tokio::test]
async fn body_may_repeat_the_key_only_with_the_same_value() {
    let org = spawn().await;

    let same = org
        .upsert_contact(
            "4790000008",
            json!({"LastName": "Moe", "Strex_MSISDN__c": "4790000008"}),
        )
        .await;
    let different = org
        .upsert_contact(
            "4790000008",
            json!({"LastName": "Moe", "Strex_MSISDN__c": "4790000009"}),
        )
        .await;

    assert_eq!(same.status, 201);
    assert_eq!(different.status, 400);
    assert_eq!(different.error_code(), "INVALID_FIELD");
    assert_eq!(different.body[0]["fields"], json!(["Strex_MSISDN__c"]));
}

#[tokio::test]
async fn id_in_the_body_is_a_bad_request() {
    let org = spawn().await;

    let reply = org
        .upsert_contact(
            "4790000010",
            json!({"Id": "003Kc0000000001AAA", "LastName": "Moe"}),
        )
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_code(), "INVALID_FIELD");
    assert!(org.emulator.records("Contact").is_empty());
}

#[tokio::test]
async fn the_key_value_in_the_url_is_percent_decoded() {
    let org = spawn().await;

    let reply = org
        .upsert_contact("+47 900/00 011", json!({"LastName": "Aas"}))
        .await;

    assert_eq!(reply.status, 201);
    assert_eq!(
        org.emulator.records("Contact")[0]["Strex_MSISDN__c"],
        "+47 900/00 011"
    );
}

#[tokio::test]
async fn post_with_id_as_the_key_always_inserts() {
    let org = spawn().await;
    let url = org.data("/sobjects/Contact/Id");

    let first = org.post(&url, json!({"LastName": "Dahl"})).await;
    let second = org.post(&url, json!({"LastName": "Dahl"})).await;

    assert_eq!((first.status, second.status), (201, 201));
    assert_eq!(first.body["created"], true);
    assert_ne!(first.body["id"], second.body["id"]);
    assert_eq!(org.emulator.records("Contact").len(), 2);
}

#[tokio::test]
async fn patch_with_id_as_the_key_and_no_value_is_not_allowed() {
    let org = spawn().await;

    let reply = org
        .patch(
            &org.data("/sobjects/Contact/Id"),
            json!({"LastName": "Dahl"}),
        )
        .await;

    assert_eq!(reply.status, 405);
    assert_eq!(reply.error_code(), "METHOD_NOT_ALLOWED");
    assert_eq!(
        reply.body[0]["message"],
        "HTTP Method 'PATCH' not allowed. Allowed are GET,HEAD,POST"
    );
}

#[tokio::test]
async fn records_can_be_read_by_external_id_and_by_either_id_length() {
    let org = spawn().await;
    let created = org
        .upsert_contact("+4790000012", json!({"LastName": "Vik"}))
        .await;
    let id = created.body["id"].as_str().unwrap().to_string();

    let by_key = org
        .get(&org.data(&format!(
            "/sobjects/Contact/Strex_MSISDN__c/{}",
            encode("+4790000012")
        )))
        .await;
    let by_id = org.get(&org.data(&format!("/sobjects/Contact/{id}"))).await;
    let by_short_id = org
        .get(&org.data(&format!("/sobjects/Contact/{}", &id[..15])))
        .await;
    let missing = org
        .get(&org.data("/sobjects/Contact/Strex_MSISDN__c/4799999999"))
        .await;

    assert_eq!(by_key.status, 200);
    assert_eq!(by_key.body["attributes"]["type"], "Contact");
    assert_eq!(
        by_key.body["attributes"]["url"],
        format!("/services/data/v62.0/sobjects/Contact/{id}")
    );
    assert_eq!(by_key.body["LastName"], "Vik");
    assert_eq!(by_key.body["FirstName"], serde_json::Value::Null);
    assert_eq!(by_id.body, by_key.body);
    assert_eq!(by_short_id.body["Id"], id);
    assert_eq!(missing.status, 404);
    assert_eq!(org.emulator.stats().calls_of(CallKind::Read), 4);
}

#[tokio::test]
async fn a_read_can_be_narrowed_to_some_fields() {
    let org = spawn().await;
    org.upsert_contact("4790000013", json!({"LastName": "Vik", "FirstName": "Eli"}))
        .await;

    let reply = org
        .send(
            Method::GET,
            &org.data("/sobjects/Contact/Strex_MSISDN__c/4790000013?fields=FirstName"),
            None,
        )
        .await;

    let keys: Vec<&String> = reply.body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["FirstName", "Id", "attributes"]);
}

#[tokio::test]
async fn created_dates_are_returned_in_salesforce_utc_form() {
    let org = spawn().await;
    org.upsert_contact("4790000014", json!({"LastName": "Vik"}))
        .await;

    let created = org.emulator.records("Contact")[0]["CreatedDate"]
        .as_str()
        .unwrap()
        .to_string();

    assert!(created.ends_with(".000+0000"), "{created}");
    assert_eq!(created.len(), "2024-11-06T17:38:40.000+0000".len());
}
