//! Replay: planning stored events again with the mappings in force now.

use serde_json::Value;
use strexforce::forward::NumberingPlan;
use strexforce::mapping::{MappingSet, MappingSettings};
use strexforce::replay::{ReplayOptions, replay};

use crate::common::forwards::Report;
use crate::common::process::run_command;
use crate::common::{TestApp, copy_shipped_mappings, query_json, shipped_mappings};

#[tokio::test]
async fn replay_plans_an_unmapped_event_again_once_a_mapping_covers_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        shipped_mappings().join("mo.yaml"),
        dir.path().join("mo.yaml"),
    )
    .unwrap();
    let app = TestApp::spawn_with(dir.path().to_owned()).await;
    let response = app.post_fixture("dlr-subscribe.json").await;
    let event_id = response.json::<Value>().await.unwrap()["event_id"]
        .as_i64()
        .unwrap();
    copy_shipped_mappings(dir.path());
    let fixed = MappingSet::load_dir(dir.path(), &MappingSettings::default()).unwrap();

    let report = replay(
        app.store(),
        &fixed,
        &NumberingPlan::default(),
        event_id,
        ReplayOptions::default(),
    )
    .await
    .unwrap();
    app.wait_for_sync().await;

    assert_eq!(report.previous_status, "unmapped");
    assert_eq!(report.status, "planned");
    assert_eq!(report.added_rows.len(), 2);
    let contact = app.record("Contact", "Strex_MSISDN__c", "+4700000001");
    assert_eq!(contact["Strex_Subscription_Status__c"], "Active");
    let events = query_json(
        app.store(),
        "SELECT status, mapping_version FROM inbound_event",
    )
    .await;
    assert_eq!(events[0]["status"], "planned");
    assert_eq!(events[0]["mapping_version"], fixed.version());
}

#[tokio::test]
async fn replay_sets_failed_rows_aside_and_sends_the_fixed_plan() {
    let dir = tempfile::tempdir().unwrap();
    let broken = std::fs::read_to_string(shipped_mappings().join("mo.yaml"))
        .unwrap()
        .replace("Kind__c: MO", "Kind__c: SMS");
    std::fs::write(dir.path().join("mo.yaml"), broken).unwrap();
    let app = TestApp::spawn_with(dir.path().to_owned()).await;
    let response = app.post_fixture("mo-plain.json").await;
    let event_id = response.json::<Value>().await.unwrap()["event_id"]
        .as_i64()
        .unwrap();
    app.wait_for_sync().await;
    let fixed = MappingSet::load_dir(&shipped_mappings(), &MappingSettings::default()).unwrap();

    let report = replay(
        app.store(),
        &fixed,
        &NumberingPlan::default(),
        event_id,
        ReplayOptions::default(),
    )
    .await
    .unwrap();
    app.wait_for_sync().await;

    let rows = query_json(
        app.store(),
        "SELECT id, sobject, status, error_code FROM sync_log ORDER BY id",
    )
    .await;
    let statuses: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["sobject"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("Contact", "succeeded"),
            ("Strex_Event__c", "ignored"),
            ("Contact", "succeeded"),
            ("Strex_Event__c", "succeeded")
        ]
    );
    assert_eq!(rows[1]["error_code"], "REPLANNED");
    assert_eq!(report.ignored_rows, vec![rows[1]["id"].as_i64().unwrap()]);
    let event = app.record(
        "Strex_Event__c",
        "Strex_Transaction_Id__c",
        "df1c6a90-7179-4807-83e9-50bf03d72cb3",
    );
    assert_eq!(event["Kind__c"], "MO");
}

#[tokio::test]
async fn replay_by_status_plans_every_unmapped_event_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        shipped_mappings().join("mo.yaml"),
        dir.path().join("mo.yaml"),
    )
    .unwrap();
    let app = TestApp::spawn_with(dir.path().to_owned()).await;
    for report in [
        Report::new("t-sub", "+4790000001", "Subscribe"),
        Report::new("t-unsub", "+4790000001", "Unsubscribe"),
        Report::new("t-other", "+4790000002", "Subscribe"),
    ] {
        let (kind, body) = report.forward();
        assert_eq!(app.post(kind, body).await.status(), 200);
    }
    app.post_fixture("mo-plain.json").await;
    copy_shipped_mappings(dir.path());
    let mappings = dir.path().to_str().unwrap();

    let (dry_code, dry_out, _) = run_command(
        &app.db.url,
        &[
            "replay",
            "--status",
            "unmapped",
            "--dry-run",
            "--mappings",
            mappings,
        ],
    );
    let (code, out, err) = run_command(
        &app.db.url,
        &["replay", "--status", "unmapped", "--mappings", mappings],
    );
    app.wait_for_sync().await;

    assert_eq!(dry_code, 0);
    assert_eq!(
        dry_out.matches("would become planned").count(),
        3,
        "{dry_out}"
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.matches("was unmapped, is now planned").count(),
        3,
        "{out}"
    );
    assert!(
        err.contains("3 of 3 event(s) planned again, 0 refused"),
        "{err}"
    );
    let first = app.record("Contact", "Strex_MSISDN__c", "+4790000001");
    assert_eq!(first["Strex_Subscription_Status__c"], "Unsubscribed");
    let other = app.record("Contact", "Strex_MSISDN__c", "+4790000002");
    assert_eq!(other["Strex_Subscription_Status__c"], "Active");
    let events = query_json(app.store(), "SELECT status FROM inbound_event ORDER BY id").await;
    assert!(
        events.iter().all(|e| e["status"] == "planned"),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_superseded_report_is_not_replayed_and_the_others_still_are() {
    let app = TestApp::spawn().await;
    let delivered = Report::new("t-1", "+4790000001", "Subscribe");
    let late = Report::new("t-1", "+4790000001", "Subscribe").status("Sent");
    let mut ids = Vec::new();
    for report in [delivered, late] {
        let (kind, body) = report.forward();
        let answer: Value = app.post(kind, body).await.json().await.unwrap();
        ids.push(answer["event_id"].as_i64().unwrap().to_string());
    }
    app.wait_for_sync().await;

    let shipped = shipped_mappings();
    let mappings = shipped.to_str().unwrap();
    let (code, _, err) = run_command(
        &app.db.url,
        &[
            "replay",
            "--event",
            &ids.join(","),
            "--dry-run",
            "--mappings",
            mappings,
        ],
    );
    let (status_code, _, status_err) =
        run_command(&app.db.url, &["replay", "--status", "superseded"]);

    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "event {}: not replayed: event {} was superseded",
            ids[1], ids[1]
        )),
        "{err}"
    );
    assert!(
        err.contains("1 of 2 event(s) would be planned again, 1 refused"),
        "{err}"
    );
    assert_eq!(status_code, 2);
    assert!(
        status_err.contains("superseded reports are not replayed"),
        "{status_err}"
    );
}

#[tokio::test]
async fn replaying_an_event_older_than_the_records_data_needs_force() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for report in [
        Report::new("t-sub", "+4790000001", "Subscribe"),
        Report::new("t-unsub", "+4790000001", "Unsubscribe"),
    ] {
        let (kind, body) = report.forward();
        let answer: Value = app.post(kind, body).await.json().await.unwrap();
        ids.push(answer["event_id"].as_i64().unwrap().to_string());
    }
    app.wait_for_sync().await;
    let shipped = shipped_mappings();
    let mappings = shipped.to_str().unwrap();
    let replay_subscribe = |extra: &[&str]| {
        let mut args = vec!["replay", "--event", &ids[0], "--mappings", mappings];
        args.extend_from_slice(extra);
        run_command(&app.db.url, &args)
    };

    let (dry_code, _, dry_err) = replay_subscribe(&["--dry-run"]);
    let (held_code, _, held_err) = replay_subscribe(&[]);
    app.wait_for_sync().await;
    let held = app.record("Contact", "Strex_MSISDN__c", "+4790000001");
    let (forced_code, forced_out, _) = replay_subscribe(&["--force"]);
    app.wait_for_sync().await;

    assert_eq!(dry_code, 1);
    assert!(dry_err.contains("overwrite the newer data"), "{dry_err}");
    assert_eq!(held_code, 1);
    assert!(
        held_err.contains("which later events planned for the same records")
            && held_err.contains("Add --force"),
        "{held_err}"
    );
    assert_eq!(held["Strex_Subscription_Status__c"], "Unsubscribed");
    assert_eq!(forced_code, 0);
    assert!(forced_out.contains("is now planned"), "{forced_out}");
    // Forced: the older Subscribe was sent again after the Unsubscribe, as the refusal said.
    let forced = app.record("Contact", "Strex_MSISDN__c", "+4790000001");
    assert_eq!(forced["Strex_Subscription_Status__c"], "Active");
}
