//! Every kind of failure ends in the right status: passing ones are retried until they
//! succeed (or become dead past the retry age), permanent ones fail at once with
//! Salesforce's code, message and fields, and a refused session is renewed once.

use std::time::Duration;

use serde_json::{Value, json};
use sf_emulator::{CallKind, Faults, ServerErrorKind};
use strexforce::sync::SyncSettings;

use crate::common::forwards::{mo, msisdn};
use crate::common::{
    AppOptions, TestApp, create_contact, post_all, query_json, test_sync_settings, wait_until,
};

/// The first row's status, attempts and error code.
async fn first_row(app: &TestApp) -> Value {
    let rows = query_json(
        app.store(),
        "SELECT status, attempts, error_code FROM sync_log ORDER BY id LIMIT 1",
    )
    .await;
    rows.into_iter().next().unwrap_or(Value::Null)
}

/// Posts an MO under `faults`, waits until its first row has failed twice with `code` and
/// is still pending, lifts the faults, and checks that everything then succeeds once.
async fn passes_after_retries(app: TestApp, faults: Faults, code: &str) -> TestApp {
    app.emulator.faults().set(faults).unwrap();
    let subscriber = msisdn(1);

    post_all(
        &app.service.url(),
        vec![mo("retry-1", &subscriber, "HI")],
        1,
    )
    .await;
    let limit = Duration::from_secs(30);
    wait_until(&format!("two {code} attempts"), limit, || async {
        let row = first_row(&app).await;
        row["attempts"].as_i64().unwrap_or(0) >= 2
            && row["status"] == "pending"
            && row["error_code"] == code
    })
    .await;
    app.emulator.faults().clear();
    app.wait_for_sync().await;

    let rows = app.sync_log().await;
    assert!(rows.iter().all(|row| row.status == "succeeded"), "{rows:?}");
    assert_eq!(
        app.emulator
            .find("Contact", "Strex_MSISDN__c", &subscriber)
            .len(),
        1
    );
    assert_eq!(
        app.emulator
            .find("Strex_Event__c", "Strex_Transaction_Id__c", "retry-1")
            .len(),
        1
    );
    app
}

#[tokio::test]
async fn a_dropped_connection_is_retried() {
    let faults = Faults {
        drop_connection_share: 1.0,
        ..Faults::default()
    };
    passes_after_retries(TestApp::spawn().await, faults, "CONNECTION_ERROR").await;
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let app = TestApp::spawn_with_options(AppOptions {
        request_timeout: Duration::from_secs(1),
        ..AppOptions::default()
    })
    .await;
    let faults = Faults {
        latency_ms: 2_500,
        ..Faults::default()
    };
    passes_after_retries(app, faults, "TIMEOUT").await;
}

#[tokio::test]
async fn server_unavailable_is_retried() {
    let faults = Faults {
        server_error_share: 1.0,
        server_error_kind: ServerErrorKind::Unavailable,
        ..Faults::default()
    };
    passes_after_retries(TestApp::spawn().await, faults, "SERVER_UNAVAILABLE").await;
}

#[tokio::test]
async fn an_internal_server_error_is_retried() {
    let faults = Faults {
        server_error_share: 1.0,
        server_error_kind: ServerErrorKind::Internal,
        ..Faults::default()
    };
    passes_after_retries(TestApp::spawn().await, faults, "UNKNOWN_EXCEPTION").await;
}

#[tokio::test]
async fn an_html_maintenance_page_is_a_passing_failure_not_a_parse_error() {
    let faults = Faults {
        server_error_share: 1.0,
        server_error_kind: ServerErrorKind::MaintenancePage,
        ..Faults::default()
    };
    passes_after_retries(TestApp::spawn().await, faults, "UNEXPECTED_RESPONSE").await;
}

#[tokio::test]
async fn a_locked_row_is_retried() {
    let faults = Faults {
        lock_row_share: 1.0,
        ..Faults::default()
    };
    passes_after_retries(TestApp::spawn().await, faults, "UNABLE_TO_LOCK_ROW").await;
}

#[tokio::test]
async fn an_exhausted_api_allocation_is_retried() {
    let faults = Faults {
        request_limit_exceeded: true,
        ..Faults::default()
    };
    passes_after_retries(TestApp::spawn().await, faults, "REQUEST_LIMIT_EXCEEDED").await;
}

#[tokio::test]
async fn a_lost_response_is_sent_again_and_its_record_written_once_in_effect() {
    let app = TestApp::spawn().await;
    let subscriber = msisdn(1);
    post_all(
        &app.service.url(),
        vec![mo("before", &subscriber, "FIRST")],
        1,
    )
    .await;
    app.wait_for_sync().await;
    let faults = Faults {
        drop_response_share: 1.0,
        ..Faults::default()
    };
    app.emulator.faults().set(faults).unwrap();

    post_all(
        &app.service.url(),
        vec![mo("lost", &subscriber, "SECOND")],
        1,
    )
    .await;
    let store = app.store().clone();
    wait_until("lost responses", Duration::from_secs(20), || {
        let store = store.clone();
        async move {
            let attempts: i32 = sqlx::query_scalar("SELECT max(attempts) FROM sync_log")
                .fetch_one(store.pool())
                .await
                .unwrap();
            attempts >= 2
        }
    })
    .await;
    app.emulator.faults().clear();
    app.wait_for_sync().await;

    let contact = app.record("Contact", "Strex_MSISDN__c", &subscriber);
    let event = app.record("Strex_Event__c", "Strex_Transaction_Id__c", "lost");
    assert_eq!(event["Message__c"], "SECOND");
    let stats = app.emulator.stats();
    let contact_writes = stats.writes_of(contact["Id"].as_str().unwrap());
    assert!(
        contact_writes >= 3,
        "the lost update was sent again: {contact_writes}"
    );
    assert_eq!(app.emulator.records("Strex_Event__c").len(), 2);
}

/// Strex_Event__c only, linked to a Contact that strexforce does not create.
const EVENT_ONLY: &str = r#"
match: { kind: mo }
rules:
  - name: event
    upserts:
      - object: Strex_Event__c
        external_id: Strex_Transaction_Id__c
        fields:
          Strex_Transaction_Id__c: "{{ transactionId }}"
          Contact__r: { Strex_MSISDN__c: "{{ msisdn }}" }
          Kind__c: MO
"#;

#[tokio::test]
async fn a_parent_not_found_yet_is_waited_for() {
    let mappings = tempfile::tempdir().unwrap();
    std::fs::write(mappings.path().join("event.yaml"), EVENT_ONLY).unwrap();
    let app = TestApp::spawn_with(mappings.path().to_owned()).await;
    let subscriber = msisdn(5);

    post_all(&app.service.url(), vec![mo("orphan", &subscriber, "HI")], 1).await;
    let store = app.store().clone();
    wait_until(
        "the child to wait for its parent",
        Duration::from_secs(20),
        || {
            let store = store.clone();
            async move {
                let row: (i32, Option<String>) =
                    sqlx::query_as("SELECT attempts, error_code FROM sync_log")
                        .fetch_one(store.pool())
                        .await
                        .unwrap();
                row.0 >= 2 && row.1.as_deref() == Some("INVALID_FIELD")
            }
        },
    )
    .await;
    let parent = json!({"LastName": "Parent", "Strex_MSISDN__c": subscriber});
    create_contact(&app.emulator, parent).await;
    app.wait_for_sync().await;

    let contact = app.record("Contact", "Strex_MSISDN__c", &subscriber);
    let event = app.record("Strex_Event__c", "Strex_Transaction_Id__c", "orphan");
    assert_eq!(event["Contact__c"], contact["Id"]);
}

#[tokio::test]
async fn a_row_failing_transiently_past_the_retry_age_is_dead() {
    let app = TestApp::spawn_with_options(AppOptions {
        sync: SyncSettings {
            max_age: Duration::ZERO,
            ..test_sync_settings()
        },
        ..AppOptions::default()
    })
    .await;
    let faults = Faults {
        server_error_share: 1.0,
        ..Faults::default()
    };
    app.emulator.faults().set(faults).unwrap();

    post_all(&app.service.url(), vec![mo("dead-1", &msisdn(1), "HI")], 1).await;
    app.wait_for_sync().await;

    let rows = app.sync_log().await;
    assert_eq!(rows[0].status, "dead");
    assert_eq!(rows[0].error_code.as_deref(), Some("SERVER_UNAVAILABLE"));
    assert_eq!(rows[1].status, "failed");
    assert_eq!(rows[1].error_code.as_deref(), Some("DEPENDENCY_FAILED"));
}

/// An Account whose Name is the SMS text, which may be longer than Name allows.
const ACCOUNT_NAMED_BY_TEXT: &str = r#"
match: { kind: mo }
rules:
  - name: account
    upserts:
      - object: Account
        external_id: Strex_Account_Key__c
        fields:
          Strex_Account_Key__c: "{{ transactionId }}"
          Name: "{{ content }}"
"#;

#[tokio::test]
async fn a_permanent_failure_fails_at_once_with_code_message_and_fields() {
    let mappings = tempfile::tempdir().unwrap();
    std::fs::write(mappings.path().join("account.yaml"), ACCOUNT_NAMED_BY_TEXT).unwrap();
    let app = TestApp::spawn_with(mappings.path().to_owned()).await;

    let long = "x".repeat(300);
    post_all(
        &app.service.url(),
        vec![mo("too-long", &msisdn(1), &long)],
        1,
    )
    .await;
    app.wait_for_sync().await;

    let rows = app.sync_log().await;
    assert_eq!(rows[0].status, "failed");
    assert_eq!(rows[0].attempts, 1);
    assert_eq!(rows[0].error_code.as_deref(), Some("STRING_TOO_LONG"));
    assert!(
        rows[0]
            .error_message
            .as_deref()
            .unwrap()
            .contains("max length=255")
    );
    assert_eq!(
        rows[0].error_fields.as_deref(),
        Some(&["Name".to_owned()][..])
    );
}

#[tokio::test]
async fn an_expired_session_is_renewed_once_for_concurrent_requests_and_costs_no_attempt() {
    let app = TestApp::spawn_with_options(AppOptions {
        sync: SyncSettings {
            workers: 4,
            ..test_sync_settings()
        },
        ..AppOptions::default()
    })
    .await;
    post_all(&app.service.url(), vec![mo("warm", &msisdn(1), "HI")], 1).await;
    app.wait_for_sync().await;
    let logins_before = app.emulator.stats().calls_of(CallKind::Token);
    app.emulator
        .faults()
        .set(Faults {
            latency_ms: 100,
            ..Faults::default()
        })
        .unwrap();
    app.emulator.expire_sessions();

    let forwards = (0..40)
        .map(|n| mo(&format!("session-{n}"), &msisdn(10 + n), "HI"))
        .collect();
    post_all(&app.service.url(), forwards, 16).await;
    app.wait_for_sync().await;

    let stats = app.emulator.stats();
    assert_eq!(stats.calls_of(CallKind::Token), logins_before + 1);
    let rows = app.sync_log().await;
    assert!(
        rows.iter()
            .all(|row| row.status == "succeeded" && row.attempts == 1)
    );
}
