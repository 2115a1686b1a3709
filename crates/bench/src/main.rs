//! `strexforce-bench`: durable intake against Postgres's own single-insert limit, the sync's
//! Salesforce calls against the 200-record ideal, and the service's footprint, in one run.
//!
//! ```sh
//! cargo run --release -p strexforce-bench
//! ```

mod ceiling;
mod cpu;
mod database;
mod forwards;
mod intake;
mod load;
mod report;
mod services;
mod sync;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use crate::database::Server;
use crate::intake::IntakeSettings;
use crate::services::Binaries;
use crate::sync::SyncSettings;

/// Measures strexforce's intake, sync and footprint on this machine.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Use this Postgres server (the user needs CREATEDB) instead of a temporary one.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Repetitions of every measurement; the report gives medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Client connections of the intake runs.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    concurrency: Vec<usize>,
    /// Unmeasured seconds before each intake window.
    #[arg(long, default_value_t = 2)]
    warmup_secs: u64,
    /// Measured seconds of each intake run (and of each pgbench run, plus the warm-up).
    #[arg(long, default_value_t = 10)]
    intake_secs: u64,
    /// Forwards in the sync burst; each plans two upserts.
    #[arg(long, default_value_t = 10_000)]
    burst: usize,
    /// Latency the emulator adds to every Salesforce call, in ms.
    #[arg(long, default_value_t = 50)]
    sf_latency_ms: u64,
    /// Arrival rate of the lag measurement, forwards per second.
    #[arg(long, default_value_t = 100)]
    lag_rate: u32,
    /// Seconds of steady arrivals in the lag measurement.
    #[arg(long, default_value_t = 30)]
    lag_secs: u64,
    /// A setting for every syncing `serve`, such as STREXFORCE_SYNC_WORKERS=4; repeatable.
    #[arg(long = "serve-env", value_parser = key_value)]
    serve_env: Vec<(String, String)>,
    /// Skip the intake phase.
    #[arg(long)]
    no_intake: bool,
    /// Skip the sync phases.
    #[arg(long)]
    no_sync: bool,
    /// Folder holding the mapping files.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../mappings"))]
    mappings: PathBuf,
}

fn key_value(text: &str) -> Result<(String, String), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
    Ok((key.to_owned(), value.to_owned()))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    strexforce::salesforce::install_crypto_provider();
    let mappings = args
        .mappings
        .canonicalize()
        .with_context(|| format!("no mappings folder at {}", args.mappings.display()))?;
    let binaries = Binaries::locate()?;
    let server = Server::start(args.database_url.as_deref()).await?;
    let facts = server.facts().await?;
    let mut report = report::Report::new(&binaries, facts)?;

    if !args.no_intake {
        let settings = IntakeSettings {
            concurrency: args.concurrency.clone(),
            runs: args.runs,
            warmup: Duration::from_secs(args.warmup_secs),
            window: Duration::from_secs(args.intake_secs),
        };
        report.intake = Some(intake::run(&server, &binaries, &mappings, &settings).await?);
    }
    if !args.no_sync {
        let settings = SyncSettings {
            burst: args.burst,
            latency_ms: args.sf_latency_ms,
            lag_rate: args.lag_rate,
            lag_window: Duration::from_secs(args.lag_secs),
            serve_env: args.serve_env.clone(),
        };
        for run in 1..=args.runs as u64 {
            let burst = sync::measure_burst(&server, &binaries, &mappings, &settings, run).await?;
            let cpu = burst.cpu;
            eprintln!(
                "sync burst run {run}: {} calls for an ideal of {}, {:.0} rows/s, CPU serve \
                 {:.0}% emulator {:.0}% Postgres {:.0}% other {:.0}%",
                burst.calls,
                burst.ideal_calls,
                burst.rows_per_second(),
                cpu.serve * 100.0,
                cpu.emulator * 100.0,
                cpu.postgres * 100.0,
                cpu.other() * 100.0,
            );
            report.bursts.push(burst);
            let lag = sync::measure_lag(&server, &binaries, &mappings, &settings, run).await?;
            eprintln!(
                "sync lag run {run}: p50 {:.0} ms, p99 {:.0} ms",
                lag.p50_ms, lag.p99_ms
            );
            report.lags.push(lag);
        }
        report.sync_settings = Some(settings);
    }
    println!("{report}");
    Ok(())
}
