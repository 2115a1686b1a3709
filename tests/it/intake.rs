//! What Strex gets back, and what is stored, for each kind of forward.

use std::time::Duration;

use serde_json::{Value, json};
use strexforce::forward::NumberingPlan;
use strexforce::forward::auth::{AuthConfig, ForwardAuth};
use strexforce::forward::intake::Intake;
use strexforce::forward::limits::ReceiveLimits;
use strexforce::mapping::{MappingSet, MappingSettings};
use strexforce::store::{PoolSettings, Store};
use strexforce::sync::SyncWake;

use crate::common::{TestApp, fixture, query_json, shipped_mappings};

const FIXTURES: [&str; 25] = [
    "mo-minimal.json",
    "mo-plain.json",
    "mo-preauth.json",
    "mo-preauth-failed.json",
    "mo-lookup.json",
    "mo-lookup-nested.json",
    "mo-stop.json",
    "mo-unicode.json",
    "mo-unicode-escaped.json",
    "dlr-plain-sms-delivered.json",
    "dlr-properties-null.json",
    "dlr-subscribe.json",
    "dlr-unsubscribe.json",
    "dlr-signup.json",
    "dlr-recurring.json",
    "dlr-alter-price.json",
    "dlr-subscribe-preauth-failed.json",
    "dlr-recurring-preauth-failed.json",
    "dlr-validation-failed.json",
    "dlr-already-registered.json",
    "dlr-lookup-failed.json",
    "dlr-alter-price-invalid.json",
    "dlr-recurring-insufficient-funds.json",
    "dlr-reversed.json",
    "dlr-sfmcsms.json",
];

#[tokio::test]
async fn every_fixture_is_answered_200_and_stored_byte_for_byte() {
    let app = TestApp::spawn().await;

    for name in FIXTURES {
        let response = app.post_fixture(name).await;
        assert_eq!(response.status(), 200, "{name}");
    }

    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT body_raw FROM inbound_event ORDER BY id")
        .fetch_all(app.store().pool())
        .await
        .unwrap();
    // mo-unicode-escaped.json is the same MO as mo-unicode.json, so it is a duplicate.
    let expected: Vec<Vec<u8>> = FIXTURES
        .iter()
        .filter(|name| **name != "mo-unicode-escaped.json")
        .map(|name| fixture(name))
        .collect();
    assert_eq!(stored, expected);
}

#[tokio::test]
async fn a_subscribe_report_plans_a_contact_and_an_event_in_one_transaction() {
    let app = TestApp::spawn().await;

    let response = app.post_fixture("dlr-subscribe.json").await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "planned");
    let rows = query_json(
        app.store(),
        "SELECT s.step, s.sobject, s.external_id_field, s.external_id, s.status, s.subject,
                e.status AS event_status, e.subject AS event_subject
         FROM sync_log s JOIN inbound_event e ON e.id = s.event_id ORDER BY s.step",
    )
    .await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["sobject"], "Contact");
    assert_eq!(rows[0]["external_id"], "+4700000001");
    assert_eq!(rows[1]["sobject"], "Strex_Event__c");
    assert_eq!(
        rows[1]["external_id"],
        "dbdcee79-c23e-4b20-a696-c87bde2eadba"
    );
    for row in &rows {
        assert_eq!(row["event_status"], "planned");
        assert_eq!(row["subject"], "+4700000001");
        assert_eq!(row["event_subject"], "+4700000001");
    }
}

#[tokio::test]
async fn a_duplicate_forward_is_answered_200_and_adds_nothing() {
    let app = TestApp::spawn().await;
    app.post_fixture("dlr-subscribe.json").await;
    app.post_fixture("mo-lookup.json").await;
    // Strex's retry of an MO may differ in processAttempts; it is still the same MO.
    let mut retried: Value = serde_json::from_slice(&fixture("mo-lookup.json")).unwrap();
    retried["processAttempts"] = json!(3);

    let dlr_again = app.post_fixture("dlr-subscribe.json").await;
    let mo_again = app.post("mo", serde_json::to_vec(&retried).unwrap()).await;

    for response in [dlr_again, mo_again] {
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["status"], "duplicate");
    }
    let counts = query_json(
        app.store(),
        "SELECT (SELECT count(*) FROM inbound_event) AS events,
                (SELECT count(*) FROM sync_log) AS rows",
    )
    .await;
    assert_eq!(counts[0], json!({"events": 2, "rows": 4}));
}

#[tokio::test]
async fn a_later_state_of_the_same_transaction_is_a_new_event() {
    let app = TestApp::spawn().await;
    let mut sent: Value = serde_json::from_slice(&fixture("dlr-plain-sms-delivered.json")).unwrap();
    sent["statusCode"] = json!("Sent");
    sent["detailedStatusCode"] = json!("None");

    app.post("dlr", serde_json::to_vec(&sent).unwrap()).await;
    app.post_fixture("dlr-plain-sms-delivered.json").await;

    let events = query_json(
        app.store(),
        "SELECT dedupe_key FROM inbound_event ORDER BY id",
    )
    .await;
    assert_eq!(events.len(), 2);
    assert_ne!(events[0], events[1]);
}

#[tokio::test]
async fn invalid_json_is_answered_400_and_kept_as_a_rejected_event() {
    let app = TestApp::spawn().await;
    let body = b"{\"transactionId\": \"t1\", \"sender\": ".to_vec();

    let response = app.post("mo", body.clone()).await;

    assert_eq!(response.status(), 400);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "invalid_json");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("line 1 column"),
        "{problem}"
    );
    let events = query_json(
        app.store(),
        "SELECT kind, status, error, body FROM inbound_event",
    )
    .await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["kind"], "mo");
    assert_eq!(events[0]["status"], "rejected");
    assert_eq!(events[0]["error"], problem["detail"]);
    assert_eq!(events[0]["body"], Value::Null);
    let raw: Vec<u8> = sqlx::query_scalar("SELECT body_raw FROM inbound_event")
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    assert_eq!(raw, body);
}

#[tokio::test]
async fn a_forward_without_a_required_field_is_rejected_naming_the_field() {
    let app = TestApp::spawn().await;
    let mut report: Value = serde_json::from_slice(&fixture("dlr-subscribe.json")).unwrap();
    report.as_object_mut().unwrap().remove("statusCode");

    let response = app.post("dlr", serde_json::to_vec(&report).unwrap()).await;

    assert_eq!(response.status(), 400);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "missing_field");
    assert_eq!(
        problem["detail"],
        "required field `statusCode` is missing or null"
    );
    let events = query_json(
        app.store(),
        "SELECT status, transaction_id FROM inbound_event",
    )
    .await;
    assert_eq!(
        events,
        vec![json!({"status": "rejected", "transaction_id": report["transactionId"]})]
    );
}

#[tokio::test]
async fn the_same_bad_body_sent_again_is_stored_once() {
    let app = TestApp::spawn().await;

    for _ in 0..3 {
        assert_eq!(app.post("dlr", "[1, 2]").await.status(), 400);
    }

    let events = query_json(app.store(), "SELECT status, error FROM inbound_event").await;
    assert_eq!(
        events,
        vec![json!({"status": "rejected", "error": "body must be a JSON object, found an array"})]
    );
}

#[tokio::test]
async fn a_forward_no_mapping_matches_is_stored_as_unmapped() {
    let app = TestApp::spawn().await;
    // A StrexConnect service the shipped mappings do not cover.
    let mut report: Value = serde_json::from_slice(&fixture("dlr-subscribe.json")).unwrap();
    report["properties"]["ServiceType"] = json!("Voting");

    let response = app.post("dlr", serde_json::to_vec(&report).unwrap()).await;

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "unmapped");
    let events = query_json(app.store(), "SELECT status, subject FROM inbound_event").await;
    assert_eq!(
        events,
        vec![json!({"status": "unmapped", "subject": "+4700000001"})]
    );
    assert!(app.sync_log().await.is_empty());
}

#[tokio::test]
async fn an_sms_text_with_a_nul_character_is_stored_and_synced() {
    let app = TestApp::spawn().await;
    let body = br#"{"transactionId":"nul-1","created":"2025-03-12T13:58:40+00:00",
        "sender":"+4700000009","recipient":"2002","content":"GIVE\u0000100"}"#;

    let response = app.post("mo", &body[..]).await;
    app.wait_for_sync().await;

    assert_eq!(response.status(), 200);
    let events = query_json(
        app.store(),
        "SELECT body->>'content' AS content FROM inbound_event",
    )
    .await;
    assert_eq!(events[0]["content"], "GIVE\u{fffd}100");
    let raw: Vec<u8> = sqlx::query_scalar("SELECT body_raw FROM inbound_event")
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    assert_eq!(raw, body.to_vec());
    let event = app.record("Strex_Event__c", "Strex_Transaction_Id__c", "nul-1");
    assert_eq!(event["Message__c"], "GIVE\u{fffd}100");
}

#[tokio::test]
async fn postgres_out_of_reach_is_answered_503_so_strex_retries() {
    let settings = PoolSettings {
        acquire_timeout: Duration::from_millis(500),
        ..PoolSettings::default()
    };
    // Nothing listens on port 1; the pool only connects on first use.
    let store =
        Store::connect_lazy("postgres://postgres@127.0.0.1:1/strexforce", &settings).unwrap();
    let mappings = MappingSet::load_dir(&shipped_mappings(), &MappingSettings::default()).unwrap();
    let intake = Intake {
        store,
        mappings: std::sync::Arc::new(std::sync::RwLock::new(std::sync::Arc::new(mappings))),
        numbering_plan: NumberingPlan::default(),
        wake: SyncWake::default(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let receiver = strexforce::forward::http::Receiver {
        auth: ForwardAuth::new(&AuthConfig::default(), &intake.store).unwrap(),
        intake,
        limits: ReceiveLimits::default(),
    };
    let readiness = strexforce::server::health::Readiness {
        store: receiver.intake.store.clone(),
        mappings: receiver.intake.mappings.clone(),
        login: Default::default(),
        sync_may_wait_for_login: false,
    };
    tokio::spawn(async move {
        axum::serve(listener, strexforce::server::router(receiver, readiness))
            .await
            .unwrap();
    });

    let response = reqwest::Client::new()
        .post(format!("{url}/forward/dlr"))
        .header("content-type", "application/json")
        .body(fixture("dlr-subscribe.json"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "5");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "storage_unavailable");
}

#[tokio::test]
async fn an_identifier_postgres_cannot_index_is_rejected_not_retried_forever() {
    let app = TestApp::spawn().await;
    let mut long_id: Value = serde_json::from_slice(&fixture("mo-plain.json")).unwrap();
    long_id["transactionId"] = json!("x".repeat(4_000));
    let mut nul_sender: Value = serde_json::from_slice(&fixture("mo-plain.json")).unwrap();
    nul_sender["sender"] = json!("+4700000001\u{0}");

    let long = app.post("mo", serde_json::to_vec(&long_id).unwrap()).await;
    let nul = app
        .post("mo", serde_json::to_vec(&nul_sender).unwrap())
        .await;

    assert_eq!(long.status(), 400);
    assert_eq!(nul.status(), 400);
    let problems: Vec<Value> = vec![long.json().await.unwrap(), nul.json().await.unwrap()];
    assert_eq!(
        problems[0]["detail"],
        "field `transactionId` is longer than 255 characters"
    );
    assert_eq!(problems[1]["code"], "bad_value");
    let events = query_json(
        app.store(),
        "SELECT status, transaction_id FROM inbound_event ORDER BY id",
    )
    .await;
    assert_eq!(
        events,
        vec![
            json!({"status": "rejected", "transaction_id": null}),
            json!({"status": "rejected", "transaction_id": nul_sender["transactionId"]}),
        ]
    );
}
