//! Where the machine's processor time went during a run: in `serve`, in this load generator,
//! and elsewhere (on a benchmark machine, Postgres). On a small machine the three share the
//! same cores, so this says which of them a figure is limited by.

use anyhow::Context;

/// Clock ticks of one process or of the whole machine at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    machine_busy: u64,
    machine_total: u64,
    serve: u64,
    generator: u64,
}

/// Shares of the machine's processor time between two samples, from 0 to 1 each.
#[derive(Debug, Clone, Copy, Default)]
pub struct Split {
    pub busy: f64,
    pub serve: f64,
    pub generator: f64,
}

impl Split {
    /// Time spent neither in `serve` nor in the load generator: mostly Postgres.
    pub fn other(&self) -> f64 {
        (self.busy - self.serve - self.generator).max(0.0)
    }
}

impl Sample {
    pub fn take(serve_pid: u32) -> anyhow::Result<Sample> {
        let (machine_busy, machine_total) = machine_ticks()?;
        Ok(Sample {
            machine_busy,
            machine_total,
            serve: process_ticks(&format!("/proc/{serve_pid}/stat"))?,
            generator: process_ticks("/proc/self/stat")?,
        })
    }

    pub fn split_since(&self, earlier: &Sample) -> Split {
        let total = self.machine_total.saturating_sub(earlier.machine_total).max(1) as f64;
        let share = |now: u64, then: u64| now.saturating_sub(then) as f64 / total;
        Split {
            busy: share(self.machine_busy, earlier.machine_busy),
            serve: share(self.serve, earlier.serve),
            generator: share(self.generator, earlier.generator),
        }
    }
}

/// Busy and total ticks over all cores, from the first line of /proc/stat.
fn machine_ticks() -> anyhow::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").context("cannot read /proc/stat")?;
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .context("/proc/stat is empty")?
        .split_whitespace()
        .skip(1)
        .filter_map(|field| field.parse().ok())
        .collect();
    let total: u64 = ticks.iter().sum();
    // idle and iowait are the fourth and fifth fields.
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    Ok((total - idle, total))
}

/// User and system ticks of a process (fields 14 and 15 of its stat line).
fn process_ticks(path: &str) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    // The command name may hold spaces; the fields after it are plain.
    let after_name = stat.rsplit_once(')').context("unexpected stat line")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| -> u64 { fields.get(index).and_then(|f| f.parse().ok()).unwrap_or(0) };
    // After the name, field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
    Ok(ticks(11) + ticks(12))
}
