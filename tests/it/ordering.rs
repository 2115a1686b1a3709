//! A subscriber's events reach Salesforce in the order the subscriber produced them, and a
//! late report of an older delivery state never overwrites a newer one.

use std::time::Duration;

use serde_json::{Value, json};
use sf_emulator::Faults;

use crate::common::forwards::{Report, msisdn};
use crate::common::{TestApp, post_all, query_json, wait_until};

/// The sync_log rows of one event, by step.
async fn rows_of_transaction(app: &TestApp, transaction_id: &str) -> Vec<Value> {
    query_json(
        app.store(),
        &format!(
            "SELECT s.id, s.sobject, s.status, s.attempts, s.error_code
             FROM sync_log s JOIN inbound_event e ON e.id = s.event_id
             WHERE e.transaction_id = '{transaction_id}' ORDER BY s.step"
        ),
    )
    .await
}

#[tokio::test]
async fn a_subjects_later_rows_wait_while_an_earlier_row_is_being_retried() {
    let app = TestApp::spawn().await;
    let subscriber = msisdn(1);
    // The subscribe report's Strex_Event__c is locked by someone else in Salesforce for a
    // while, so its row keeps failing with UNABLE_TO_LOCK_ROW.
    app.emulator
        .faults()
        .set(Faults {
            locked_external_ids: vec!["t-subscribe".to_owned()],
            ..Faults::default()
        })
        .unwrap();
    let subscribe = Report::new("t-subscribe", &subscriber, "Subscribe");
    let unsubscribe = Report {
        received_after: 300,
        ..Report::new("t-unsubscribe", &subscriber, "Unsubscribe")
    };

    post_all(&app.service.url(), vec![subscribe.forward()], 1).await;
    post_all(&app.service.url(), vec![unsubscribe.forward()], 1).await;
    let store = app.store().clone();
    wait_until(
        "several retries of the locked row",
        Duration::from_secs(20),
        || {
            let store = store.clone();
            async move {
                let attempts: i32 = sqlx::query_scalar(
                    "SELECT attempts FROM sync_log WHERE external_id = 't-subscribe'",
                )
                .fetch_one(store.pool())
                .await
                .unwrap();
                attempts >= 3
            }
        },
    )
    .await;

    let waiting = rows_of_transaction(&app, "t-unsubscribe").await;
    for row in &waiting {
        assert_eq!(
            (&row["status"], &row["attempts"]),
            (&json!("pending"), &json!(0))
        );
    }
    let contact = app.record("Contact", "Strex_MSISDN__c", &subscriber);
    assert_eq!(contact["Strex_Subscription_Status__c"], "Active");
    app.emulator.faults().clear();
    app.wait_for_sync().await;
    let contact = app.record("Contact", "Strex_MSISDN__c", &subscriber);
    assert_eq!(contact["Strex_Subscription_Status__c"], "Unsubscribed");
    let locked = rows_of_transaction(&app, "t-subscribe").await;
    assert_eq!(locked[1]["status"], "succeeded");
    assert_eq!(locked[1]["error_code"], Value::Null);
}

#[tokio::test]
async fn a_failed_row_does_not_hold_back_the_subjects_later_rows() {
    let app = TestApp::spawn().await;
    let subscriber = msisdn(2);
    app.emulator
        .faults()
        .set(Faults {
            poison_external_id: Some("t-unreadable".to_owned()),
            ..Faults::default()
        })
        .unwrap();
    let unreadable = Report::new("t-unreadable", &subscriber, "Subscribe");
    let later = Report {
        received_after: 300,
        ..Report::new("t-later", &subscriber, "Unsubscribe")
    };

    post_all(&app.service.url(), vec![unreadable.forward()], 1).await;
    post_all(&app.service.url(), vec![later.forward()], 1).await;
    app.wait_for_sync().await;

    let failed = rows_of_transaction(&app, "t-unreadable").await;
    assert_eq!(failed[1]["status"], "failed");
    assert_eq!(failed[1]["error_code"], "JSON_PARSER_ERROR");
    for row in rows_of_transaction(&app, "t-later").await {
        assert_eq!(row["status"], "succeeded");
    }
    let contact = app.record("Contact", "Strex_MSISDN__c", &subscriber);
    assert_eq!(contact["Strex_Subscription_Status__c"], "Unsubscribed");
}

#[tokio::test]
async fn a_report_of_an_earlier_state_arriving_late_is_superseded_and_plans_nothing() {
    let app = TestApp::spawn().await;
    let subscriber = msisdn(3);
    let delivered = Report::new("t-late", &subscriber, "Recurring");
    let sent = delivered.clone().status("Sent");

    let answers = post_all(
        &app.service.url(),
        vec![delivered.forward(), sent.forward()],
        1,
    )
    .await;
    app.wait_for_sync().await;

    assert_eq!(answers[0]["status"], "planned");
    assert_eq!(answers[1]["status"], "superseded");
    let events = query_json(
        app.store(),
        "SELECT e.status, e.delivery_rank, (SELECT count(*) FROM sync_log s
                                           WHERE s.event_id = e.id) AS rows
         FROM inbound_event e ORDER BY e.id",
    )
    .await;
    assert_eq!(
        events,
        vec![
            // Contact, the donation Opportunity and the Strex_Event__c.
            json!({"status": "planned", "delivery_rank": 3, "rows": 3}),
            json!({"status": "superseded", "delivery_rank": 2, "rows": 0}),
        ]
    );
    let event = app.record("Strex_Event__c", "Strex_Transaction_Id__c", "t-late");
    assert_eq!(event["Status_Code__c"], "Ok");
}

#[tokio::test]
async fn a_charge_report_arriving_after_its_reversal_is_superseded() {
    let app = TestApp::spawn().await;

    let reversal = app.post_fixture("dlr-reversed.json").await;
    let charge = app.post_fixture("dlr-recurring.json").await;

    let reversal: Value = reversal.json().await.unwrap();
    let charge: Value = charge.json().await.unwrap();
    assert_eq!(reversal["status"], "planned");
    assert_eq!(charge["status"], "superseded");
    let keys = query_json(
        app.store(),
        "SELECT transaction_id, delivery_key, status FROM inbound_event ORDER BY id",
    )
    .await;
    assert_eq!(keys[0]["delivery_key"], keys[1]["transaction_id"]);
    app.wait_for_sync().await;
    let contact = app.record("Contact", "Strex_MSISDN__c", "+4700000001");
    assert_eq!(contact["Strex_Last_Charge_Amount__c"], Value::Null);
}

#[tokio::test]
async fn reports_of_equal_rank_are_both_planned_in_arrival_order() {
    let app = TestApp::spawn().await;
    let subscriber = msisdn(4);
    let failed = Report::new("t-equal", &subscriber, "Recurring").status("Failed");
    let delivered = Report {
        received_after: 60,
        ..Report::new("t-equal", &subscriber, "Recurring")
    };

    let answers = post_all(
        &app.service.url(),
        vec![failed.forward(), delivered.forward()],
        1,
    )
    .await;
    app.wait_for_sync().await;

    assert_eq!(answers[0]["status"], "planned");
    assert_eq!(answers[1]["status"], "planned");
    let event = app.record("Strex_Event__c", "Strex_Transaction_Id__c", "t-equal");
    assert_eq!(event["Status_Code__c"], "Ok");
}
