use serde_json::{Value, json};

use crate::support::{TestOrg, contact, spawn};

/// Creates a Contact with `extra` fields and returns the top-level error, if any.
async fn create_contact(org: &TestOrg, msisdn: &str, extra: Value) -> crate::support::Reply {
    let mut body = json!({"LastName": "Strand"});
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    org.upsert_contact(msisdn, body).await
}

/// What a refused create is expected to answer: the body's extra fields, the
/// errorCode, and part of the message.
struct Refused(Value, &'static str, &'static str);

/// Each case is sent as a new Contact; all must fail and none may be stored.
async fn assert_refused(cases: Vec<Refused>) {
    let org = spawn().await;

    for (index, Refused(extra, code, message)) in cases.into_iter().enumerate() {
        let reply = create_contact(&org, &format!("47950000{index:02}"), extra.clone()).await;

        assert_eq!(reply.status, 400, "{extra}: {}", reply.text);
        assert_eq!(reply.error_code(), code, "{extra}");
        let actual = reply.body[0]["message"].as_str().unwrap();
        assert!(actual.contains(message), "{extra}: {actual}");
    }
    assert!(org.emulator.records("Contact").is_empty());
}

#[tokio::test]
async fn values_breaking_field_rules_are_refused_on_create() {
    let unknown = "No such column 'Shoe_Size__c' on sobject of type Contact";
    let picklist = "bad value for restricted picklist field: Paused";
    let cases = vec![
        Refused(json!({"Shoe_Size__c": 42}), "INVALID_FIELD", unknown),
        Refused(
            json!({"LastName": null}),
            "REQUIRED_FIELD_MISSING",
            "missing: [LastName]",
        ),
        Refused(
            json!({"FirstName": "x".repeat(41)}),
            "STRING_TOO_LONG",
            "(max length=40)",
        ),
        Refused(
            json!({"FirstName": "😀".repeat(21)}),
            "STRING_TOO_LONG",
            "First Name: data",
        ),
        Refused(
            json!({"Strex_Subscription_Status__c": "Paused"}),
            PICKLIST_CODE,
            picklist,
        ),
        Refused(
            json!({"Email": "kari.example.no"}),
            "INVALID_EMAIL_ADDRESS",
            "kari.example.no",
        ),
    ];

    assert_refused(cases).await;
}

const PICKLIST_CODE: &str = "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST";
const NOT_WRITABLE: &str = "INVALID_FIELD_FOR_INSERT_UPDATE";

#[tokio::test]
async fn read_only_fields_are_refused_on_create() {
    let cases = vec![
        Refused(
            json!({"CreatedDate": "2024-01-01T00:00:00Z"}),
            NOT_WRITABLE,
            "CreatedDate",
        ),
        Refused(
            json!({"Name": "Kari Strand"}),
            NOT_WRITABLE,
            "fields: Name.",
        ),
    ];

    assert_refused(cases).await;
}

#[tokio::test]
async fn values_of_the_wrong_json_type_or_format_are_refused_on_create() {
    let boolean = "Cannot deserialize instance of boolean from VALUE_STRING value yes";
    let cases = vec![
        Refused(
            json!({"HasOptedOutOfEmail": "yes"}),
            "JSON_PARSER_ERROR",
            boolean,
        ),
        Refused(
            json!({"Birthdate": "30.04.1988"}),
            "JSON_PARSER_ERROR",
            "instance of date",
        ),
        Refused(
            json!({"Strex_Subscribed_At__c": "2024-11-06"}),
            "JSON_PARSER_ERROR",
            "datetime",
        ),
        Refused(
            json!({"Strex_Recurring_Amount__c": 1e15}),
            "NUMBER_OUTSIDE_VALID_RANGE",
            "range",
        ),
        Refused(
            json!({"AccountId": "not-an-id"}),
            "MALFORMED_ID",
            "incorrect type: not-an-id",
        ),
        Refused(
            json!({"AccountId": "001Kc0000000999IAA"}),
            "INVALID_CROSS_REFERENCE_KEY",
            "id",
        ),
    ];

    assert_refused(cases).await;
}

#[tokio::test]
async fn error_fields_name_the_offending_fields() {
    let org = spawn().await;

    let missing = org
        .upsert_contact("4795000100", json!({"FirstName": "Kari"}))
        .await;
    let long = create_contact(&org, "4795000101", json!({"MailingCity": "x".repeat(41)})).await;

    assert_eq!(missing.body[0]["fields"], json!(["LastName"]));
    assert_eq!(long.body[0]["fields"], json!(["MailingCity"]));
}

#[tokio::test]
async fn values_within_the_rules_are_accepted_and_normalised() {
    let org = spawn().await;
    let extra = json!({
        "FirstName": "😀".repeat(20),
        "Strex_Gender__c": "X",
        "Strex_Subscribed_At__c": "2024-11-06T19:38:40+02:00",
        "Strex_Recurring_Amount__c": 99.999,
        "Birthdate": "1988-04-30",
        "Email": "kari@example.no",
    });

    let reply = create_contact(&org, "4795000200", extra).await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    let stored = &org.emulator.records("Contact")[0];
    assert_eq!(stored["Strex_Gender__c"], "X");
    assert_eq!(
        stored["Strex_Subscribed_At__c"],
        "2024-11-06T17:38:40.000+0000"
    );
    assert_eq!(stored["Strex_Recurring_Amount__c"], 99.99);
    assert_eq!(stored["Birthdate"], "1988-04-30");
}

#[tokio::test]
async fn null_on_update_clears_a_field_but_not_a_required_one() {
    let org = spawn().await;
    create_contact(&org, "4795000300", json!({"FirstName": "Kari"})).await;

    let cleared = org
        .upsert_contact("4795000300", json!({"FirstName": null}))
        .await;
    let required = org
        .upsert_contact("4795000300", json!({"LastName": null}))
        .await;

    assert_eq!(cleared.status, 200);
    assert!(org.emulator.records("Contact")[0]["FirstName"].is_null());
    assert_eq!(required.status, 400);
    assert_eq!(required.error_code(), "REQUIRED_FIELD_MISSING");
    assert_eq!(org.emulator.records("Contact")[0]["LastName"], "Strand");
}

#[tokio::test]
async fn a_unique_value_used_by_another_record_names_that_record() {
    let org = spawn().await;
    let first = create_contact(&org, "4795000400", json!({})).await;
    let second = create_contact(&org, "4795000401", json!({})).await;
    let second_id = second.body["id"].as_str().unwrap();
    let url = org.data(&format!("/sobjects/Contact/Id/{second_id}"));

    let reply = org
        .patch(&url, json!({"Strex_MSISDN__c": "4795000400"}))
        .await;

    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_code(), "DUPLICATE_VALUE");
    let message = reply.body[0]["message"].as_str().unwrap();
    let first_id = first.body["id"].as_str().unwrap();
    assert!(
        message.ends_with(&format!("duplicates value on record with id: {first_id}")),
        "{message}"
    );
}

#[tokio::test]
async fn a_field_that_is_createable_but_not_updateable_is_refused_on_update() {
    let org = spawn().await;
    let person = create_contact(&org, "4795000500", json!({})).await;
    let contact_id = person.body["id"].as_str().unwrap();
    let url = org.data("/sobjects/Opportunity/Strex_Transaction_Id__c/tx-1");
    let body = json!({
        "Name": "Gift",
        "StageName": "Pledged",
        "CloseDate": "2025-01-31",
        "ContactId": contact_id,
    });

    let created = org.patch(&url, body.clone()).await;
    let updated = org.patch(&url, body).await;

    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(updated.status, 400);
    assert_eq!(updated.error_code(), "INVALID_FIELD_FOR_INSERT_UPDATE");
    assert_eq!(updated.body[0]["fields"], json!(["ContactId"]));
}

#[tokio::test]
async fn opportunity_requires_its_stage_and_close_date() {
    let org = spawn().await;
    let url = org.data("/sobjects/Opportunity/Strex_Transaction_Id__c/tx-2");

    let reply = org.patch(&url, json!({"Name": "Gift"})).await;

    assert_eq!(reply.error_code(), "REQUIRED_FIELD_MISSING");
    assert_eq!(reply.body[0]["fields"], json!(["CloseDate", "StageName"]));
}

#[tokio::test]
async fn a_body_that_is_not_json_or_not_an_object_is_a_parser_error() {
    let org = spawn().await;
    let url = org.data("/sobjects/Contact/Strex_MSISDN__c/4795000600");

    let broken = org
        .http
        .patch(&url)
        .bearer_auth(&org.token)
        .header("content-type", "application/json")
        .body("{\"LastName\": ")
        .send()
        .await
        .unwrap();
    let broken = crate::support::reply(broken).await;
    let array = org.patch(&url, json!([{"LastName": "X"}])).await;

    assert_eq!(
        (broken.status, broken.error_code()),
        (400, "JSON_PARSER_ERROR")
    );
    assert_eq!(
        (array.status, array.error_code()),
        (400, "JSON_PARSER_ERROR")
    );
}

#[tokio::test]
async fn collections_report_validation_errors_per_record_with_status_code() {
    let org = spawn().await;
    let mut long = contact("4795000700", "Strand");
    long["FirstName"] = json!("x".repeat(41));

    let reply = org.upsert_contacts(vec![long], false).await;

    let error = &reply.body[0]["errors"][0];
    assert_eq!(error["statusCode"], "STRING_TOO_LONG");
    assert!(error.get("errorCode").is_none());
    assert_eq!(error["fields"], json!(["FirstName"]));
}

#[tokio::test]
async fn a_custom_object_name_left_empty_gets_the_record_id() {
    let org = spawn().await;
    let url = org.data("/sobjects/Strex_Event__c/Strex_Transaction_Id__c/ev-1");

    let reply = org
        .patch(&url, json!({"Kind__c": "MO", "Billed__c": true}))
        .await;

    assert_eq!(reply.status, 201, "{}", reply.text);
    let event = &org.emulator.records("Strex_Event__c")[0];
    assert_eq!(event["Name"], reply.body["id"]);
    assert_eq!(event["Billed__c"], true);
    assert_eq!(event["Delivered__c"], false);
}
