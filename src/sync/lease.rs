//! Keeping a claim alive while its batch is being sent.
//!
//! Another process takes a row over once its lease has run out. If this worker were still
//! sending it then, Salesforce could receive the row twice, and worse, an older change of a
//! subscriber after a newer one. So before every request the worker makes sure its lease
//! outlasts that request, and sends nothing once the lease is lost.

use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::store::Store;

/// Room left beyond the request timeout, for the clock and the database round trip.
const MARGIN: Duration = Duration::from_secs(2);

/// The claim of one batch.
pub struct Lease {
    store: Store,
    token: Uuid,
    length: Duration,
    /// Rows claimed under this lease.
    rows: usize,
    /// When the lease ends at the latest, by this process's clock (taken before the claim
    /// was made, so it errs early).
    ends: Instant,
}

/// The rows of this claim are no longer (all) ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseLost;

impl Lease {
    pub fn new(store: Store, length: Duration) -> Lease {
        Lease {
            store,
            token: Uuid::new_v4(),
            length,
            rows: 0,
            ends: Instant::now() + length,
        }
    }

    pub fn token(&self) -> Uuid {
        self.token
    }

    pub fn length(&self) -> Duration {
        self.length
    }

    /// Counts rows claimed under this lease.
    pub fn hold(&mut self, rows: usize) {
        self.rows += rows;
    }

    /// Makes sure the lease lasts through a request that may take up to `request_time`,
    /// extending it when needed.
    pub async fn cover(&mut self, request_time: Duration) -> Result<(), LeaseLost> {
        let rows = self.rows;
        let needed = request_time + MARGIN;
        if self.ends.saturating_duration_since(Instant::now()) >= needed {
            return Ok(());
        }
        let asked_at = Instant::now();
        match self.store.extend_lease(self.token, self.length).await {
            Ok(held) if held as usize >= rows => {
                self.ends = asked_at + self.length;
                Ok(())
            }
            Ok(held) => {
                tracing::warn!(held, rows, "lease lost; the rest of the batch is not sent");
                Err(LeaseLost)
            }
            Err(error) => {
                tracing::warn!(
                    %error,
                    "cannot extend the lease; the rest of the batch is not sent"
                );
                Err(LeaseLost)
            }
        }
    }
}
