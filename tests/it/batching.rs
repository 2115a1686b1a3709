//! Batches: grouped by object, never the same record twice in one request, matched to their
//! results by position, and the single-record resource for what Collections cannot say.

use std::time::{Duration, Instant};

use serde_json::json;
use sf_emulator::{CallKind, EmulatorConfig, Faults, Schema};
use strexforce::sync::SyncSettings;

use crate::common::forwards::{mo, msisdn};
use crate::common::{
    AppOptions, TestApp, create_contact, post_all, query_json, test_sync_settings, wait_until,
};

/// One mapping: every MO upserts the Account named by its text.
const ACCOUNT_PER_TEXT: &str = r#"
match: { kind: mo }
rules:
  - name: account
    upserts:
      - object: Account
        external_id: Strex_Account_Key__c
        fields:
          Strex_Account_Key__c: "{{ content }}"
          Name: "{{ sender }}"
"#;

fn mappings_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[tokio::test]
async fn the_same_record_is_never_twice_in_one_request_whatever_the_batch_boundaries() {
    let mappings = mappings_dir(&[("accounts.yaml", ACCOUNT_PER_TEXT)]);
    let app = TestApp::spawn_with_options(AppOptions {
        mappings_dir: mappings.path().to_owned(),
        sync: SyncSettings {
            batch_size: 3,
            workers: 1,
            ..test_sync_settings()
        },
        ..AppOptions::default()
    })
    .await;
    // Different senders (so no order holds them apart) write three Accounts; "a" and "A"
    // are the same record, since Salesforce matches external ids without case.
    let keys = ["A", "a", "B", "A", "C", "b", "A", "A"];
    let forwards = (0..24)
        .map(|n| mo(&format!("acct-{n}"), &msisdn(100 + n), keys[n % keys.len()]))
        .collect();

    post_all(&app.service.url(), forwards, 8).await;
    app.wait_for_sync().await;

    let rows = app.sync_log().await;
    assert_eq!(rows.len(), 24);
    for row in &rows {
        assert_eq!(row.status, "succeeded", "{row:?}");
        assert_eq!(row.attempts, 1, "a released row is not an attempt: {row:?}");
    }
    let stats = app.emulator.stats();
    assert!(stats.collections_batch_sizes.iter().all(|size| *size <= 3));
    assert_eq!(stats.collections_records(), 24);
    // A duplicate in a request would fail both copies and send them down the fallback path.
    assert_eq!(stats.calls_of(CallKind::SingleUpsert), 0);
    assert_eq!(app.emulator.records("Account").len(), 3);
}

#[tokio::test]
async fn results_that_do_not_match_the_records_sent_are_a_protocol_error_and_retried() {
    let app = TestApp::spawn().await;
    app.emulator
        .faults()
        .set(Faults {
            short_collections_results: true,
            ..Faults::default()
        })
        .unwrap();

    post_all(&app.service.url(), vec![mo("short-1", &msisdn(1), "HI")], 1).await;
    let store = app.store().clone();
    wait_until(
        "a protocol error on the row",
        Duration::from_secs(20),
        || {
            let store = store.clone();
            async move {
                let codes: Vec<Option<String>> =
                    sqlx::query_scalar("SELECT error_code FROM sync_log WHERE status = 'pending'")
                        .fetch_all(store.pool())
                        .await
                        .unwrap();
                codes
                    .iter()
                    .any(|code| code.as_deref() == Some("PROTOCOL_ERROR"))
            }
        },
    )
    .await;
    app.emulator.faults().clear();
    app.wait_for_sync().await;

    let rows = app.sync_log().await;
    assert!(rows.iter().all(|row| row.status == "succeeded"));
    assert!(rows[0].attempts >= 2);
    assert_eq!(
        app.emulator
            .find("Contact", "Strex_MSISDN__c", &msisdn(1))
            .len(),
        1
    );
}

/// The built-in schema with the Contact MSISDN no longer unique, so that two Contacts can
/// share one.
fn schema_with_shared_msisdns() -> Schema {
    let text = include_str!("../../crates/sf-emulator/schema/salesforce.yaml");
    let unique = "        unique: true\n        label: Strex MSISDN";
    assert!(
        text.contains(unique),
        "the schema declares Strex_MSISDN__c another way"
    );
    let relaxed = text.replacen(unique, "        label: Strex MSISDN", 1);
    Schema::from_yaml(&relaxed).unwrap()
}

#[tokio::test]
async fn an_external_id_matching_several_records_fails_the_row_with_the_candidate_ids() {
    let app = TestApp::spawn_with_options(AppOptions {
        emulator: EmulatorConfig {
            schema: schema_with_shared_msisdns(),
            ..EmulatorConfig::default()
        },
        ..AppOptions::default()
    })
    .await;
    let subscriber = msisdn(7);
    let first = create_contact(
        &app.emulator,
        json!({"LastName": "One", "Strex_MSISDN__c": subscriber}),
    )
    .await;
    let second = create_contact(
        &app.emulator,
        json!({"LastName": "Two", "Strex_MSISDN__c": subscriber}),
    )
    .await;

    post_all(
        &app.service.url(),
        vec![mo("several-1", &subscriber, "HI")],
        1,
    )
    .await;
    app.wait_for_sync().await;

    let rows = app.sync_log().await;
    let contact = &rows[0];
    assert_eq!(contact.status, "failed");
    assert_eq!(contact.error_code.as_deref(), Some("DUPLICATE_EXTERNAL_ID"));
    let message = contact.error_message.as_deref().unwrap();
    assert!(
        message.contains(&first) && message.contains(&second),
        "{message}"
    );
    assert_eq!(rows[1].status, "failed");
    assert_eq!(rows[1].error_code.as_deref(), Some("DEPENDENCY_FAILED"));
    assert_eq!(app.emulator.stats().calls_of(CallKind::SingleUpsert), 1);
}

#[tokio::test]
async fn a_batch_refused_as_a_whole_is_split_until_only_the_bad_record_fails() {
    let mappings = mappings_dir(&[("accounts.yaml", ACCOUNT_PER_TEXT)]);
    let prepared = TestApp::prepare(AppOptions {
        mappings_dir: mappings.path().to_owned(),
        ..AppOptions::default()
    })
    .await;
    prepared
        .emulator
        .faults()
        .set(Faults {
            poison_external_id: Some("BAD".to_owned()),
            ..Faults::default()
        })
        .unwrap();
    let forwards: Vec<_> = ["K1", "K2", "BAD", "K3", "K4"]
        .iter()
        .enumerate()
        .map(|(n, key)| mo(&format!("whole-{n}"), &msisdn(200 + n), key))
        .collect();
    // Stored before the service starts, so that all five travel in one request.
    prepared.store_forwards(&forwards).await;

    let app = prepared.start().await;
    app.wait_for_sync().await;

    let rows = query_json(
        app.store(),
        "SELECT external_id, status, error_code FROM sync_log ORDER BY id",
    )
    .await;
    for row in &rows {
        let expected = if row["external_id"] == "BAD" {
            "failed"
        } else {
            "succeeded"
        };
        assert_eq!(row["status"], expected, "{row}");
    }
    let stats = app.emulator.stats();
    // Five refused, then two sent and three refused, then the bad one alone and two sent.
    assert_eq!(stats.calls_of(CallKind::CollectionsUpsert), 5);
    assert_eq!(stats.collections_batch_sizes, [2, 2]);
    assert_eq!(stats.calls_of(CallKind::SingleUpsert), 0);
    assert_eq!(app.emulator.records("Account").len(), 4);
}

#[tokio::test]
async fn an_idle_engine_sends_a_single_forward_at_once() {
    let app = TestApp::spawn_with_options(AppOptions {
        sync: SyncSettings {
            gather_limit: Duration::from_secs(10),
            ..test_sync_settings()
        },
        ..AppOptions::default()
    })
    .await;

    let started = Instant::now();
    post_all(&app.service.url(), vec![mo("idle-1", &msisdn(9), "HI")], 1).await;
    app.wait_for_sync().await;

    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a lone forward waited for a batch to fill: {:?}",
        started.elapsed()
    );
    assert_eq!(app.emulator.stats().collections_batch_sizes, [1, 1, 1]);
}

/// The most Collections calls in flight at once while 40 forwards trickle in, one every
/// 20 ms, to four workers and a Salesforce that takes 100 ms per call.
async fn peak_calls_of_a_trickle(partial_batches: usize) -> usize {
    let app = TestApp::spawn_with_options(AppOptions {
        sync: SyncSettings {
            workers: 4,
            partial_batches,
            // Longer than a call: at the gather limit a batch leaves even without a slot.
            gather_limit: Duration::from_secs(2),
            ..test_sync_settings()
        },
        emulator: EmulatorConfig {
            latency: Duration::from_millis(100),
            ..EmulatorConfig::default()
        },
        ..AppOptions::default()
    })
    .await;
    for n in 0..40 {
        post_all(
            &app.service.url(),
            vec![mo(&format!("t-{n}"), &msisdn(n), "HI")],
            1,
        )
        .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.wait_for_sync().await;
    app.emulator.stats().peak_concurrent_calls
}

#[tokio::test]
async fn a_trickle_of_rows_keeps_no_more_partial_batches_in_flight_than_allowed() {
    let capped = peak_calls_of_a_trickle(1).await;
    let uncapped = peak_calls_of_a_trickle(4).await;

    assert_eq!(capped, 1, "partial batches were sent side by side");
    assert!(
        uncapped > 1,
        "without the cap the workers should send side by side, so the test would show nothing"
    );
}

/// An update-only step: an MO marks its sender's existing Contact as having opted out.
const OPT_OUT_ONLY: &str = r#"
match: { kind: mo }
rules:
  - name: opt-out
    upserts:
      - object: Contact
        external_id: Strex_MSISDN__c
        operation: update
        fields:
          Strex_MSISDN__c: "{{ msisdn }}"
          Strex_Opted_Out_SMS__c: true
"#;

#[tokio::test]
async fn an_update_only_step_goes_through_the_single_record_resource_and_skips_a_missing_record() {
    let mappings = mappings_dir(&[("opt-out.yaml", OPT_OUT_ONLY)]);
    let app = TestApp::spawn_with(mappings.path().to_owned()).await;
    let known = msisdn(1);
    create_contact(
        &app.emulator,
        json!({"LastName": "Known", "Strex_MSISDN__c": known}),
    )
    .await;

    let forwards = vec![mo("opt-1", &known, "STOP"), mo("opt-2", &msisdn(2), "STOP")];
    post_all(&app.service.url(), forwards, 1).await;
    app.wait_for_sync().await;

    let rows = app.sync_log().await;
    assert_eq!(rows[0].status, "succeeded");
    assert_eq!(rows[1].status, "skipped");
    assert_eq!(rows[1].error_code.as_deref(), Some("NOT_FOUND"));
    assert_eq!(
        app.record("Contact", "Strex_MSISDN__c", &known)["Strex_Opted_Out_SMS__c"],
        true
    );
    assert!(
        app.emulator
            .find("Contact", "Strex_MSISDN__c", &msisdn(2))
            .is_empty()
    );
    let stats = app.emulator.stats();
    assert_eq!(stats.calls_of(CallKind::SingleUpsert), 2);
    assert_eq!(stats.calls_of(CallKind::CollectionsUpsert), 0);
}
