//! The load driver: signed forwards posted over HTTP, closed-loop at a fixed concurrency or
//! paced at a fixed rate, with latencies in an HDR histogram.
//!
//! A driver of its own rather than a load-testing framework: each request needs a body made
//! unique and signed at send time, and one process runs the ceiling, intake at several
//! concurrencies and the sync phases in turn, which frameworks built around one scenario per
//! process and their own command line do not fit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use tokio::task::JoinSet;

use crate::forwards::{ForwardMaker, Mix};

/// What one load run saw in its measured window.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// 200s inside the window.
    pub accepted: u64,
    /// 200s at any time, warm-up included: each must be a stored forward.
    pub accepted_all: u64,
    /// Answers other than 200, by status (0: no answer).
    pub refused: BTreeMap<u16, u64>,
    pub window: Duration,
    /// Latency of accepted forwards, in microseconds.
    pub latency: Histogram<u64>,
}

impl LoadResult {
    fn empty(window: Duration) -> LoadResult {
        LoadResult {
            accepted: 0,
            accepted_all: 0,
            refused: BTreeMap::new(),
            window,
            latency: new_histogram(),
        }
    }

    fn add(&mut self, other: &LoadResult) {
        self.accepted += other.accepted;
        self.accepted_all += other.accepted_all;
        for (status, count) in &other.refused {
            *self.refused.entry(*status).or_default() += count;
        }
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
    }

    fn record(&mut self, status: u16, latency: Duration) {
        self.saw(status);
        if status == 200 {
            self.accepted += 1;
            let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
            self.latency.saturating_record(micros);
        } else {
            *self.refused.entry(status).or_default() += 1;
        }
    }

    /// An answer outside the window: counted for the durability check only.
    fn saw(&mut self, status: u16) {
        if status == 200 {
            self.accepted_all += 1;
        }
    }

    pub fn per_second(&self) -> f64 {
        self.accepted as f64 / self.window.as_secs_f64()
    }

    /// A percentile of the latency, in milliseconds.
    pub fn latency_ms(&self, percentile: f64) -> f64 {
        self.latency.value_at_quantile(percentile / 100.0) as f64 / 1000.0
    }

    pub fn refused_total(&self) -> u64 {
        self.refused.values().sum()
    }
}

/// One hour in microseconds, three significant digits.
fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("the bounds are valid")
}

/// An HTTP client sized for `connections` keep-alive connections.
pub fn http_client(connections: usize) -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()
        .context("cannot build the HTTP client")
}

/// `concurrency` senders post back to back; only answers that arrive after `warmup` and
/// before its end plus `window` are counted.
pub async fn closed_loop(
    maker: Arc<ForwardMaker>,
    mix: Mix,
    concurrency: usize,
    warmup: Duration,
    window: Duration,
) -> anyhow::Result<LoadResult> {
    let http = http_client(concurrency)?;
    let start = Instant::now() + warmup;
    let end = start + window;
    let mut senders = JoinSet::new();
    for _ in 0..concurrency {
        let (http, maker) = (http.clone(), maker.clone());
        senders.spawn(async move {
            let mut seen = LoadResult::empty(window);
            loop {
                let forward = maker.next(mix);
                let sent = Instant::now();
                let status = post(&http, forward).await;
                let answered = Instant::now();
                if sent >= start && answered < end {
                    seen.record(status, answered - sent);
                } else {
                    seen.saw(status);
                }
                if answered >= end {
                    return seen;
                }
            }
        });
    }
    collect(senders, window).await
}

/// Posts `count` forwards with `concurrency` senders; the window is the whole run.
pub async fn burst(
    maker: Arc<ForwardMaker>,
    mix: Mix,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<LoadResult> {
    let http = http_client(concurrency)?;
    let remaining = Arc::new(std::sync::atomic::AtomicUsize::new(count));
    let started = Instant::now();
    let mut senders = JoinSet::new();
    for _ in 0..concurrency {
        let (http, maker, remaining) = (http.clone(), maker.clone(), remaining.clone());
        senders.spawn(async move {
            let mut seen = LoadResult::empty(Duration::ZERO);
            while take_one(&remaining) {
                let forward = maker.next(mix);
                let sent = Instant::now();
                let status = post(&http, forward).await;
                seen.record(status, sent.elapsed());
            }
            seen
        });
    }
    let mut result = collect(senders, Duration::ZERO).await?;
    result.window = started.elapsed();
    Ok(result)
}

fn take_one(remaining: &std::sync::atomic::AtomicUsize) -> bool {
    use std::sync::atomic::Ordering;
    remaining
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
}

/// Posts at `rate` forwards per second for `window`, each on its own task, whether or not
/// the ones before were answered: the arrival rate Strex imposes.
pub async fn paced(
    maker: Arc<ForwardMaker>,
    mix: Mix,
    rate: u32,
    window: Duration,
) -> anyhow::Result<LoadResult> {
    let http = http_client(64)?;
    let mut ticks = tokio::time::interval(Duration::from_secs(1) / rate.max(1));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let total = (f64::from(rate) * window.as_secs_f64()) as usize;
    let mut senders = JoinSet::new();
    for _ in 0..total {
        ticks.tick().await;
        let forward = maker.next(mix);
        let http = http.clone();
        senders.spawn(async move {
            let mut seen = LoadResult::empty(window);
            let sent = Instant::now();
            let status = post(&http, forward).await;
            seen.record(status, sent.elapsed());
            seen
        });
    }
    collect(senders, window).await
}

async fn post(http: &reqwest::Client, forward: crate::forwards::SignedForward) -> u16 {
    match forward.request(http).send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            // The answer counts once its body has arrived, as it does for Strex.
            let _ = response.bytes().await;
            status
        }
        Err(_) => 0,
    }
}

async fn collect(mut senders: JoinSet<LoadResult>, window: Duration) -> anyhow::Result<LoadResult> {
    let mut total = LoadResult::empty(window);
    while let Some(seen) = senders.join_next().await {
        total.add(&seen.context("a sender task panicked")?);
    }
    Ok(total)
}
