//! The report: medians of the runs, in Markdown tables, with each target beside its figure.

use std::fmt;

use anyhow::Context;

use crate::database::ServerFacts;
use crate::intake::{IntakeReport, IntakeRun};
use crate::services::Binaries;
use crate::sync::{BurstRun, LagRun, SyncSettings};

/// The targets the figures are held against.
mod target {
    pub const INTAKE_SHARE_OF_CEILING: f64 = 0.8;
    pub const INTAKE_P99_MS: f64 = 25.0;
    pub const CALLS_OVER_IDEAL: f64 = 1.05;
    pub const ROWS_PER_SECOND: f64 = 5_000.0;
    pub const LAG_P50_MS: f64 = 250.0;
    pub const PEAK_RSS_MB: f64 = 60.0;
}

pub struct Report {
    machine: String,
    database: ServerFacts,
    binary_size: u64,
    pub intake: Option<IntakeReport>,
    pub bursts: Vec<BurstRun>,
    pub lags: Vec<LagRun>,
    pub sync_settings: Option<SyncSettings>,
}

impl Report {
    pub fn new(binaries: &Binaries, database: ServerFacts) -> anyhow::Result<Report> {
        let binary = binaries.service_binary();
        let binary_size = std::fs::metadata(&binary)
            .with_context(|| format!("cannot read {}", binary.display()))?
            .len();
        Ok(Report {
            machine: machine(),
            database,
            binary_size,
            intake: None,
            bursts: Vec::new(),
            lags: Vec::new(),
            sync_settings: None,
        })
    }

    fn write_intake(&self, f: &mut fmt::Formatter<'_>, intake: &IntakeReport) -> fmt::Result {
        writeln!(
            f,
            "## Intake (medians of runs; forward bodies {} B)\n",
            intake.body_size
        )?;
        writeln!(
            f,
            "| connections | intake/s | ceiling/s | intake/ceiling | p50 ms | p95 ms | p99 ms \
             | non-200 | CPU serve / client / Postgres / other |"
        )?;
        writeln!(f, "|---|---|---|---|---|---|---|---|---|")?;
        let mut levels: Vec<usize> = intake.runs.iter().map(|run| run.concurrency).collect();
        levels.sort_unstable();
        levels.dedup();
        // The targets hold at the highest concurrency measured (64 by default).
        let highest = levels.last().copied();
        for level in &levels {
            let runs: Vec<&IntakeRun> = intake
                .runs
                .iter()
                .filter(|r| r.concurrency == *level)
                .collect();
            let of = |value: fn(&IntakeRun) -> f64| median(runs.iter().map(|r| value(r)));
            let share = of(|r| r.intake.per_second() / r.ceiling_per_second);
            let p99 = of(|r| r.intake.latency_ms(99.0));
            writeln!(
                f,
                "| {level} | {:.0} | {:.0} | {share:.2} | {:.1} | {:.1} | {p99:.1} | {} \
                 | {:.0}% / {:.0}% / {:.0}% / {:.0}% |",
                of(|r| r.intake.per_second()),
                of(|r| r.ceiling_per_second),
                of(|r| r.intake.latency_ms(50.0)),
                of(|r| r.intake.latency_ms(95.0)),
                runs.iter().map(|r| r.intake.refused_total()).sum::<u64>(),
                of(|r| r.cpu.serve * 100.0),
                of(|r| r.cpu.generator * 100.0),
                of(|r| r.cpu.postgres * 100.0),
                of(|r| r.cpu.other() * 100.0),
            )?;
            if Some(*level) == highest {
                let name = format!("intake/ceiling at {level}");
                verdict(f, &name, share, target::INTAKE_SHARE_OF_CEILING, true)?;
                let name = format!("p99 at {level} (ms)");
                verdict(f, &name, p99, target::INTAKE_P99_MS, false)?;
            }
        }
        writeln!(
            f,
            "\nEvery 200 stored: {} forwards answered 200, {} rows in inbound_event.\n",
            intake.answered_200, intake.stored_events
        )
    }

    fn write_sync(&self, f: &mut fmt::Formatter<'_>, settings: &SyncSettings) -> fmt::Result {
        writeln!(
            f,
            "## Sync ({} ms per Salesforce call; burst of {} forwards; medians of runs)\n",
            settings.latency_ms, settings.burst
        )?;
        let burst = |value: fn(&BurstRun) -> f64| median(self.bursts.iter().map(value));
        let ratio = burst(BurstRun::calls_over_ideal);
        let rate = burst(BurstRun::rows_per_second);
        writeln!(
            f,
            "Burst: {:.0} rows, {:.0} Collections calls for an ideal of {:.0} ({ratio:.3}×), \
             {:.0} records sent, drained in {:.2} s: {rate:.0} rows/s.",
            burst(|b| b.rows as f64),
            burst(|b| b.calls as f64),
            burst(|b| b.ideal_calls as f64),
            burst(|b| b.records_sent as f64),
            burst(|b| b.drain.as_secs_f64()),
        )?;
        writeln!(
            f,
            "Processor while draining: serve {:.0}%, emulator {:.0}%, Postgres {:.0}%, \
             other {:.0}%.",
            burst(|b| b.cpu.serve * 100.0),
            burst(|b| b.cpu.emulator * 100.0),
            burst(|b| b.cpu.postgres * 100.0),
            burst(|b| b.cpu.other() * 100.0),
        )?;
        verdict(
            f,
            "calls over ideal",
            ratio,
            target::CALLS_OVER_IDEAL,
            false,
        )?;
        verdict(
            f,
            "rows synced per second",
            rate,
            target::ROWS_PER_SECOND,
            true,
        )?;
        let lag = |value: fn(&LagRun) -> f64| median(self.lags.iter().map(value));
        let p50 = lag(|l| l.p50_ms);
        writeln!(
            f,
            "\nLag at {} forwards/s for {} s: p50 {p50:.0} ms, p99 {:.0} ms \
             ({:.0} forwards, {:.0} Collections calls).",
            settings.lag_rate,
            settings.lag_window.as_secs(),
            lag(|l| l.p99_ms),
            lag(|l| l.forwards as f64),
            lag(|l| l.calls as f64),
        )?;
        verdict(f, "lag p50 (ms)", p50, target::LAG_P50_MS, false)?;
        let overrides: Vec<String> = settings
            .serve_env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        writeln!(f, "\nSync settings overridden: {}.\n", none_or(&overrides))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "# strexforce benchmark\n")?;
        writeln!(f, "Machine: {}.", self.machine)?;
        writeln!(
            f,
            "PostgreSQL {} (fsync {}, synchronous_commit {}).\n",
            self.database.version, self.database.fsync, self.database.synchronous_commit
        )?;
        if let Some(intake) = &self.intake {
            self.write_intake(f, intake)?;
        }
        if let Some(settings) = &self.sync_settings {
            self.write_sync(f, settings)?;
        }
        writeln!(f, "## Footprint\n")?;
        let megabytes = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        writeln!(f, "Release binary: {:.1} MiB.", megabytes(self.binary_size))?;
        if let Some(intake) = &self.intake {
            let rss = megabytes(intake.peak_rss);
            writeln!(f, "Peak RSS of serve over the intake runs: {rss:.1} MiB.")?;
            verdict(f, "peak RSS (MiB)", rss, target::PEAK_RSS_MB, false)?;
        }
        Ok(())
    }
}

/// One line: the figure, the target, met or missed and by how much.
fn verdict(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    value: f64,
    target: f64,
    at_least: bool,
) -> fmt::Result {
    let met = if at_least {
        value >= target
    } else {
        value < target
    };
    let word = if met { "met" } else { "MISSED" };
    let by = (value / target - 1.0) * 100.0;
    let relation = if at_least { "≥" } else { "<" };
    writeln!(
        f,
        "- target {name} {relation} {target}: {word} ({value:.3}, {by:+.0}%)"
    )
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if !values.len().is_multiple_of(2) {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

fn none_or(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

/// Cores, memory and processor, as Linux reports them.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.1} GiB", kib / (1024.0 * 1024.0)))
        })
        .unwrap_or_else(|| "unknown memory".to_owned());
    let processor = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            let line = info.lines().find(|l| l.starts_with("model name"))?;
            Some(line.split_once(':')?.1.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown processor".to_owned());
    format!("{cores} cores ({processor}), {memory}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median([4.0, 1.0, 3.0, 2.0].into_iter()), 2.5);
        assert_eq!(median([5.0, 1.0, 3.0].into_iter()), 3.0);
    }
}
