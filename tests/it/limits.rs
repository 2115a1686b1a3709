//! The daily API allocation: sending pauses when it is spent (forwards are still accepted),
//! slows down when it runs low, and the last reading is kept for `strexforce status`.

use std::time::{Duration, Instant};

use sf_emulator::{CallKind, EmulatorConfig, Faults};
use strexforce::sync::{LimitSettings, SyncSettings};

use crate::common::forwards::{Report, mo, msisdn};
use crate::common::{AppOptions, TestApp, post_all, test_sync_settings, wait_until};

#[tokio::test]
async fn a_spent_allocation_pauses_sending_but_not_intake_and_probes_until_calls_pass() {
    let app = TestApp::spawn().await;
    app.emulator
        .faults()
        .set(Faults {
            request_limit_exceeded: true,
            ..Faults::default()
        })
        .unwrap();
    let forwards = (0..20)
        .map(|n| mo(&format!("limit-{n}"), &msisdn(n), "HI"))
        .collect();

    let answers = post_all(&app.service.url(), forwards, 4).await;
    let store = app.store().clone();
    wait_until(
        "the refusal to be recorded",
        Duration::from_secs(10),
        || {
            let store = store.clone();
            async move {
                let usage = store.api_usage().await.unwrap();
                usage.is_some_and(|usage| usage.limit_exceeded_at.is_some())
            }
        },
    )
    .await;
    let refused_at = app.emulator.stats().calls_of(CallKind::CollectionsUpsert);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let probes = app.emulator.stats().calls_of(CallKind::CollectionsUpsert) - refused_at;
    app.emulator.faults().clear();
    app.wait_for_sync().await;

    assert!(answers.iter().all(|answer| answer["status"] == "planned"));
    // Pauses of 100 ms doubling to a second: a handful of probes in two seconds, where
    // retrying every row on its own backoff (20 ms to 200 ms) would have made dozens.
    assert!((1..=8).contains(&probes), "{probes} probes in two seconds");
    let rows = app.sync_log().await;
    assert!(rows.iter().all(|row| row.status == "succeeded"));
    assert_eq!(app.emulator.records("Contact").len(), 20);
}

#[tokio::test]
async fn above_the_slow_down_share_batches_are_spaced_out() {
    let interval = Duration::from_millis(300);
    let app = TestApp::spawn_with_options(AppOptions {
        emulator: EmulatorConfig {
            api_allocation: 1_000,
            ..EmulatorConfig::default()
        },
        sync: SyncSettings {
            limits: LimitSettings {
                slow_down_share: 0.0,
                slow_down_interval: interval,
                ..test_sync_settings().limits
            },
            ..test_sync_settings()
        },
        ..AppOptions::default()
    })
    .await;
    let subscriber = msisdn(1);
    // One subscriber's three reports: six rows, each sent only after the one before it.
    let reports = ["Subscribe", "Recurring", "Unsubscribe"]
        .into_iter()
        .enumerate()
        .map(|(n, action)| Report::new(&format!("slow-{n}"), &subscriber, action).forward())
        .collect();

    let started = Instant::now();
    post_all(&app.service.url(), reports, 1).await;
    app.wait_for_sync().await;

    let elapsed = started.elapsed();
    assert!(elapsed >= interval * 5, "six batches in {elapsed:?}");
    let usage = app.store().api_usage().await.unwrap().unwrap();
    assert_eq!(usage.allocation, 1_000);
    assert!(usage.used > 0);
    assert!(usage.limit_exceeded_at.is_none());
}
