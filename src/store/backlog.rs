//! How much work the sync engine has, for `strexforce status`.

use chrono::{DateTime, Utc};

use super::sync_log::RowStatus;
use super::{Store, StoreError};

/// The sync_log at a glance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Backlog {
    /// Rows per status, every status listed (zero included), in the order of [`RowStatus`].
    pub by_status: Vec<(String, i64)>,
    /// Pending rows that failed at least once and wait for their next attempt.
    pub retrying: i64,
    /// When the oldest row still pending or in flight was planned.
    pub oldest_open_at: Option<DateTime<Utc>>,
    /// When the database answered, to measure ages against.
    pub now: DateTime<Utc>,
}

impl Backlog {
    pub fn count(&self, status: RowStatus) -> i64 {
        self.by_status
            .iter()
            .find(|(name, _)| name == status.as_str())
            .map_or(0, |(_, count)| *count)
    }

    /// How long the oldest open row has been waiting.
    pub fn oldest_open_age(&self) -> Option<chrono::Duration> {
        self.oldest_open_at.map(|at| self.now - at)
    }
}

impl Store {
    pub async fn backlog(&self) -> Result<Backlog, StoreError> {
        let counts: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, count(*) FROM sync_log GROUP BY status")
                .fetch_all(&self.pool)
                .await?;
        let (retrying, oldest_open_at, now): (i64, Option<DateTime<Utc>>, DateTime<Utc>) =
            sqlx::query_as(
                "SELECT
                     (SELECT count(*) FROM sync_log WHERE status = 'pending' AND attempts > 0),
                     (SELECT min(created_at) FROM sync_log
                      WHERE status IN ('pending', 'in_flight')),
                     now()",
            )
            .fetch_one(&self.pool)
            .await?;
        let by_status = RowStatus::ALL
            .into_iter()
            .map(|status| {
                let count = counts
                    .iter()
                    .find(|(name, _)| name == status.as_str())
                    .map_or(0, |(_, count)| *count);
                (status.as_str().to_owned(), count)
            })
            .collect();
        Ok(Backlog {
            by_status,
            retrying,
            oldest_open_at,
            now,
        })
    }
}
