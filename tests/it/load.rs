//! The fault suite's large runs: a burst of forwards, and many subscribers' interleaved
//! events under random transient failures.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use sf_emulator::{CallKind, Faults};
use sqlx::types::Json;
use strexforce::salesforce::COLLECTIONS_LIMIT;
use strexforce::store::Store;
use strexforce::sync::SyncSettings;

use crate::common::forwards::{Report, mo, msisdn};
use crate::common::{
    AppOptions, TestApp, one_heavy_test_at_a_time, post_all, post_streams, test_sync_settings,
};

/// Forwards in the burst.
const BURST: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_forwards_is_sent_in_close_to_the_ideal_number_of_collections_calls() {
    let _heavy = one_heavy_test_at_a_time().await;
    let app = TestApp::spawn_with_options(AppOptions {
        sync: SyncSettings {
            gather_limit: SyncSettings::default().gather_limit,
            ..test_sync_settings()
        },
        ..AppOptions::default()
    })
    .await;
    let forwards = (0..BURST)
        .map(|n| mo(&format!("burst-{n}"), &msisdn(n), "GIVE"))
        .collect();

    let started = Instant::now();
    post_all(&app.service.url(), forwards, 32).await;
    let accepted_in = started.elapsed();
    app.wait_for_sync_within(Duration::from_secs(240)).await;
    let synced_in = started.elapsed();

    // Each MO upserts its sender's Contact and a Strex_Event__c. Every Contact is new, and
    // new Contacts get their create-only LastName in a second request: three rounds of
    // BURST records, each ideally in full batches.
    let ideal = 3 * BURST.div_ceil(COLLECTIONS_LIMIT) as u64;
    let stats = app.emulator.stats();
    let calls = stats.calls_of(CallKind::CollectionsUpsert);
    let sizes = &stats.collections_batch_sizes;
    let partial: Vec<_> = sizes
        .iter()
        .filter(|size| **size < COLLECTIONS_LIMIT)
        .collect();
    println!(
        "burst of {BURST}: accepted in {accepted_in:?}, synced in {synced_in:?}; \
         {calls} Collections calls for an ideal of {ideal} ({:.3}×); not full: {partial:?}",
        calls as f64 / ideal as f64
    );
    assert!(
        calls as f64 <= 1.05 * ideal as f64,
        "{calls} calls, ideal {ideal}: {sizes:?}"
    );
    let statuses = app.sync_log().await;
    assert_eq!(statuses.len(), 2 * BURST);
    assert!(statuses.iter().all(|row| row.status == "succeeded"));
    assert_eq!(app.emulator.records("Contact").len(), BURST);
    assert_eq!(app.emulator.records("Strex_Event__c").len(), BURST);
}

/// Subscribers in the interleaved run, and events from each.
const SUBSCRIBERS: usize = 1_000;
const EVENTS_EACH: usize = 5;

/// The `round`-th report of subscriber `n`: a mix of actions, each with its own keyword,
/// price and time, so that applying them out of order would leave another state.
fn nth_report(n: usize, round: usize) -> Report {
    let actions = ["Subscribe", "Recurring", "Unsubscribe"];
    let mut report = Report::new(
        &format!("r{round}-s{n}"),
        &msisdn(n),
        actions[(n * 7 + round * 3 + n / 3) % actions.len()],
    );
    report.keyword = format!("K{round}-{}", n % 7);
    report.price = (report.action == "Recurring").then(|| (n % 50 + round) as f64);
    report.received_after = 60 * round as u32;
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_events_of_many_subscribers_end_as_if_applied_in_order_despite_failures() {
    let _heavy = one_heavy_test_at_a_time().await;
    let app = TestApp::spawn().await;
    app.emulator
        .faults()
        .set(Faults {
            server_error_share: 0.03,
            lock_row_share: 0.03,
            drop_connection_share: 0.01,
            drop_response_share: 0.01,
            expire_session_every: 101,
            seed: 5,
            ..Faults::default()
        })
        .unwrap();

    // Each subscriber sends its events one after the other, each once the previous one was
    // accepted, while 32 subscribers at a time do the same: a subscriber's next events are
    // stored while the earlier ones are still being sent (and retried).
    let streams = (0..SUBSCRIBERS)
        .map(|k| (k * 7_919) % SUBSCRIBERS)
        .map(|n| {
            (0..EVENTS_EACH)
                .map(|round| nth_report(n, round).forward())
                .collect()
        })
        .collect();

    let started = Instant::now();
    post_streams(&app.service.url(), streams, 32).await;
    app.wait_for_sync_within(Duration::from_secs(240)).await;
    let elapsed = started.elapsed();

    let rows = app.sync_log().await;
    // Contact and Strex_Event__c for every report, and a donation Opportunity for each
    // successful recurring charge.
    let planned: usize = (0..SUBSCRIBERS)
        .flat_map(|n| (0..EVENTS_EACH).map(move |round| nth_report(n, round)))
        .map(|report| {
            if report.action == "Recurring" && report.status == "Ok" {
                3
            } else {
                2
            }
        })
        .sum();
    assert_eq!(rows.len(), planned);
    assert!(rows.iter().all(|row| row.status == "succeeded"));
    let retried = rows.iter().filter(|row| row.attempts > 1).count();
    let expected = in_order(app.store()).await;
    let actual = records_by_key(&app);
    assert_eq!(
        actual.len(),
        expected.len(),
        "one record per planned record, no more"
    );
    let mut compared = 0;
    for ((object, key), fields) in &expected {
        let record = &actual[&(object.clone(), key.clone())];
        compared += assert_same_fields(record, fields, &format!("{object} {key}"));
    }
    println!(
        "{SUBSCRIBERS} subscribers × {EVENTS_EACH} events in {elapsed:?}: {} rows, {retried} \
         retried at least once, {} records and {compared} fields as if applied in order",
        rows.len(),
        expected.len()
    );
}

/// The emulated org's Contacts, events and donations, by object and external id.
fn records_by_key(app: &TestApp) -> BTreeMap<(String, String), Value> {
    let keyed = [
        ("Contact", "Strex_MSISDN__c"),
        ("Strex_Event__c", "Strex_Transaction_Id__c"),
        ("Opportunity", "Strex_Transaction_Id__c"),
    ];
    let mut records = BTreeMap::new();
    for (object, field) in keyed {
        for record in app.emulator.records(object) {
            let key = record[field].as_str().unwrap().to_owned();
            let previous = records.insert((object.to_owned(), key), record);
            assert!(
                previous.is_none(),
                "two {object} records share an external id"
            );
        }
    }
    records
}

/// Object, external id, record and create-only fields of a sync_log row.
type PlannedRow = (
    String,
    String,
    Json<Map<String, Value>>,
    Json<Map<String, Value>>,
);

/// Each record as it should end: its rows' fields applied in row order (the create-only
/// fields on the first), nulls clearing, lookups by external id left out.
async fn in_order(store: &Store) -> BTreeMap<(String, String), Map<String, Value>> {
    let rows: Vec<PlannedRow> = sqlx::query_as(
        "SELECT sobject, external_id, record, create_only FROM sync_log ORDER BY id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let mut records: BTreeMap<(String, String), Map<String, Value>> = BTreeMap::new();
    for (object, key, record, create_only) in rows {
        let fields = records
            .entry((object, key))
            .or_insert_with(|| create_only.0);
        for (name, value) in record.0 {
            // Lookups by external id (`Contact__r`, `Contact`) arrive as the parent's Id.
            if !value.is_object() {
                fields.insert(name, value);
            }
        }
    }
    records
}

/// Compares every expected field with the record; returns how many were compared.
fn assert_same_fields(record: &Value, expected: &Map<String, Value>, what: &str) -> usize {
    for (name, value) in expected {
        let actual = &record[name];
        assert!(
            same_value(actual, value),
            "{what}: {name} is {actual}, expected {value}"
        );
    }
    expected.len()
}

/// The emulator answers dateTimes as `…000+0000` and currency as numbers.
fn same_value(actual: &Value, expected: &Value) -> bool {
    let instant = |value: &Value| {
        let text = value.as_str()?;
        chrono::DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z")
            .or_else(|_| chrono::DateTime::parse_from_rfc3339(text))
            .ok()
    };
    match (actual, expected) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(_), Value::String(_)) if instant(expected).is_some() => {
            instant(actual) == instant(expected)
        }
        _ => actual == expected,
    }
}
