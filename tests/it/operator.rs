//! The operator commands, run as the real binary against a test database: `log`, `retry`,
//! `ignore`, `status` and `prune`.

use std::time::Duration;

use serde_json::Value;
use sf_emulator::Faults;

use crate::common::forwards::{mo, msisdn};
use crate::common::process::run_command;
use crate::common::scenarios::failed_subscribe_then_newer_unsubscribe;
use crate::common::{TestApp, TestDb, post_all, query_json, wait_until};

/// An app whose Strex_Event__c rows for transactions named "bad-…" fail permanently.
async fn app_with_failed_rows(transactions: &[&str]) -> TestApp {
    let app = TestApp::spawn().await;
    app.emulator
        .faults()
        .set(Faults {
            poison_external_id: Some("bad-1".to_owned()),
            ..Faults::default()
        })
        .unwrap();
    let forwards = transactions
        .iter()
        .enumerate()
        .map(|(n, id)| mo(id, &msisdn(n), "HI"))
        .collect();
    post_all(&app.service.url(), forwards, 1).await;
    app.wait_for_sync().await;
    app
}

/// Waits until the first row has failed once, then holds its next attempt off for an hour,
/// so that no worker is sending it while the test acts on it.
async fn park_failing_row(app: &TestApp) -> i64 {
    let store = app.store().clone();
    wait_until("the row to fail once", Duration::from_secs(20), || {
        let store = store.clone();
        async move {
            sqlx::query(
                "UPDATE sync_log SET next_attempt_at = now() + interval '1 hour'
                 WHERE id = (SELECT min(id) FROM sync_log) AND status = 'pending'
                   AND attempts > 0",
            )
            .execute(store.pool())
            .await
            .unwrap()
            .rows_affected()
                == 1
        }
    })
    .await;
    sqlx::query_scalar("SELECT min(id) FROM sync_log")
        .fetch_one(app.store().pool())
        .await
        .unwrap()
}

async fn statuses(app: &TestApp) -> Vec<(String, String)> {
    app.sync_log()
        .await
        .into_iter()
        .map(|row| (row.external_id, row.status))
        .collect()
}

#[tokio::test]
async fn log_lists_rows_as_a_table_or_as_json_filtered_by_status_object_subject_event_and_age() {
    let app = app_with_failed_rows(&["good-1", "bad-1"]).await;

    let (code, table, _) = run_command(&app.db.url, &["log"]);
    let (_, json, _) = run_command(
        &app.db.url,
        &[
            "log",
            "--status",
            "failed",
            "--object", // Salesforce API names are case-insensitive, and so is the filter
            "strex_event__c",
            "--json",
        ],
    );
    let (_, by_subject, _) = run_command(
        &app.db.url,
        &["log", "--subject", &msisdn(0), "--json", "--limit", "1"],
    );
    let (_, by_event, _) = run_command(&app.db.url, &["log", "--event", "2", "--json"]);
    let (_, recent, _) = run_command(&app.db.url, &["log", "--since", "1h", "--json"]);
    let (_, future, _) = run_command(&app.db.url, &["log", "--since", "2999-01-01"]);

    assert_eq!(code, 0);
    assert!(
        table.contains("JSON_PARSER_ERROR") && table.contains("succeeded"),
        "{table}"
    );
    let failed: Vec<Value> = serde_json::from_str(&json).unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["external_id"], "bad-1");
    assert_eq!(failed[0]["error_code"], "JSON_PARSER_ERROR");
    let newest: Vec<Value> = serde_json::from_str(&by_subject).unwrap();
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0]["external_id"], "good-1");
    let second_event: Vec<Value> = serde_json::from_str(&by_event).unwrap();
    assert_eq!(second_event.len(), 2);
    assert!(second_event.iter().all(|row| row["event_id"] == 2));
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&recent).unwrap().len(),
        4
    );
    assert!(future.contains("no sync_log rows match"), "{future}");
}

#[tokio::test]
async fn retry_sends_failed_rows_again() {
    let app = app_with_failed_rows(&["bad-1"]).await;
    app.emulator.faults().clear();

    let (code, out, err) = run_command(&app.db.url, &["retry", "--status", "failed"]);
    app.wait_for_sync().await;

    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("1 row(s) back to pending"), "{out}");
    let rows = query_json(
        app.store(),
        "SELECT status, attempts, requeued_at IS NOT NULL AS requeued FROM sync_log
         WHERE external_id = 'bad-1'",
    )
    .await;
    assert_eq!(rows[0]["status"], "succeeded");
    assert_eq!(rows[0]["attempts"], 1);
    assert_eq!(rows[0]["requeued"], true);
}

#[tokio::test]
async fn retry_refuses_to_overwrite_newer_data_of_the_same_record_without_force() {
    let app = TestApp::spawn().await;
    let subscriber = msisdn(1);
    failed_subscribe_then_newer_unsubscribe(&app, &subscriber).await;
    let failed: i64 = sqlx::query_scalar("SELECT min(id) FROM sync_log WHERE status = 'failed'")
        .fetch_one(app.store().pool())
        .await
        .unwrap();

    let (held_code, _, warning) = run_command(&app.db.url, &["retry", &failed.to_string()]);
    let held_status = statuses(&app).await;
    let (forced_code, _, _) = run_command(&app.db.url, &["retry", &failed.to_string(), "--force"]);
    app.wait_for_sync().await;

    assert_eq!(held_code, 1);
    assert!(
        warning.contains("would overwrite that newer data"),
        "{warning}"
    );
    assert_eq!(held_status[0], (subscriber.clone(), "failed".to_owned()));
    assert_eq!(forced_code, 0);
    let after = statuses(&app).await;
    assert!(
        after.iter().all(|(_, status)| status == "succeeded"),
        "{after:?}"
    );
    // Forced: the old Subscribe now overwrote the newer Unsubscribe, as the warning said.
    let contact = app.record("Contact", "Strex_MSISDN__c", &subscriber);
    assert_eq!(contact["Strex_Subscription_Status__c"], "Active");
}

#[tokio::test]
async fn ignore_sets_rows_aside_with_the_steps_waiting_for_them() {
    let app = TestApp::spawn().await;
    app.emulator
        .faults()
        .set(Faults {
            server_error_share: 1.0,
            ..Faults::default()
        })
        .unwrap();
    post_all(&app.service.url(), vec![mo("stuck", &msisdn(1), "HI")], 1).await;
    let contact_row = park_failing_row(&app).await;

    let (refused, _, complaint) = run_command(&app.db.url, &["ignore"]);
    let (code, out, _) = run_command(&app.db.url, &["ignore", &contact_row.to_string()]);

    assert_ne!(refused, 0);
    assert!(complaint.contains("say which rows"), "{complaint}");
    assert_eq!(code, 0);
    assert!(out.contains("2 row(s) ignored"), "{out}");
    let statuses: Vec<String> = statuses(&app).await.into_iter().map(|(_, s)| s).collect();
    assert_eq!(statuses, ["ignored", "ignored"]);
}

#[tokio::test]
async fn status_shows_the_backlog_the_oldest_open_row_and_the_api_usage() {
    let app = app_with_failed_rows(&["good-1", "bad-1"]).await;
    app.emulator
        .faults()
        .set(Faults {
            server_error_share: 1.0,
            ..Faults::default()
        })
        .unwrap();
    post_all(&app.service.url(), vec![mo("waiting", &msisdn(9), "HI")], 1).await;

    let (code, text, _) = run_command(&app.db.url, &["status"]);
    let (_, json, _) = run_command(&app.db.url, &["status", "--json"]);

    assert_eq!(code, 0);
    assert!(
        text.contains("Oldest row pending or in flight: planned"),
        "{text}"
    );
    assert!(text.contains("Salesforce API usage:"), "{text}");
    let status: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(status["sync_log"]["failed"], 1);
    assert_eq!(status["sync_log"]["succeeded"], 3);
    let open = status["sync_log"]["pending"].as_i64().unwrap()
        + status["sync_log"]["in_flight"].as_i64().unwrap();
    assert_eq!(open, 2);
    assert!(status["oldest_open_age_secs"].as_i64().is_some());
    assert_eq!(status["api_usage"]["allocation"], 100_000);
    assert!(status["api_usage"]["used"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn a_database_without_the_schema_is_named_and_migrate_says_what_it_applied() {
    let db = TestDb::empty().await;

    let (log_code, _, log_err) = run_command(&db.url, &["log"]);
    let (first_code, first_out, first_err) = run_command(&db.url, &["migrate"]);
    let (again_code, again_out, _) = run_command(&db.url, &["migrate"]);
    let (after_code, _, _) = run_command(&db.url, &["log"]);

    assert_eq!(log_code, 1);
    assert!(
        log_err.contains("no strexforce tables yet") && log_err.contains("strexforce migrate"),
        "{log_err}"
    );
    assert!(!log_err.contains(" at line "), "{log_err}");
    assert_eq!(first_code, 0, "{first_err}");
    assert!(
        first_out.starts_with("applied ") && first_out.contains("migration(s): 20261203000001, "),
        "{first_out}"
    );
    assert_eq!(again_code, 0);
    assert!(again_out.contains("no migration to apply"), "{again_out}");
    assert_eq!(after_code, 0);
}

#[tokio::test]
async fn retry_and_ignore_name_the_ids_they_left_alone() {
    let app = TestApp::spawn().await;
    post_all(&app.service.url(), vec![mo("t-ok", &msisdn(1), "GIVE")], 1).await;
    app.wait_for_sync().await;
    let succeeded: i64 = sqlx::query_scalar("SELECT min(id) FROM sync_log")
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    let succeeded = succeeded.to_string();

    let (retry_code, retry_out, retry_err) =
        run_command(&app.db.url, &["retry", &succeeded, "999999"]);
    let (ignore_code, _, ignore_err) = run_command(&app.db.url, &["ignore", "999999"]);

    assert_eq!(retry_code, 1);
    assert!(
        retry_out.starts_with("0 row(s) back to pending"),
        "{retry_out}"
    );
    assert!(
        retry_err.contains(&format!("row(s): {succeeded}, 999999 left alone"))
            && retry_err.contains("not failed or dead"),
        "{retry_err}"
    );
    assert_eq!(ignore_code, 1);
    assert!(
        ignore_err.contains("row(s): 999999 left alone"),
        "{ignore_err}"
    );
    let statuses = query_json(app.store(), "SELECT DISTINCT status FROM sync_log").await;
    assert_eq!(statuses, [serde_json::json!({"status": "succeeded"})]);
}
