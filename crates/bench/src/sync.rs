//! The sync phases, against the emulator with a latency on every call: a burst's backlog sent
//! to Salesforce (API calls against the ideal, records per second), and the lag from a 200 to
//! Salesforce's success at a steady arrival rate.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sqlx::{Connection, PgConnection};

use crate::cpu::{Sample, Split};
use crate::database::Server;
use crate::forwards::{ForwardMaker, Mix};
use crate::load::{burst, paced};
use crate::services::{Binaries, Running, ServeSetup, start_emulator, start_serve};

/// sObject Collections takes at most 200 records per request.
const COLLECTIONS_LIMIT: i64 = 200;
/// Longest wait for a backlog to be sent.
const DRAIN_LIMIT: Duration = Duration::from_secs(600);

#[derive(Debug, Clone)]
pub struct SyncSettings {
    pub burst: usize,
    pub latency_ms: u64,
    pub lag_rate: u32,
    pub lag_window: Duration,
    /// Passed to every `serve` that syncs, such as STREXFORCE_SYNC_WORKERS=4.
    pub serve_env: Vec<(String, String)>,
}

/// A burst's backlog, sent.
#[derive(Debug, Clone)]
pub struct BurstRun {
    pub rows: i64,
    pub calls: u64,
    pub ideal_calls: i64,
    pub records_sent: u64,
    pub drain: Duration,
    /// Processor time while the backlog was sent.
    pub cpu: Split,
}

impl BurstRun {
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.drain.as_secs_f64()
    }

    pub fn calls_over_ideal(&self) -> f64 {
        self.calls as f64 / self.ideal_calls.max(1) as f64
    }
}

/// Lag from intake's commit to the last of a forward's upserts succeeding, in ms.
#[derive(Debug, Clone)]
pub struct LagRun {
    pub forwards: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub calls: u64,
}

/// Posts the burst while the sync is paused, then starts a syncing `serve` on that backlog
/// and times it until no row is open.
pub async fn measure_burst(
    server: &Server,
    binaries: &Binaries,
    mappings_dir: &std::path::Path,
    settings: &SyncSettings,
    run: u64,
) -> anyhow::Result<BurstRun> {
    let database_url = server.fresh_database("sync").await?;
    let paused = ServeSetup {
        database_url: &database_url,
        mappings_dir,
        salesforce_url: None,
        env: &[],
    };
    let intake = start_serve(binaries, &paused).await?;
    let maker = Arc::new(ForwardMaker::new(&intake.url, 100 + run)?);
    let posted = burst(maker, Mix::Mo, settings.burst, 32).await?;
    intake.stop().await;
    if posted.refused_total() > 0 {
        bail!("the burst was refused {:?} times", posted.refused);
    }

    let emulator = start_emulator(binaries, settings.latency_ms).await?;
    let syncing = ServeSetup {
        salesforce_url: Some(&emulator.url),
        env: &settings.serve_env,
        ..paused
    };
    let mut db = PgConnection::connect(&database_url).await?;
    // Timed from readiness: the workers start with the listener, and migrations and the
    // Salesforce login before it are start-up, not sync.
    let postmaster = crate::intake::postmaster(&database_url).await?;
    let serve = start_serve(binaries, &syncing).await?;
    let serve_pid = serve.pid().context("serve exited at start")?;
    let sample = || Sample::take_with_emulator(serve_pid, emulator.pid(), postmaster);
    let before = sample()?;
    let started = Instant::now();
    wait_until_sent(&mut db).await?;
    let drain = started.elapsed();
    let cpu = sample()?.split_since(&before);
    serve.stop().await;

    let (calls, records_sent) = collections_calls(&emulator).await?;
    emulator.stop().await;
    let (rows, ideal_calls) = ideal_calls(&mut db).await?;
    db.close().await?;
    server.drop_database("sync").await?;
    Ok(BurstRun {
        rows,
        calls,
        ideal_calls,
        records_sent,
        drain,
        cpu,
    })
}

/// Posts at a steady rate to a syncing `serve` and reads each forward's lag from sync_log.
pub async fn measure_lag(
    server: &Server,
    binaries: &Binaries,
    mappings_dir: &std::path::Path,
    settings: &SyncSettings,
    run: u64,
) -> anyhow::Result<LagRun> {
    let database_url = server.fresh_database("lag").await?;
    let emulator = start_emulator(binaries, settings.latency_ms).await?;
    let setup = ServeSetup {
        database_url: &database_url,
        mappings_dir,
        salesforce_url: Some(&emulator.url),
        env: &settings.serve_env,
    };
    let serve = start_serve(binaries, &setup).await?;
    let maker = Arc::new(ForwardMaker::new(&serve.url, 200 + run)?);
    let posted = paced(maker, Mix::DlrAndMo, settings.lag_rate, settings.lag_window).await?;
    let mut db = PgConnection::connect(&database_url).await?;
    wait_until_sent(&mut db).await?;
    serve.stop().await;
    let (calls, _) = collections_calls(&emulator).await?;
    emulator.stop().await;
    if posted.refused_total() > 0 {
        bail!("steady forwards were refused {:?} times", posted.refused);
    }

    // created_at is the intake transaction's start, a few ms before its commit and its 200:
    // the lag read here errs on the long side by that much.
    let (p50, p99): (f64, f64) = sqlx::query_as(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag),
                percentile_cont(0.99) WITHIN GROUP (ORDER BY lag)
         FROM (SELECT extract(epoch FROM max(updated_at) - min(created_at))::float8 AS lag
               FROM sync_log WHERE status = 'succeeded' GROUP BY event_id) lags",
    )
    .fetch_one(&mut db)
    .await?;
    db.close().await?;
    server.drop_database("lag").await?;
    Ok(LagRun {
        forwards: posted.accepted,
        p50_ms: p50 * 1000.0,
        p99_ms: p99 * 1000.0,
        calls,
    })
}

async fn wait_until_sent(db: &mut PgConnection) -> anyhow::Result<()> {
    let deadline = Instant::now() + DRAIN_LIMIT;
    loop {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM sync_log WHERE status IN ('pending', 'in_flight')",
        )
        .fetch_one(&mut *db)
        .await?;
        if open == 0 {
            break;
        }
        if Instant::now() > deadline {
            bail!("{open} sync_log rows were still open after {DRAIN_LIMIT:?}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let failed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM sync_log WHERE status <> 'succeeded'")
            .fetch_one(&mut *db)
            .await?;
    if failed > 0 {
        bail!("{failed} sync_log rows did not succeed; see sync_log.last_error");
    }
    Ok(())
}

/// Collections upserts the emulator served, and the records they carried.
async fn collections_calls(emulator: &Running) -> anyhow::Result<(u64, u64)> {
    let stats: serde_json::Value = reqwest::get(format!("{}/__emulator/stats", emulator.url))
        .await?
        .json()
        .await
        .context("the emulator's stats are not JSON")?;
    let calls = stats["calls"]["collections_upsert"].as_u64().unwrap_or(0);
    let records = stats["collections_batch_sizes"]
        .as_array()
        .map(|sizes| sizes.iter().filter_map(|size| size.as_u64()).sum())
        .unwrap_or(0);
    Ok((calls, records))
}

/// Rows sent, and the fewest Collections calls that could have sent them: per object,
/// ceil(rows / 200), and as many again for the records whose create-only fields follow in a
/// second request once Salesforce has created them.
async fn ideal_calls(db: &mut PgConnection) -> anyhow::Result<(i64, i64)> {
    let groups: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT count(*), count(*) FILTER (WHERE create_only <> '{}'::jsonb)
         FROM sync_log GROUP BY sobject",
    )
    .fetch_all(&mut *db)
    .await?;
    let rows = groups.iter().map(|(rows, _)| rows).sum();
    let ideal = groups
        .iter()
        .map(|(rows, create_only)| {
            div_ceil(*rows, COLLECTIONS_LIMIT) + div_ceil(*create_only, COLLECTIONS_LIMIT)
        })
        .sum();
    Ok((rows, ideal))
}

fn div_ceil(value: i64, divisor: i64) -> i64 {
    (value + divisor - 1) / divisor
}
