//! Call counters that tests and benchmarks read to see what the connector did.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// The kinds of request the emulator counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    Token,
    Versions,
    Resources,
    Limits,
    GlobalDescribe,
    Describe,
    Read,
    Insert,
    SingleUpsert,
    CollectionsUpsert,
    Other,
}

/// A snapshot of the counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests per kind, including refused ones (bad token, faults, errors).
    pub calls: BTreeMap<CallKind, u64>,
    /// Number of records in each collections upsert request that was processed.
    pub collections_batch_sizes: Vec<usize>,
    /// Writes kept per record Id (creates and updates, through any resource). A client that
    /// sends each change once leaves one write per change here.
    pub record_writes: BTreeMap<String, u64>,
    /// Calls counted against the allocation.
    pub api_usage: u64,
    pub api_allocation: u64,
    /// The most data calls that were being answered at the same moment.
    pub peak_concurrent_calls: usize,
}

impl Stats {
    pub fn calls_of(&self, kind: CallKind) -> u64 {
        self.calls.get(&kind).copied().unwrap_or(0)
    }

    /// Records sent through collections upserts, summed.
    pub fn collections_records(&self) -> usize {
        self.collections_batch_sizes.iter().sum()
    }

    /// How many times the record with this Id was written.
    pub fn writes_of(&self, id: &str) -> u64 {
        self.record_writes.get(id).copied().unwrap_or(0)
    }
}

#[derive(Debug, Default)]
pub(crate) struct StatsRecorder {
    counters: Mutex<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    calls: BTreeMap<CallKind, u64>,
    collections_batch_sizes: Vec<usize>,
    record_writes: BTreeMap<String, u64>,
    in_flight: usize,
    peak_in_flight: usize,
}

/// A data call being answered; counted out when dropped.
pub(crate) struct InFlight<'a>(&'a StatsRecorder);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut counters = self.0.lock();
        counters.in_flight = counters.in_flight.saturating_sub(1);
    }
}

impl StatsRecorder {
    pub(crate) fn count(&self, kind: CallKind) {
        *self.lock().calls.entry(kind).or_default() += 1;
    }

    /// Counts a data call in until the returned guard is dropped.
    pub(crate) fn enter(&self) -> InFlight<'_> {
        let mut counters = self.lock();
        counters.in_flight += 1;
        counters.peak_in_flight = counters.peak_in_flight.max(counters.in_flight);
        InFlight(self)
    }

    pub(crate) fn record_batch(&self, size: usize) {
        self.lock().collections_batch_sizes.push(size);
    }

    pub(crate) fn count_writes(&self, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        let mut counters = self.lock();
        for id in ids {
            *counters.record_writes.entry(id.clone()).or_default() += 1;
        }
    }

    pub(crate) fn snapshot(&self, api_usage: u64, api_allocation: u64) -> Stats {
        let counters = self.lock();
        Stats {
            calls: counters.calls.clone(),
            collections_batch_sizes: counters.collections_batch_sizes.clone(),
            record_writes: counters.record_writes.clone(),
            api_usage,
            api_allocation,
            peak_concurrent_calls: counters.peak_in_flight,
        }
    }

    pub(crate) fn reset(&self) {
        let mut counters = self.lock();
        // Calls being answered now are still counted out when they end.
        let in_flight = counters.in_flight;
        *counters = Counters {
            in_flight,
            ..Counters::default()
        };
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.counters.lock().expect("stats lock poisoned")
    }
}
