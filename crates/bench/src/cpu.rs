//! Where the machine's processor time went during a run: in `serve`, in this load generator,
//! in Postgres, and elsewhere. On a small machine they share the same cores, so this says
//! which of them a figure is limited by.

use std::collections::HashMap;

use anyhow::Context;

/// Clock ticks of one process or of the whole machine at one moment.
#[derive(Debug, Clone)]
pub struct Sample {
    machine_busy: u64,
    machine_total: u64,
    serve: u64,
    generator: u64,
    emulator: u64,
    /// Per process, so that a backend that exits (pgbench's, just before an intake run) does
    /// not take its ticks out of the sum.
    postgres: HashMap<u32, u64>,
}

/// Shares of the machine's processor time between two samples, from 0 to 1 each.
#[derive(Debug, Clone, Copy, Default)]
pub struct Split {
    pub busy: f64,
    pub serve: f64,
    pub generator: f64,
    pub emulator: f64,
    pub postgres: f64,
}

impl Split {
    /// Time spent in none of these: the kernel's own threads (loopback networking, the
    /// file system journal) and whatever else runs on the machine.
    pub fn other(&self) -> f64 {
        (self.busy - self.serve - self.generator - self.emulator - self.postgres).max(0.0)
    }
}

impl Sample {
    /// `postmaster` is the Postgres server process; its backends are its children. Only a
    /// server on this machine can be sampled; elsewhere its share reads as zero.
    pub fn take(serve_pid: u32, postmaster: Option<u32>) -> anyhow::Result<Sample> {
        Sample::take_with_emulator(serve_pid, None, postmaster)
    }

    pub fn take_with_emulator(
        serve_pid: u32,
        emulator_pid: Option<u32>,
        postmaster: Option<u32>,
    ) -> anyhow::Result<Sample> {
        let (machine_busy, machine_total) = machine_ticks()?;
        Ok(Sample {
            machine_busy,
            machine_total,
            serve: process_ticks(&format!("/proc/{serve_pid}/stat"))?.0,
            generator: process_ticks("/proc/self/stat")?.0,
            emulator: match emulator_pid {
                Some(pid) => process_ticks(&format!("/proc/{pid}/stat"))?.0,
                None => 0,
            },
            postgres: postmaster.map(family_ticks).unwrap_or_default(),
        })
    }

    pub fn split_since(&self, earlier: &Sample) -> Split {
        let total = self
            .machine_total
            .saturating_sub(earlier.machine_total)
            .max(1) as f64;
        let share = |now: u64, then: u64| now.saturating_sub(then) as f64 / total;
        Split {
            busy: share(self.machine_busy, earlier.machine_busy),
            serve: share(self.serve, earlier.serve),
            generator: share(self.generator, earlier.generator),
            emulator: share(self.emulator, earlier.emulator),
            postgres: self
                .postgres
                .iter()
                .map(|(pid, now)| share(*now, earlier.postgres.get(pid).copied().unwrap_or(0)))
                .sum(),
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

/// The Postgres server process behind a backend: the backend's parent.
pub fn postmaster_of(backend_pid: u32) -> Option<u32> {
    process_ticks(&format!("/proc/{backend_pid}/stat"))
        .ok()
        .map(|(_, parent)| parent)
}

/// Ticks of a process and of each of its children. A backend that exits between two samples
/// takes its last ticks along; the pools measured keep their connections open.
fn family_ticks(parent: u32) -> HashMap<u32, u64> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let (ticks, ppid) = process_ticks(&format!("/proc/{pid}/stat")).ok()?;
            (pid == parent || ppid == parent).then_some((pid, ticks))
        })
        .collect()
}

/// User and system ticks of a process (fields 14 and 15 of its stat line), and its parent.
fn process_ticks(path: &str) -> anyhow::Result<(u64, u32)> {
    let stat = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
    // The command name may hold spaces; the fields after it are plain.
    let after_name = stat.rsplit_once(')').context("unexpected stat line")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks =
        |index: usize| -> u64 { fields.get(index).and_then(|f| f.parse().ok()).unwrap_or(0) };
    // After the name, field 3 (state) is index 0: ppid (4) is 1, utime (14) 11, stime (15) 12.
    let parent = fields.get(1).and_then(|f| f.parse().ok()).unwrap_or(0);
    Ok((ticks(11) + ticks(12), parent))
}
