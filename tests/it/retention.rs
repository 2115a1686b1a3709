//! Retention: old rows that ended well leave the live table (archived or deleted); rows that
//! still need an operator, and the rows those depend on, stay.

use std::time::Duration;

use serde_json::json;
use sf_emulator::Faults;
use strexforce::store::retention::{RetentionMode, RetentionPolicy};

use crate::common::forwards::{mo, msisdn};
use crate::common::process::run_command;
use crate::common::scenarios::failed_subscribe_then_newer_unsubscribe;
use crate::common::{AppOptions, TestApp, post_all, query_json, wait_until};

/// Two MOs; the second one's Strex_Event__c fails permanently. Every row is then made 40
/// days old.
async fn old_rows_one_of_them_failed() -> TestApp {
    let app = TestApp::spawn().await;
    app.emulator
        .faults()
        .set(Faults {
            poison_external_id: Some("bad".to_owned()),
            ..Faults::default()
        })
        .unwrap();
    let forwards = vec![mo("good", &msisdn(1), "HI"), mo("bad", &msisdn(2), "HI")];
    post_all(&app.service.url(), forwards, 1).await;
    app.wait_for_sync().await;
    age_every_row(&app).await;
    app
}

async fn age_every_row(app: &TestApp) {
    sqlx::query("UPDATE sync_log SET updated_at = now() - interval '40 days'")
        .execute(app.store().pool())
        .await
        .unwrap();
}

async fn live_and_archived(app: &TestApp) -> (Vec<String>, Vec<String>) {
    let ids = |table: &str| {
        format!("SELECT external_id || ' ' || status AS row FROM {table} ORDER BY id")
    };
    let rows = |values: Vec<serde_json::Value>| {
        values
            .into_iter()
            .map(|value| value["row"].as_str().unwrap().to_owned())
            .collect()
    };
    (
        rows(query_json(app.store(), &ids("sync_log")).await),
        rows(query_json(app.store(), &ids("sync_log_archive")).await),
    )
}

#[tokio::test]
async fn old_succeeded_rows_move_to_the_archive_and_a_failed_event_keeps_its_rows() {
    let app = old_rows_one_of_them_failed().await;

    let (code, out, _) = run_command(&app.db.url, &["prune"]);

    assert_eq!(code, 0);
    assert!(
        out.contains("2 sync_log row(s) older than 30 day(s) moved"),
        "{out}"
    );
    let (live, archived) = live_and_archived(&app).await;
    assert_eq!(
        live,
        [format!("{} succeeded", msisdn(2)), "bad failed".to_owned()]
    );
    assert_eq!(
        archived,
        [
            format!("{} succeeded", msisdn(1)),
            "good succeeded".to_owned()
        ]
    );
}

#[tokio::test]
async fn in_delete_mode_old_rows_are_deleted() {
    let app = old_rows_one_of_them_failed().await;

    let (code, _, _) = run_command(&app.db.url, &["prune", "--retention-mode", "delete"]);

    assert_eq!(code, 0);
    let (live, archived) = live_and_archived(&app).await;
    assert_eq!(live.len(), 2);
    assert!(archived.is_empty());
}

#[tokio::test]
async fn rows_younger_than_the_retention_age_stay() {
    let app = old_rows_one_of_them_failed().await;
    sqlx::query("UPDATE sync_log SET updated_at = now() - interval '10 days'")
        .execute(app.store().pool())
        .await
        .unwrap();

    let (_, out, _) = run_command(&app.db.url, &["prune"]);

    assert!(out.starts_with("0 sync_log row(s)"), "{out}");
}

#[tokio::test]
async fn a_succeeded_row_newer_than_a_failed_row_of_its_record_stays_for_retry_to_see() {
    let app = TestApp::spawn().await;
    let subscriber = msisdn(1);
    failed_subscribe_then_newer_unsubscribe(&app, &subscriber).await;
    age_every_row(&app).await;

    run_command(&app.db.url, &["prune"]);
    let (retry_code, _, warning) = run_command(&app.db.url, &["retry", "--status", "failed"]);

    let (live, archived) = live_and_archived(&app).await;
    assert_eq!(
        live,
        [
            format!("{subscriber} failed"),
            "t-old failed".to_owned(),
            format!("{subscriber} succeeded"),
        ]
    );
    assert_eq!(archived, ["t-new succeeded"]);
    assert_eq!(retry_code, 1);
    assert!(
        warning.contains("would overwrite that newer data"),
        "{warning}"
    );
}

#[tokio::test]
async fn serve_applies_retention_on_its_own() {
    let mut prepared = TestApp::prepare(AppOptions::default()).await;
    prepared.config.retention = RetentionPolicy {
        age: Duration::ZERO,
        mode: RetentionMode::Archive,
    };
    prepared.config.retention_interval = Some(Duration::from_millis(100));
    let app = prepared.start().await;

    post_all(
        &app.service.url(),
        vec![mo("soon-gone", &msisdn(1), "HI")],
        1,
    )
    .await;
    let store = app.store().clone();
    wait_until(
        "retention to archive the rows",
        Duration::from_secs(20),
        || {
            let store = store.clone();
            async move {
                let counts = query_json(
                    &store,
                    "SELECT (SELECT count(*) FROM sync_log) AS live,
                        (SELECT count(*) FROM sync_log_archive) AS archived",
                )
                .await;
                counts[0] == json!({"live": 0, "archived": 2})
            }
        },
    )
    .await;
}
