//! One sync worker's loop: claim a batch, send it, record the outcomes, repeat; wait for a
//! wake-up or the poll interval when there is nothing to do.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::send::send_batch;
use super::{SyncSettings, SyncWake};
use crate::salesforce::SalesforceClient;
use crate::store::{Store, StoreError};

/// How long a worker pauses after the database failed, before trying again.
const STORE_ERROR_PAUSE: Duration = Duration::from_secs(2);

pub struct Worker {
    number: usize,
    store: Store,
    salesforce: Arc<SalesforceClient>,
    settings: SyncSettings,
    wake: SyncWake,
}

impl Worker {
    pub fn new(
        number: usize,
        store: Store,
        salesforce: Arc<SalesforceClient>,
        settings: SyncSettings,
        wake: SyncWake,
    ) -> Worker {
        Worker {
            number,
            store,
            salesforce,
            settings,
            wake,
        }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        tracing::debug!(worker = self.number, "sync worker started");
        while !shutdown.is_cancelled() {
            match self.tick().await {
                Ok(0) => self.idle(&shutdown, self.settings.poll_interval).await,
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(worker = self.number, %error, "sync worker cannot use the database");
                    self.idle(&shutdown, STORE_ERROR_PAUSE).await;
                }
            }
        }
        tracing::debug!(worker = self.number, "sync worker stopped");
    }

    /// One round; returns how many rows it handled.
    pub async fn tick(&self) -> Result<usize, StoreError> {
        let released = self.store.release_expired_leases().await?;
        if released > 0 {
            tracing::warn!(
                rows = released,
                "claims of a stopped worker ran out; rows are pending again"
            );
        }
        let rows = self
            .store
            .claim_batch(self.settings.batch_size as i64, self.settings.lease)
            .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let count = rows.len();
        let outcomes = send_batch(&self.salesforce, &self.settings, rows).await;
        self.store.record_outcomes(&outcomes).await?;
        Ok(count)
    }

    async fn idle(&self, shutdown: &CancellationToken, limit: Duration) {
        tokio::select! {
            _ = self.wake.notified() => {}
            _ = tokio::time::sleep(limit) => {}
            _ = shutdown.cancelled() => {}
        }
    }
}
