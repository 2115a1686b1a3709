//! Sync workers: they take pending sync_log rows, send them to Salesforce in batches and
//! record each record's outcome on its row.

mod backoff;
pub mod classify;
mod send;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use backoff::Backoff;
pub use worker::Worker;

use crate::salesforce::{COLLECTIONS_LIMIT, SalesforceClient};
use crate::store::Store;

/// How the sync engine runs.
#[derive(Debug, Clone)]
pub struct SyncSettings {
    /// Concurrent workers in this process.
    pub workers: usize,
    /// Records per sObject Collections request (Salesforce allows at most 200).
    pub batch_size: usize,
    /// How often an idle worker looks for rows that became due (retries, other replicas).
    pub poll_interval: Duration,
    /// How long a claim lasts before another worker may take the row over.
    pub lease: Duration,
    pub backoff: Backoff,
    /// Rows still failing transiently after this long since they were planned become `dead`.
    /// Longer than the 48 hours Strex keeps retrying a forward.
    pub max_age: Duration,
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            workers: 2,
            batch_size: COLLECTIONS_LIMIT,
            poll_interval: Duration::from_millis(500),
            lease: Duration::from_secs(120),
            backoff: Backoff::default(),
            max_age: Duration::from_secs(72 * 3600),
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

/// Starts the configured number of workers; they stop when `shutdown` is cancelled, after
/// recording the outcome of the batch they are sending.
pub fn spawn_workers(
    store: Store,
    salesforce: Arc<SalesforceClient>,
    settings: SyncSettings,
    wake: SyncWake,
    shutdown: CancellationToken,
) -> JoinSet<()> {
    let mut workers = JoinSet::new();
    for number in 0..settings.workers.max(1) {
        let worker = Worker::new(
            number,
            store.clone(),
            salesforce.clone(),
            settings.clone(),
            wake.clone(),
        );
        workers.spawn(worker.run(shutdown.clone()));
    }
    workers
}
