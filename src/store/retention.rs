//! Retention: sync_log rows that ended long ago leave the live table, so that claims and
//! operator queries stay fast.
//!
//! Rows that ended well (`succeeded`, `skipped`, `ignored`) are moved to `sync_log_archive`
//! or deleted once they are older than the retention age, counted from their last change.
//! `failed` and `dead` rows stay until an operator retries or ignores them, and so do
//!
//! - the other rows of an event that still has an open or failed row, because a retried row
//!   waits for the step it depends on to be `succeeded` in the live table;
//! - succeeded rows newer than a failed or dead row of the same record, because `retry`
//!   looks for them to warn that it would overwrite newer data.

use std::str::FromStr;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{Store, StoreError};

/// Rows handled per statement, so that no statement holds many locks for long.
const CHUNK: i64 = 5_000;

/// What happens to rows past the retention age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionMode {
    Archive,
    Delete,
}

impl FromStr for RetentionMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "archive" => Ok(RetentionMode::Archive),
            "delete" => Ok(RetentionMode::Delete),
            other => Err(format!(
                "retention mode must be archive or delete, not {other}"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    pub age: Duration,
    pub mode: RetentionMode,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            age: Duration::from_secs(30 * 24 * 3600),
            mode: RetentionMode::Archive,
        }
    }
}

/// The rows retention may take, oldest first. `$1` is the age in seconds, `$2` the chunk.
macro_rules! expired_rows {
    () => {
        "WITH expired AS (
             SELECT s.id FROM sync_log s
             WHERE s.status IN ('succeeded', 'skipped', 'ignored')
               AND s.updated_at < now() - make_interval(secs => $1)
               AND NOT EXISTS (
                   SELECT 1 FROM sync_log o
                   WHERE o.event_id = s.event_id
                     AND o.status IN ('pending', 'in_flight', 'failed', 'dead'))
               AND NOT EXISTS (
                   SELECT 1 FROM sync_log f
                   WHERE f.status IN ('failed', 'dead') AND f.sobject = s.sobject
                     AND f.external_id_field = s.external_id_field
                     AND f.external_id = s.external_id AND f.id < s.id)
             ORDER BY s.id LIMIT $2
             FOR UPDATE OF s SKIP LOCKED)"
    };
}

/// Every sync_log column, in one order for the archive copy.
macro_rules! columns {
    () => {
        "id, event_id, mapping, rule, step, subject, depends_on_step, operation, sobject,
         external_id_field, external_id, record, create_only, mapping_version, status,
         attempts, next_attempt_at, lease_token, lease_expires_at, salesforce_id,
         created_in_salesforce, error_code, error_message, error_fields, last_attempt_at,
         created_at, updated_at, claimed_by, requeued_at"
    };
}

impl Store {
    /// Applies the policy once; returns how many rows left the live table.
    pub async fn apply_retention(&self, policy: &RetentionPolicy) -> Result<u64, StoreError> {
        const ARCHIVE: &str = concat!(
            expired_rows!(),
            ", moved AS (DELETE FROM sync_log s USING expired e WHERE s.id = e.id
                         RETURNING s.*)
             INSERT INTO sync_log_archive (",
            columns!(),
            ") SELECT ",
            columns!(),
            " FROM moved"
        );
        const DELETE: &str = concat!(
            expired_rows!(),
            " DELETE FROM sync_log s USING expired e WHERE s.id = e.id"
        );
        let statement = match policy.mode {
            RetentionMode::Archive => ARCHIVE,
            RetentionMode::Delete => DELETE,
        };
        let mut total = 0;
        loop {
            let done = sqlx::query(statement)
                .bind(policy.age.as_secs_f64())
                .bind(CHUNK)
                .execute(&self.pool)
                .await?
                .rows_affected();
            total += done;
            if done < CHUNK as u64 {
                return Ok(total);
            }
        }
    }
}

/// Applies the policy every `interval` until shutdown.
pub async fn run_periodically(
    store: Store,
    policy: RetentionPolicy,
    interval: Duration,
    shutdown: CancellationToken,
) {
    loop {
        match store.apply_retention(&policy).await {
            Ok(0) => tracing::debug!("retention: nothing to do"),
            Ok(rows) => tracing::info!(rows, mode = ?policy.mode, "retention applied"),
            Err(error) => tracing::warn!(%error, "retention failed; trying again later"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mode_is_read_without_regard_to_case() {
        assert_eq!("Archive".parse(), Ok(RetentionMode::Archive));
        assert_eq!("delete".parse(), Ok(RetentionMode::Delete));
        assert!("keep".parse::<RetentionMode>().is_err());
    }
}
