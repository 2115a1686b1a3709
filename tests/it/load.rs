//! The fault suite's large runs: a burst of forwards, and many subscribers' interleaved
//! events under random transient failures.

use std::time::{Duration, Instant};

use sf_emulator::CallKind;
use strexforce::salesforce::COLLECTIONS_LIMIT;
use strexforce::sync::SyncSettings;

use crate::common::forwards::{mo, msisdn};
use crate::common::{AppOptions, TestApp, one_heavy_test_at_a_time, post_all, test_sync_settings};

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
    let full = sizes
        .iter()
        .filter(|size| **size == COLLECTIONS_LIMIT)
        .count();
    println!(
        "burst of {BURST}: accepted in {accepted_in:?}, synced in {synced_in:?}; \
         {calls} Collections calls for an ideal of {ideal} ({:.3}×), {full} of them full",
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
