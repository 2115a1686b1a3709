//! Spending the org's daily API allocation with care.
//!
//! Salesforce reports the calls used in its rolling 24 hours on every response
//! (`Sforce-Limit-Info`). Above a configured share of the allocation this process slows down:
//! at most one batch per interval, and batches wait to be full. When Salesforce refuses calls
//! with REQUEST_LIMIT_EXCEEDED, sending pauses (intake goes on: forwards keep being stored)
//! and after each pause a single batch probes whether calls are allowed again; the pauses
//! grow while the probes keep being refused. The last reading is saved to Postgres for
//! `strexforce status`.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::Backoff;
use crate::salesforce::ApiUsage;
use crate::store::Store;

/// How often the reading is saved while calls are being made.
const SAVE_EVERY: Duration = Duration::from_secs(10);
/// How often the reading is logged at info level.
const LOG_EVERY: Duration = Duration::from_secs(300);
/// How often a worker looks again while another one probes.
const PROBE_WAIT: Duration = Duration::from_millis(50);

/// How API limits are respected.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitSettings {
    /// Share of the daily allocation (0 to 1) above which sending slows down.
    pub slow_down_share: f64,
    /// While slowed down, at most one batch per this interval in this process.
    pub slow_down_interval: Duration,
    /// The pauses after REQUEST_LIMIT_EXCEEDED, growing from `base` to `cap`.
    pub pause: Backoff,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            slow_down_share: 0.9,
            slow_down_interval: Duration::from_secs(1),
            pause: Backoff {
                base: Duration::from_secs(30),
                cap: Duration::from_secs(15 * 60),
            },
        }
    }
}

/// The budget shared by the workers of one process.
pub struct ApiBudget {
    settings: LimitSettings,
    store: Store,
    state: Mutex<BudgetState>,
    changed: Notify,
}

#[derive(Debug, Default)]
struct BudgetState {
    paused_until: Option<Instant>,
    limit_hits: u32,
    probing: bool,
    slowed: bool,
    /// When this process last let a batch go.
    last_admitted: Option<Instant>,
    last_saved: Option<Instant>,
    last_logged: Option<Instant>,
}

/// Leave to send one batch.
pub struct Admission<'a> {
    budget: &'a ApiBudget,
    probe: bool,
}

/// What a sent batch tells the budget.
#[derive(Debug, Clone, Copy, Default)]
pub struct CallReport {
    /// Requests that reached Salesforce.
    pub calls: usize,
    /// Whether one of them was refused with REQUEST_LIMIT_EXCEEDED.
    pub limit_exceeded: bool,
}

enum Verdict {
    Go { probe: bool },
    Wait(Duration),
}

impl ApiBudget {
    pub fn new(settings: LimitSettings, store: Store) -> ApiBudget {
        ApiBudget {
            settings,
            store,
            state: Mutex::new(BudgetState::default()),
            changed: Notify::new(),
        }
    }

    /// Waits until a batch may be sent; `None` when shutdown began first.
    pub async fn admit(&self, shutdown: &CancellationToken) -> Option<Admission<'_>> {
        loop {
            let wait = match self.verdict() {
                Verdict::Go { probe } => {
                    return Some(Admission {
                        budget: self,
                        probe,
                    });
                }
                Verdict::Wait(wait) => wait,
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.changed.notified() => {}
                _ = shutdown.cancelled() => return None,
            }
        }
    }

    fn verdict(&self) -> Verdict {
        let mut state = self.lock();
        let now = Instant::now();
        if let Some(until) = state.paused_until {
            if now < until {
                return Verdict::Wait(until - now);
            }
            if state.probing {
                return Verdict::Wait(PROBE_WAIT);
            }
            state.probing = true;
            state.last_admitted = Some(now);
            return Verdict::Go { probe: true };
        }
        let next_slot = state
            .last_admitted
            .map(|at| at + self.settings.slow_down_interval);
        match next_slot {
            Some(slot) if state.slowed && now < slot => Verdict::Wait(slot - now),
            _ => {
                state.last_admitted = Some(now);
                Verdict::Go { probe: false }
            }
        }
    }

    /// Whether batches should wait to be full.
    pub fn frugal(&self) -> bool {
        self.lock().slowed
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BudgetState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes in what a batch found out, and saves the reading when it is due.
    async fn observe(&self, probe: bool, report: CallReport, usage: Option<ApiUsage>) {
        let save = {
            let mut state = self.lock();
            if probe {
                state.probing = false;
            }
            let save_due = state.last_saved.is_none_or(|at| at.elapsed() >= SAVE_EVERY);
            let changed = self.note_limit(&mut state, report) | self.note_usage(&mut state, usage);
            let save = report.calls > 0 && (save_due || changed);
            if save {
                state.last_saved = Some(Instant::now());
            }
            save
        };
        self.changed.notify_waiters();
        if let (true, Some(usage)) = (save, usage) {
            let saved = self
                .store
                .save_api_usage(usage.used, usage.max, report.limit_exceeded)
                .await;
            if let Err(error) = saved {
                tracing::warn!(%error, "cannot save the API usage reading");
            }
        }
    }

    /// Starts, lengthens or ends a pause; true when the pause state changed.
    fn note_limit(&self, state: &mut BudgetState, report: CallReport) -> bool {
        if report.limit_exceeded {
            let pause = self.settings.pause.pause(state.limit_hits);
            state.limit_hits = state.limit_hits.saturating_add(1);
            state.paused_until = Some(Instant::now() + pause);
            tracing::warn!(
                pause_ms = pause.as_millis() as u64,
                refusals = state.limit_hits,
                "Salesforce refused calls with REQUEST_LIMIT_EXCEEDED; sending pauses, \
                 forwards are still accepted"
            );
            return true;
        }
        if report.calls > 0 && state.paused_until.is_some() {
            state.paused_until = None;
            state.limit_hits = 0;
            tracing::info!("Salesforce accepts calls again; sending resumes");
            return true;
        }
        false
    }

    /// Enters or leaves the slowed-down state; true when it changed.
    fn note_usage(&self, state: &mut BudgetState, usage: Option<ApiUsage>) -> bool {
        let Some(usage) = usage else {
            return false;
        };
        let slowed = usage.share() >= self.settings.slow_down_share;
        let log_due = state.last_logged.is_none_or(|at| at.elapsed() >= LOG_EVERY);
        if slowed == state.slowed && !log_due {
            return false;
        }
        state.last_logged = Some(Instant::now());
        let fields = (usage.used, usage.max, usage.share());
        match (state.slowed, slowed) {
            (false, true) => tracing::warn!(
                api_used = fields.0,
                api_max = fields.1,
                api_share = fields.2,
                "API usage above the slow-down share; sending slows down"
            ),
            (true, false) => tracing::info!(
                api_used = fields.0,
                api_max = fields.1,
                api_share = fields.2,
                "API usage below the slow-down share again; full speed"
            ),
            _ => tracing::info!(
                api_used = fields.0,
                api_max = fields.1,
                api_share = fields.2,
                "Salesforce API usage"
            ),
        }
        let changed = slowed != state.slowed;
        state.slowed = slowed;
        changed
    }
}

impl Admission<'_> {
    /// Reports what the batch sent under this admission found out.
    pub async fn settle(mut self, report: CallReport, usage: Option<ApiUsage>) {
        let probe = std::mem::take(&mut self.probe);
        self.budget.observe(probe, report, usage).await;
    }
}

impl Drop for Admission<'_> {
    /// An admission given up without sending (nothing to send) frees the probe for another.
    fn drop(&mut self) {
        if self.probe {
            self.budget.lock().probing = false;
            self.budget.changed.notify_waiters();
        }
    }
}
