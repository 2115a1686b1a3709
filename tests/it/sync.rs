//! From a forward to records in the emulated Salesforce org.

use serde_json::{Value, json};

use crate::common::{TestApp, query_json};

#[tokio::test]
async fn a_subscribe_report_becomes_a_contact_and_a_linked_event() {
    let app = TestApp::spawn().await;

    app.post_fixture("dlr-subscribe.json").await;
    app.wait_for_sync().await;

    let contact = app.record("Contact", "Strex_MSISDN__c", "+4700000001");
    assert_eq!(contact["LastName"], "+4700000001");
    assert_eq!(contact["MobilePhone"], "+4700000001");
    assert_eq!(contact["Strex_Subscription_Status__c"], "Active");
    assert_eq!(contact["Strex_Keyword__c"], "GIVE");
    assert_eq!(
        contact["Strex_Subscriber_Id__c"],
        "9bda6315-497f-4ca3-a60c-f55bc34dcce4"
    );
    let event = app.record(
        "Strex_Event__c",
        "Strex_Transaction_Id__c",
        "dbdcee79-c23e-4b20-a696-c87bde2eadba",
    );
    assert_eq!(event["Contact__c"], contact["Id"]);
    assert_eq!(event["Kind__c"], "DLR");
    assert_eq!(event["System_Action__c"], "Subscribe");
    assert_eq!(event["Amount__c"], json!(200));
    assert_eq!(event["Billed__c"], true);
    let rows = app.sync_log().await;
    assert_eq!(rows.len(), 2);
    for (row, record) in rows.iter().zip([&contact, &event]) {
        assert_eq!(row.status, "succeeded");
        assert_eq!(row.created_in_salesforce, Some(true));
        assert_eq!(row.salesforce_id.as_deref(), record["Id"].as_str());
        assert_eq!(row.attempts, 1);
    }
}

#[tokio::test]
async fn an_mo_with_lookup_data_fills_the_contacts_name_and_address() {
    let app = TestApp::spawn().await;

    app.post_fixture("mo-lookup-nested.json").await;
    app.wait_for_sync().await;

    let contact = app.record("Contact", "Strex_MSISDN__c", "+4700000001");
    assert_eq!(contact["FirstName"], "Kari");
    assert_eq!(contact["LastName"], "Nordmann");
    assert_eq!(contact["MailingStreet"], "Storgata 1");
    assert_eq!(contact["MailingPostalCode"], "0150");
    assert_eq!(contact["MailingCity"], "Oslo");
    assert_eq!(contact["Birthdate"], "1985-06-15");
    let event = app.record(
        "Strex_Event__c",
        "Strex_Transaction_Id__c",
        "a52dda61-26b7-4992-8355-1a4b0a36cb5e",
    );
    assert_eq!(event["Kind__c"], "MO");
    assert_eq!(event["Message__c"], "GIVE");
    assert_eq!(event["Contact__c"], contact["Id"]);
}

#[tokio::test]
async fn a_later_report_never_replaces_a_real_name_with_the_placeholder() {
    let app = TestApp::spawn().await;
    app.post_fixture("mo-lookup.json").await;
    app.wait_for_sync().await;

    app.post_fixture("dlr-recurring.json").await;
    app.wait_for_sync().await;

    let contact = app.record("Contact", "Strex_MSISDN__c", "+4700000001");
    assert_eq!(contact["LastName"], "Nordmann");
    assert_eq!(contact["Strex_Last_Charge_Amount__c"], json!(200));
    let rows = query_json(
        app.store(),
        "SELECT record, create_only FROM sync_log WHERE sobject = 'Contact' ORDER BY id",
    )
    .await;
    assert_eq!(rows[1]["create_only"], json!({"LastName": "+4700000001"}));
    assert!(rows[1]["record"].get("LastName").is_none());
}

#[tokio::test]
async fn unsubscribe_after_subscribe_leaves_the_contact_unsubscribed() {
    let app = TestApp::spawn().await;

    app.post_fixture("dlr-subscribe.json").await;
    app.post_fixture("dlr-unsubscribe.json").await;
    app.wait_for_sync().await;

    let contact = app.record("Contact", "Strex_MSISDN__c", "+4700000001");
    assert_eq!(contact["Strex_Subscription_Status__c"], "Unsubscribed");
    assert_eq!(
        contact["Strex_Unsubscribed_At__c"],
        "2025-03-12T14:05:00.000+0000"
    );
    let statuses: Vec<String> = app
        .sync_log()
        .await
        .into_iter()
        .map(|row| row.status)
        .collect();
    assert_eq!(statuses, vec!["succeeded"; 4]);
}

#[tokio::test]
async fn a_record_salesforce_refuses_is_failed_with_its_error_and_others_still_succeed() {
    let mappings = tempfile::tempdir().unwrap();
    std::fs::write(
        mappings.path().join("broken.yaml"),
        r#"
match: { kind: mo }
rules:
  - name: opportunity-without-stage
    upserts:
      - object: Opportunity
        external_id: Strex_Transaction_Id__c
        fields:
          Strex_Transaction_Id__c: "{{ transactionId }}"
          Name: "SMS {{ content }}"
          CloseDate: "2025-03-12"
"#,
    )
    .unwrap();
    std::fs::copy(
        crate::common::shipped_mappings().join("mo.yaml"),
        mappings.path().join("mo.yaml"),
    )
    .unwrap();
    let app = TestApp::spawn_with(mappings.path().to_owned()).await;

    app.post_fixture("mo-plain.json").await;
    app.wait_for_sync().await;

    let rows = app.sync_log().await;
    let by_object = |object: &str| rows.iter().find(|row| row.sobject == object).unwrap();
    let opportunity = by_object("Opportunity");
    assert_eq!(opportunity.status, "failed");
    assert_eq!(
        opportunity.error_code.as_deref(),
        Some("REQUIRED_FIELD_MISSING")
    );
    assert!(
        opportunity
            .error_message
            .as_deref()
            .unwrap()
            .contains("StageName")
    );
    assert_eq!(by_object("Contact").status, "succeeded");
    assert_eq!(by_object("Strex_Event__c").status, "succeeded");
    let fields: Vec<Value> = query_json(
        app.store(),
        "SELECT error_fields FROM sync_log WHERE sobject = 'Opportunity'",
    )
    .await;
    assert_eq!(fields[0]["error_fields"], json!(["StageName"]));
}

#[tokio::test]
async fn sending_a_created_opportunity_again_keeps_its_create_only_contact() {
    let app = TestApp::spawn().await;
    app.post_fixture("dlr-recurring.json").await;
    app.wait_for_sync().await;
    let first = app.record(
        "Opportunity",
        "Strex_Transaction_Id__c",
        "0af061b9-665f-4700-93a3-fe8d723c80c8",
    );

    // As after a crash between Salesforce's answer and the outcome's commit: the row is sent
    // again, and Salesforce refuses ContactId, which it sets only on create.
    sqlx::query("UPDATE sync_log SET status = 'pending' WHERE sobject = 'Opportunity'")
        .execute(app.store().pool())
        .await
        .unwrap();
    app.wait_for_sync().await;

    let rows = query_json(app.store(), "SELECT status, created_in_salesforce, salesforce_id FROM sync_log WHERE sobject = 'Opportunity'").await;
    assert_eq!(
        rows,
        vec![
            json!({"status": "succeeded", "created_in_salesforce": false, "salesforce_id": first["Id"]})
        ]
    );
    let again = app.record("Opportunity", "Id", first["Id"].as_str().unwrap());
    assert_eq!(again["ContactId"], first["ContactId"]);
    assert_eq!(app.emulator.records("Opportunity").len(), 1);
}
