//! One sync worker's loop: wait for leave from the API budget, gather a batch, send it,
//! record the outcomes, repeat; wait for a wake-up or the poll interval when there is
//! nothing to do.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::SyncContext;
use super::api_budget::CallReport;
use super::gather::{GatherTurn, Gathered, Patience, gather};
use super::send::Sender;
use crate::store::{ClaimedRow, RowOutcome, StoreError};
use crate::telemetry::metrics;

/// How long a worker pauses after the database failed, before trying again.
const STORE_ERROR_PAUSE: Duration = Duration::from_secs(2);
/// How often a worker puts rows whose lease ran out back to pending.
const LEASE_SWEEP_EVERY: Duration = Duration::from_secs(1);
/// Attempts at recording a sent batch's outcomes before its rows are left to their lease.
const RECORD_ATTEMPTS: u32 = 3;

pub struct Worker {
    number: usize,
    context: SyncContext,
    turn: GatherTurn,
    last_sweep: Option<Instant>,
}

impl Worker {
    pub fn new(number: usize, context: SyncContext, turn: GatherTurn) -> Worker {
        Worker {
            number,
            context,
            turn,
            last_sweep: None,
        }
    }

    pub async fn run(mut self, shutdown: CancellationToken) {
        tracing::debug!(worker = self.number, "sync worker started");
        while !shutdown.is_cancelled() {
            match self.tick(&shutdown).await {
                Ok(0) => {
                    self.idle(&shutdown, self.context.settings.poll_interval)
                        .await
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(
                        worker = self.number,
                        %error,
                        "sync worker cannot use the database"
                    );
                    self.idle(&shutdown, STORE_ERROR_PAUSE).await;
                }
            }
        }
        tracing::debug!(worker = self.number, "sync worker stopped");
    }

    /// One round; returns how many rows it handled.
    pub async fn tick(&mut self, shutdown: &CancellationToken) -> Result<usize, StoreError> {
        self.sweep_leases().await?;
        let context = self.context.clone();
        let Some(admission) = context.budget.admit(shutdown).await else {
            return Ok(0);
        };
        let patience = if context.budget.frugal() {
            Patience::Frugal
        } else {
            Patience::Normal
        };
        // A partial batch's slot is held until its outcomes are recorded, the end of the round.
        let Some(Gathered {
            rows,
            mut lease,
            partial_slot: _partial_slot,
        }) = gather(&context, &self.turn, patience, shutdown).await?
        else {
            return Ok(0);
        };
        let count = rows.len();
        let span = batch_span(self.number, &rows);
        let mut sender = Sender {
            salesforce: &context.salesforce,
            settings: &context.settings,
            lease: &mut lease,
            shutdown,
            report: CallReport::default(),
        };
        let outcomes = if shutdown.is_cancelled() {
            release_all(rows)
        } else {
            sender.send_batch(rows).instrument(span.clone()).await
        };
        let report = sender.report;
        span.record("status", batch_status(&outcomes));
        span.in_scope(|| log_batch(self.number, &outcomes, report));
        self.record(&outcomes).instrument(span.clone()).await?;
        count_outcomes(&outcomes);
        admission
            .settle(report, context.salesforce.api_usage())
            .await;
        Ok(count)
    }

    async fn sweep_leases(&mut self) -> Result<(), StoreError> {
        if self
            .last_sweep
            .is_some_and(|at| at.elapsed() < LEASE_SWEEP_EVERY)
        {
            return Ok(());
        }
        self.last_sweep = Some(Instant::now());
        let released = self.context.store.release_expired_leases().await?;
        if released > 0 {
            tracing::warn!(
                rows = released,
                "claims of a stopped worker ran out; rows are pending again"
            );
        }
        Ok(())
    }

    /// A short database outage should not send a batch twice, so recording is tried a few
    /// times; after that the rows are left to their lease and will be sent again.
    async fn record(&self, outcomes: &[(ClaimedRow, RowOutcome)]) -> Result<(), StoreError> {
        let mut attempt = 1;
        loop {
            match self.context.store.record_outcomes(outcomes).await {
                Ok(()) => return Ok(()),
                Err(error) if attempt < RECORD_ATTEMPTS => {
                    tracing::warn!(%error, attempt, "cannot record a batch's outcomes yet");
                    tokio::time::sleep(STORE_ERROR_PAUSE).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    async fn idle(&self, shutdown: &CancellationToken, limit: Duration) {
        tokio::select! {
            _ = self.context.wake.notified() => {}
            _ = tokio::time::sleep(limit) => {}
            _ = shutdown.cancelled() => {}
        }
    }
}

/// Shutdown began while the batch was being gathered: nothing was sent, nothing is counted.
fn release_all(rows: Vec<ClaimedRow>) -> Vec<(ClaimedRow, RowOutcome)> {
    rows.into_iter()
        .map(|row| (row, RowOutcome::Released))
        .collect()
}

/// One span per batch sent, so that every line logged while sending names its rows.
fn batch_span(worker: usize, rows: &[ClaimedRow]) -> tracing::Span {
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    tracing::info_span!(
        "sync_batch",
        worker,
        sobject = rows.first().map(|row| row.sobject.as_str()),
        sync_log_ids = ?ids,
        rows = rows.len(),
        status = tracing::field::Empty,
    )
}

/// The batch in one word: what every row became, or `mixed`.
fn batch_status(outcomes: &[(ClaimedRow, RowOutcome)]) -> &'static str {
    let mut statuses = outcomes.iter().map(|(_, outcome)| outcome_label(outcome));
    let Some(first) = statuses.next() else {
        return "empty";
    };
    if statuses.all(|status| status == first) {
        first
    } else {
        "mixed"
    }
}

fn outcome_label(outcome: &RowOutcome) -> &'static str {
    match outcome {
        RowOutcome::Succeeded { .. } => "succeeded",
        RowOutcome::Failed(_) => "failed",
        RowOutcome::Retry { .. } => "retry",
        RowOutcome::Dead(_) => "dead",
        RowOutcome::Skipped(_) => "skipped",
        RowOutcome::Released => "released",
    }
}

/// Counted once recorded, so that a batch whose outcomes were lost is not counted twice.
fn count_outcomes(outcomes: &[(ClaimedRow, RowOutcome)]) {
    for (row, outcome) in outcomes {
        match outcome {
            RowOutcome::Retry { error, .. } => metrics::sync_retry(&error.code),
            RowOutcome::Released => {}
            final_outcome => metrics::sync_row_finished(&row.sobject, outcome_label(final_outcome)),
        }
    }
}

fn log_batch(worker: usize, outcomes: &[(ClaimedRow, RowOutcome)], report: CallReport) {
    let count =
        |wanted: fn(&RowOutcome) -> bool| outcomes.iter().filter(|(_, o)| wanted(o)).count();
    tracing::debug!(
        worker,
        sobject = outcomes.first().map(|(row, _)| row.sobject.as_str()),
        rows = outcomes.len(),
        calls = report.calls,
        succeeded = count(|o| matches!(o, RowOutcome::Succeeded { .. })),
        retried = count(|o| matches!(o, RowOutcome::Retry { .. })),
        failed = count(|o| matches!(o, RowOutcome::Failed(_) | RowOutcome::Dead(_))),
        released = count(|o| matches!(o, RowOutcome::Released)),
        "batch sent"
    );
    warn_of_given_up_rows(outcomes);
}

/// Rows that will not be sent again without an operator: one line per batch and kind, with
/// the rows and Salesforce's error codes, so that someone reading only warnings sees them.
fn warn_of_given_up_rows(outcomes: &[(ClaimedRow, RowOutcome)]) {
    let mut failed = (Vec::new(), std::collections::BTreeSet::new());
    let mut dead = (Vec::new(), std::collections::BTreeSet::new());
    for (row, outcome) in outcomes {
        let (rows, codes) = match outcome {
            RowOutcome::Failed(_) => &mut failed,
            RowOutcome::Dead(_) => &mut dead,
            _ => continue,
        };
        rows.push(row.id);
        if let RowOutcome::Failed(error) | RowOutcome::Dead(error) = outcome {
            codes.insert(error.code.as_str());
        }
    }
    let sobject = outcomes.first().map(|(row, _)| row.sobject.as_str());
    if !failed.0.is_empty() {
        tracing::warn!(
            sobject,
            rows = ?failed.0,
            error_codes = ?failed.1,
            "Salesforce refused records; their rows are failed \
             (strexforce log --status failed shows why; fix, then strexforce retry)"
        );
    }
    if !dead.0.is_empty() {
        tracing::warn!(
            sobject,
            rows = ?dead.0,
            error_codes = ?dead.1,
            "rows kept failing past the retry age and are dead \
             (strexforce log --status dead; strexforce retry once the cause is fixed)"
        );
    }
}
