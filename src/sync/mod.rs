//! Sync workers: they take pending sync_log rows, send them to Salesforce in batches and
//! record each record's outcome on its row.

mod api_budget;
mod backoff;
pub mod classify;
mod gather;
mod lease;
mod outcome;
mod send;
mod single;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use api_budget::{ApiBudget, LimitSettings};
pub use backoff::Backoff;
pub use worker::Worker;

use crate::salesforce::{COLLECTIONS_LIMIT, SalesforceClient};
use crate::store::Store;

/// How the sync engine runs.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Concurrent workers in this process: how many batches can be on their way to
    /// Salesforce at once when rows come faster than one batch at a time can carry.
    pub workers: usize,
    /// How many batches that are not full may be on their way at once. More would only
    /// split the rows that trickle in into more, smaller requests: a partial batch beyond
    /// these keeps gathering until one returns, so under light load the extra workers cost
    /// no API calls, and under a burst they carry full batches.
    pub partial_batches: usize,
    /// Records per sObject Collections request (Salesforce allows at most 200).
    pub batch_size: usize,
    /// How often an idle worker looks for rows that became due (retries, other replicas).
    pub poll_interval: Duration,
    /// How long a claim lasts before another worker may take the row over. Must be longer
    /// than one Salesforce request may take: the lease is extended before each request.
    pub lease: Duration,
    pub backoff: Backoff,
    /// Rows still failing transiently after this long since they were planned become `dead`.
    /// Longer than the 48 hours Strex keeps retrying a forward.
    pub max_age: Duration,
    /// Under load, a batch that is not full waits this long for more rows, again and again
    /// while each wait brings some, up to `gather_limit`. An idle engine sends at once.
    pub gather_window: Duration,
    pub gather_limit: Duration,
    pub limits: LimitSettings,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            workers: 4,
            partial_batches: 2,
            batch_size: COLLECTIONS_LIMIT,
            poll_interval: Duration::from_millis(500),
            lease: Duration::from_secs(120),
            backoff: Backoff::default(),
            max_age: Duration::from_secs(72 * 3600),
            gather_window: Duration::from_millis(5),
            gather_limit: Duration::from_secs(2),
            limits: LimitSettings::default(),
        }
    }
}

/// Wakes idle workers when intake has committed new rows.
#[derive(Debug, Clone, Default)]
pub struct SyncWake(Arc<Notify>);

impl SyncWake {
    pub fn notify(&self) {
        // notify_one keeps a permit when no worker is waiting yet, so a commit that lands
        // while a worker is between claims is not missed.
        self.0.notify_one();
    }

    async fn notified(&self) {
        self.0.notified().await;
    }
}

/// What the workers of one process share.
#[derive(Clone)]
pub struct SyncContext {
    pub store: Store,
    pub salesforce: Arc<SalesforceClient>,
    pub settings: SyncSettings,
    pub wake: SyncWake,
    pub budget: Arc<ApiBudget>,
}

/// Starts the configured number of workers; they stop when `shutdown` is cancelled, after
/// recording the outcome of the batch they are sending.
pub fn spawn_workers(context: SyncContext, shutdown: CancellationToken) -> JoinSet<()> {
    let mut workers = JoinSet::new();
    let gather_turn = gather::GatherTurn::new(context.settings.partial_batches);
    for number in 0..context.settings.workers.max(1) {
        let worker = Worker::new(number, context.clone(), gather_turn.clone());
        workers.spawn(worker.run(shutdown.clone()));
    }
    workers
}
