//! Filling a batch before it is sent.
//!
//! A Collections request costs one API call whether it carries one record or 200. An idle
//! engine sends a single forward at once. Under load, a batch that is not full waits a short
//! window for more rows of its group, and keeps waiting while each window brings some, up to
//! a limit; a quiet window ends the wait. Only one worker of a process gathers at a time (the
//! gather turn), so rows arriving together fill one batch instead of being split between
//! workers, while the other workers send the batches gathered before. At most
//! `partial_batches` batches that are not full are on their way at once: a partial batch
//! beyond them goes on gathering until one returns (or the gather limit passes), so the
//! workers kept for bursts do not turn a trickle of rows into many small requests.

use std::sync::{Arc, Mutex};

use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use tokio_util::sync::CancellationToken;

use super::SyncContext;
use super::lease::Lease;
use crate::store::{BatchGroup, Claim, ClaimedRow, StoreError, process_name};

/// A process counts as under load for this long after a claim found rows.
const LOAD_MEMORY: Duration = Duration::from_secs(1);

/// Shared by the workers of one process.
#[derive(Debug, Clone)]
pub struct GatherTurn(Arc<TurnState>);

#[derive(Debug)]
struct TurnState {
    turn: tokio::sync::Mutex<()>,
    last_found: Mutex<Option<Instant>>,
    /// One permit per partial batch that may be on its way.
    partial: Arc<Semaphore>,
}

/// How a batch is gathered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Patience {
    /// Send a partial batch once a window brings nothing new.
    Normal,
    /// API usage is high: wait for a full batch until the gather limit.
    Frugal,
}

/// Claimed rows and the lease they are held under.
pub struct Gathered {
    pub rows: Vec<ClaimedRow>,
    pub lease: Lease,
    /// Held by a partial batch until its outcomes are recorded.
    pub partial_slot: Option<OwnedSemaphorePermit>,
}

impl GatherTurn {
    pub fn new(partial_batches: usize) -> GatherTurn {
        GatherTurn(Arc::new(TurnState {
            turn: tokio::sync::Mutex::new(()),
            last_found: Mutex::new(None),
            partial: Arc::new(Semaphore::new(partial_batches.max(1))),
        }))
    }

    fn under_load(&self) -> bool {
        let last = *self.0.last_found.lock().unwrap_or_else(|p| p.into_inner());
        last.is_some_and(|at| at.elapsed() < LOAD_MEMORY)
    }

    fn found_rows(&self) {
        *self.0.last_found.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }
}

/// Claims a batch, waiting for the gather turn first; `None` when there is nothing to send
/// or shutdown began.
pub async fn gather(
    context: &SyncContext,
    turn: &GatherTurn,
    patience: Patience,
    shutdown: &CancellationToken,
) -> Result<Option<Gathered>, StoreError> {
    let _turn = tokio::select! {
        guard = turn.0.turn.lock() => guard,
        _ = shutdown.cancelled() => return Ok(None),
    };
    let under_load = turn.under_load();
    let mut lease = Lease::new(context.store.clone(), context.settings.lease);
    let mut rows = claim(context, &lease, context.settings.batch_size, None).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    turn.found_rows();
    lease.hold(rows.len());
    let deadline = Instant::now() + context.settings.gather_limit;
    if under_load || patience == Patience::Frugal {
        top_up(context, &mut lease, &mut rows, patience, deadline, shutdown).await;
    }
    let partial_slot = if rows.len() < context.settings.batch_size {
        wait_for_partial_slot(context, turn, &mut lease, &mut rows, deadline, shutdown).await
    } else {
        None
    };
    Ok(Some(Gathered {
        rows,
        lease,
        partial_slot,
    }))
}

/// Waits, for a batch that is not full, until fewer than `partial_batches` partial batches
/// are on their way, adding rows of its group meanwhile. It leaves without a slot once it is
/// full, or at the gather limit, or at shutdown.
async fn wait_for_partial_slot(
    context: &SyncContext,
    turn: &GatherTurn,
    lease: &mut Lease,
    rows: &mut Vec<ClaimedRow>,
    deadline: Instant,
    shutdown: &CancellationToken,
) -> Option<OwnedSemaphorePermit> {
    let settings = &context.settings;
    let group = rows[0].group();
    loop {
        if let Ok(slot) = turn.0.partial.clone().try_acquire_owned() {
            return Some(slot);
        }
        if rows.len() >= settings.batch_size || Instant::now() >= deadline {
            return None;
        }
        tokio::select! {
            slot = turn.0.partial.clone().acquire_owned() => return slot.ok(),
            _ = tokio::time::sleep(settings.gather_window) => {}
            _ = shutdown.cancelled() => return None,
        }
        add_rows(context, lease, rows, &group).await?;
    }
}

/// Adds rows of the batch's group while they keep coming. A database error ends the wait:
/// the rows already claimed are still sent.
async fn top_up(
    context: &SyncContext,
    lease: &mut Lease,
    rows: &mut Vec<ClaimedRow>,
    patience: Patience,
    deadline: Instant,
    shutdown: &CancellationToken,
) {
    let settings = &context.settings;
    let group = rows[0].group();
    while rows.len() < settings.batch_size && Instant::now() < deadline {
        tokio::select! {
            _ = tokio::time::sleep(settings.gather_window) => {}
            _ = shutdown.cancelled() => return,
        }
        match add_rows(context, lease, rows, &group).await {
            Some(0) if patience == Patience::Normal => return,
            Some(_) => {}
            None => return,
        }
    }
}

/// Claims rows of the batch's group into the room left; how many came, or `None` when the
/// database failed (the rows already claimed are still sent).
async fn add_rows(
    context: &SyncContext,
    lease: &mut Lease,
    rows: &mut Vec<ClaimedRow>,
    group: &BatchGroup,
) -> Option<usize> {
    let room = context.settings.batch_size - rows.len();
    match claim(context, lease, room, Some(group)).await {
        Ok(more) => {
            let added = more.len();
            lease.hold(added);
            rows.extend(more);
            Some(added)
        }
        Err(error) => {
            tracing::warn!(%error, "cannot add rows to the batch; sending what it has");
            None
        }
    }
}

async fn claim(
    context: &SyncContext,
    lease: &Lease,
    limit: usize,
    group: Option<&BatchGroup>,
) -> Result<Vec<ClaimedRow>, StoreError> {
    let claim = Claim {
        limit: limit as i64,
        lease: lease.length(),
        token: lease.token(),
        group,
        claimed_by: process_name(),
    };
    context.store.claim_batch(&claim).await
}
