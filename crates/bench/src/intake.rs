//! The intake phase: at each concurrency, pgbench's single-insert ceiling and then signed
//! forwards posted to `serve`, taken in turn so that both see the same machine.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::{Connection, PgConnection};

use crate::ceiling::Ceiling;
use crate::cpu::{Sample, Split};
use crate::database::Server;
use crate::forwards::{ForwardMaker, Mix};
use crate::load::{LoadResult, closed_loop};
use crate::services::{Binaries, ServeSetup, start_serve};

#[derive(Debug, Clone)]
pub struct IntakeSettings {
    pub concurrency: Vec<usize>,
    pub runs: usize,
    pub warmup: Duration,
    pub window: Duration,
}

/// One run at one concurrency.
#[derive(Debug, Clone)]
pub struct IntakeRun {
    pub concurrency: usize,
    pub intake: LoadResult,
    pub ceiling_per_second: f64,
    /// Processor time during the intake run (warm-up included).
    pub cpu: Split,
}

#[derive(Debug)]
pub struct IntakeReport {
    pub runs: Vec<IntakeRun>,
    pub body_size: usize,
    /// VmHWM of `serve` after every intake run.
    pub peak_rss: u64,
    /// Rows in inbound_event, against the 200s answered (warm-up included).
    pub stored_events: i64,
    pub answered_200: u64,
}

const MIX: Mix = Mix::DlrAndMo;

pub async fn run(
    server: &Server,
    binaries: &Binaries,
    mappings_dir: &std::path::Path,
    settings: &IntakeSettings,
) -> anyhow::Result<IntakeReport> {
    let intake_url = server.fresh_database("intake").await?;
    let ceiling_url = server.fresh_database("ceiling").await?;
    let body_size = ForwardMaker::body_size(MIX);
    let ceiling = Ceiling::prepare(&ceiling_url, body_size, &binaries.logs).await?;
    let setup = ServeSetup {
        database_url: &intake_url,
        mappings_dir,
        salesforce_url: None,
        env: &[],
    };
    let serve = start_serve(binaries, &setup).await?;
    let maker = Arc::new(ForwardMaker::new(&serve.url, 1)?);
    let serve_pid = serve.pid().context("serve exited at start")?;
    let postmaster = postmaster(&intake_url).await?;

    let mut runs = Vec::new();
    for run in 1..=settings.runs {
        for &concurrency in &settings.concurrency {
            let ceiling_per_second = measure_ceiling(&ceiling, concurrency, settings).await?;
            let before = Sample::take(serve_pid, postmaster)?;
            let intake = closed_loop(
                maker.clone(),
                MIX,
                concurrency,
                settings.warmup,
                settings.window,
            )
            .await?;
            let cpu = Sample::take(serve_pid, postmaster)?.split_since(&before);
            eprintln!(
                "intake run {run}, {concurrency} connections: {:.0}/s (ceiling {:.0}/s), \
                 p99 {:.1} ms, refused {}, CPU serve {:.0}% client {:.0}% Postgres {:.0}% \
                 other {:.0}%",
                intake.per_second(),
                ceiling_per_second,
                intake.latency_ms(99.0),
                intake.refused_total(),
                cpu.serve * 100.0,
                cpu.generator * 100.0,
                cpu.postgres * 100.0,
                cpu.other() * 100.0,
            );
            runs.push(IntakeRun {
                concurrency,
                intake,
                ceiling_per_second,
                cpu,
            });
        }
    }
    let peak_rss = serve.peak_rss()?;
    serve.stop().await;
    let stored_events = count_events(&intake_url).await?;
    let answered_200 = runs.iter().map(|run| run.intake.accepted_all).sum();
    server.drop_database("ceiling").await?;
    server.drop_database("intake").await?;
    if stored_events < answered_200 as i64 {
        bail!("{answered_200} forwards were answered 200 but only {stored_events} are stored");
    }
    Ok(IntakeReport {
        runs,
        body_size,
        peak_rss,
        stored_events,
        answered_200,
    })
}

async fn measure_ceiling(
    ceiling: &Ceiling,
    concurrency: usize,
    settings: &IntakeSettings,
) -> anyhow::Result<f64> {
    let duration = settings.warmup + settings.window;
    tokio::task::block_in_place(|| ceiling.measure(concurrency, duration))
        .with_context(|| format!("measuring the ceiling at {concurrency} clients"))
}

pub async fn postmaster(database_url: &str) -> anyhow::Result<Option<u32>> {
    let mut connection = PgConnection::connect(database_url).await?;
    let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut connection)
        .await?;
    Ok(u32::try_from(backend)
        .ok()
        .and_then(crate::cpu::postmaster_of))
}

async fn count_events(database_url: &str) -> anyhow::Result<i64> {
    let mut connection = PgConnection::connect(database_url).await?;
    let count = sqlx::query_scalar("SELECT count(*) FROM inbound_event")
        .fetch_one(&mut connection)
        .await?;
    Ok(count)
}
