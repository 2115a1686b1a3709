//! Crashes and replicas: claims of a dead process come back after their lease, a batch
//! that takes longer than its lease keeps it, SIGTERM ends `serve` promptly without losing
//! work, a `serve` killed again and again loses and
//! doubles nothing, and two `serve` processes on one database never send a row twice.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use sf_emulator::{EmulatorConfig, Faults, RunningEmulator};
use strexforce::store::{Claim, process_name};
use tokio::net::TcpListener;

use crate::common::forwards::{mo, msisdn};
use crate::common::process::{ServeCommand, ServeProcess};
use crate::common::{
    AppOptions, TestApp, TestDb, one_heavy_test_at_a_time, post_all, query_json, wait_until,
};

async fn emulator() -> RunningEmulator {
    strexforce::salesforce::install_crypto_provider();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    sf_emulator::start(EmulatorConfig::default(), listener)
        .await
        .unwrap()
}

/// Rows per status.
async fn row_statuses(db: &TestDb) -> HashMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>("SELECT status, count(*) FROM sync_log GROUP BY status")
        .fetch_all(db.store.pool())
        .await
        .unwrap()
        .into_iter()
        .collect()
}

async fn wait_for_rows_to_settle(db: &TestDb, limit: Duration) {
    wait_until("every sync_log row to settle", limit, || async {
        let statuses = row_statuses(db).await;
        !statuses.contains_key("pending") && !statuses.contains_key("in_flight")
    })
    .await;
}

/// How often each record of `object` was written, keyed by its external id.
fn writes_per_record(emulator: &RunningEmulator, object: &str, key: &str) -> HashMap<String, u64> {
    let stats = emulator.stats();
    emulator
        .records(object)
        .into_iter()
        .map(|record| {
            let id = record["Id"].as_str().unwrap();
            (
                record[key].as_str().unwrap().to_owned(),
                stats.writes_of(id),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_row_claimed_by_a_process_that_died_is_claimed_again_after_its_lease() {
    let prepared = TestApp::prepare(AppOptions::default()).await;
    prepared
        .store_forwards(&[mo("orphaned", &msisdn(1), "HI")])
        .await;
    let lease = Duration::from_secs(2);
    let claim = Claim {
        limit: 10,
        lease,
        token: uuid::Uuid::new_v4(),
        group: None,
        claimed_by: "a-process-that-died:1",
    };
    let claimed = prepared.db.store.claim_batch(&claim).await.unwrap();
    let claimed_at = Instant::now();

    let app = prepared.start().await;
    app.wait_for_sync().await;

    assert_eq!(claimed.len(), 1);
    assert!(
        claimed_at.elapsed() >= lease,
        "taken over before its lease ran out"
    );
    let rows = query_json(
        app.store(),
        "SELECT status, attempts, claimed_by FROM sync_log ORDER BY id",
    )
    .await;
    assert_eq!(rows[0]["status"], "succeeded");
    assert_eq!(rows[0]["attempts"], 1);
    assert_eq!(rows[0]["claimed_by"], process_name());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_intake_settles_in_flight_work_and_exits_promptly() {
    let emulator = emulator().await;
    let db = TestDb::new().await;
    // Slow Salesforce answers, so that requests are under way when the signal comes.
    emulator
        .faults()
        .set(Faults {
            latency_ms: 400,
            ..Faults::default()
        })
        .unwrap();
    let command = ServeCommand::new(&db.url, &emulator.url());
    let mut serve = command.start().await;
    let forwards = (0..40)
        .map(|n| mo(&format!("term-{n}"), &msisdn(n), "HI"))
        .collect();
    post_all(&serve.url, forwards, 8).await;
    wait_until("a batch in flight", Duration::from_secs(20), || async {
        row_statuses(&db).await.contains_key("in_flight")
    })
    .await;

    let signalled = Instant::now();
    serve.terminate();
    let status = serve.exit_within(Duration::from_secs(15)).await;

    let stopped_in = signalled.elapsed();
    let status = status.unwrap_or_else(|| panic!("still running:\n{}", serve.log_text()));
    assert!(status.success(), "{status}:\n{}", serve.log_text());
    assert!(
        stopped_in < Duration::from_secs(10),
        "stopped in {stopped_in:?}"
    );
    println!("serve stopped {stopped_in:?} after SIGTERM");
    assert!(!row_statuses(&db).await.contains_key("in_flight"));
    let refused = reqwest::Client::new()
        .post(format!("{}/forward/mo", serve.url))
        .body(mo("late", &msisdn(99), "HI").1)
        .send()
        .await;
    assert!(refused.is_err(), "intake still answers after SIGTERM");
    emulator.faults().clear();
    let _again = command.start().await;
    wait_for_rows_to_settle(&db, Duration::from_secs(30)).await;
    assert_eq!(row_statuses(&db).await["succeeded"], 80);
}

/// Forwards in the run during which `serve` is killed.
const KILL_RUN: usize = 5_000;
/// Subscribers those forwards come from: five each, so that order matters.
const KILL_RUN_SUBJECTS: usize = 1_000;
/// How many times `serve` is killed while forwards arrive.
const KILLS: usize = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_serve_killed_again_and_again_ends_with_every_forward_in_salesforce_once() {
    let _heavy = one_heavy_test_at_a_time().await;
    let emulator = emulator().await;
    let db = TestDb::new().await;
    let command = ServeCommand::new(&db.url, &emulator.url());
    let mut serve = command.start().await;
    let forwards: Vec<_> = (0..KILL_RUN)
        .map(|n| {
            let subscriber = msisdn(n % KILL_RUN_SUBJECTS);
            mo(&format!("kill-{n}"), &subscriber, &format!("text {n}"))
        })
        .collect();
    let url = serve.url.clone();
    let started = Instant::now();

    let posting = tokio::spawn(async move { post_all(&url, forwards, 16).await });
    let mut claims_cut_off = 0;
    for kill in 1..=KILLS {
        let (restarted, cut_off) = kill_while_sending(&command, serve, &db, kill).await;
        serve = restarted;
        claims_cut_off += cut_off;
    }
    let answers = posting.await.unwrap();
    wait_for_rows_to_settle(&db, Duration::from_secs(180)).await;

    let elapsed = started.elapsed();
    assert_eq!(answers.len(), KILL_RUN);
    assert_eq!(accepted_events(&db).await, KILL_RUN);
    assert_eq!(row_statuses(&db).await["succeeded"], 2 * KILL_RUN as i64);
    let events = writes_per_record(&emulator, "Strex_Event__c", "Strex_Transaction_Id__c");
    let contacts = writes_per_record(&emulator, "Contact", "Strex_MSISDN__c");
    assert_eq!(
        events.len(),
        KILL_RUN,
        "every accepted forward has its event, once"
    );
    assert_eq!(contacts.len(), KILL_RUN_SUBJECTS);
    for n in (0..KILL_RUN).step_by(KILL_RUN_SUBJECTS) {
        let record = emulator.find(
            "Strex_Event__c",
            "Strex_Transaction_Id__c",
            &format!("kill-{n}"),
        );
        assert_eq!(record[0]["Message__c"], format!("text {n}"));
    }
    let sent_again = events.values().filter(|writes| **writes > 1).count();
    println!(
        "killed {KILLS} times holding {claims_cut_off} claimed rows: {KILL_RUN} forwards in \
         {elapsed:?}; {sent_again} events were written more than once (sent again after a \
         kill), none doubled"
    );
    drop(serve);
}

/// Kills `serve` once the `kill`-th share of the forwards has arrived and it holds claims,
/// so that each kill cuts work off half way; starts it again. Returns the new process and
/// how many claimed rows the kill left behind.
async fn kill_while_sending(
    command: &ServeCommand,
    serve: ServeProcess,
    db: &TestDb,
    kill: usize,
) -> (ServeProcess, i64) {
    wait_until(
        "forwards to arrive and be sent",
        Duration::from_secs(120),
        || async {
            accepted_events(db).await >= kill * KILL_RUN / (KILLS + 1)
                && row_statuses(db).await.contains_key("in_flight")
        },
    )
    .await;
    serve.kill();
    let cut_off = row_statuses(db)
        .await
        .get("in_flight")
        .copied()
        .unwrap_or(0);
    (command.start().await, cut_off)
}

async fn accepted_events(db: &TestDb) -> usize {
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM inbound_event")
        .fetch_one(db.store.pool())
        .await
        .unwrap();
    count as usize
}

/// Forwards shared between the two processes.
const SHARED_RUN: usize = 2_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serve_processes_share_the_work_and_never_send_a_row_twice() {
    let _heavy = one_heavy_test_at_a_time().await;
    let emulator = emulator().await;
    // Locked rows make the two processes retry and contend, without writing anything.
    emulator
        .faults()
        .set(Faults {
            lock_row_share: 0.05,
            seed: 11,
            ..Faults::default()
        })
        .unwrap();
    let db = TestDb::new().await;
    let first = ServeCommand::new(&db.url, &emulator.url()).start().await;
    let second = ServeCommand::new(&db.url, &emulator.url()).start().await;
    let half = |parity: usize| {
        (0..SHARED_RUN)
            .filter(|n| n % 2 == parity)
            .map(|n| mo(&format!("shared-{n}"), &msisdn(n), "HI"))
            .collect()
    };

    let (a, b) = tokio::join!(
        post_all(&first.url, half(0), 8),
        post_all(&second.url, half(1), 8)
    );
    wait_for_rows_to_settle(&db, Duration::from_secs(120)).await;

    assert_eq!(a.len() + b.len(), SHARED_RUN);
    assert_eq!(row_statuses(&db).await["succeeded"], 2 * SHARED_RUN as i64);
    assert_each_record_written_once(&emulator, SHARED_RUN);
    let shares = claims_per_process(&db).await;
    assert_eq!(shares.len(), 2, "{shares:?}");
    for (process, rows) in &shares {
        assert!(
            *rows >= (2 * SHARED_RUN / 10) as i64,
            "{process} sent only {rows} rows"
        );
    }
    println!("two processes shared {} rows: {shares:?}", 2 * SHARED_RUN);
    drop((first, second));
}

/// A new Contact is written once (its first request is refused for want of LastName, the
/// second creates it) and an event once: a row sent twice would show as two writes.
fn assert_each_record_written_once(emulator: &RunningEmulator, records: usize) {
    let keyed = [
        ("Contact", "Strex_MSISDN__c"),
        ("Strex_Event__c", "Strex_Transaction_Id__c"),
    ];
    for (object, key) in keyed {
        let writes = writes_per_record(emulator, object, key);
        assert_eq!(writes.len(), records);
        let twice: Vec<_> = writes.iter().filter(|(_, count)| **count != 1).collect();
        assert!(
            twice.is_empty(),
            "{object} written more than once: {twice:?}"
        );
    }
}

async fn claims_per_process(db: &TestDb) -> Vec<(String, i64)> {
    let rows: Vec<Value> = query_json(
        &db.store,
        "SELECT claimed_by, count(*) AS rows FROM sync_log GROUP BY claimed_by ORDER BY 1",
    )
    .await;
    rows.into_iter()
        .map(|row| {
            let process = row["claimed_by"].as_str().unwrap_or("none").to_owned();
            (process, row["rows"].as_i64().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_outlasts_its_lease_extends_it_and_is_not_sent_twice() {
    let prepared = TestApp::prepare(AppOptions {
        sync: strexforce::sync::SyncSettings {
            lease: Duration::from_secs(2),
            ..crate::common::test_sync_settings()
        },
        request_timeout: Duration::from_secs(1),
        ..AppOptions::default()
    })
    .await;
    // One unreadable record makes the batch be split until it is alone: eight requests of
    // 700 ms each for five rows, far longer than the two-second lease.
    prepared
        .emulator
        .faults()
        .set(Faults {
            latency_ms: 700,
            poison_external_id: Some(msisdn(3)),
            ..Faults::default()
        })
        .unwrap();
    let forwards: Vec<_> = (0..5)
        .map(|n| mo(&format!("long-{n}"), &msisdn(n), "HI"))
        .collect();
    prepared.store_forwards(&forwards).await;

    let app = prepared.start().await;
    app.wait_for_sync_within(Duration::from_secs(60)).await;

    let stats = app.emulator.stats();
    for contact in app.emulator.records("Contact") {
        let writes = stats.writes_of(contact["Id"].as_str().unwrap());
        assert_eq!(writes, 1, "{contact}");
    }
    assert_eq!(app.emulator.records("Contact").len(), 4);
    let sent = app.sync_log().await;
    let sent: Vec<_> = sent
        .iter()
        .filter(|row| row.status == "succeeded")
        .collect();
    assert_eq!(sent.len(), 8);
    assert!(sent.iter().all(|row| row.attempts == 1));
}
