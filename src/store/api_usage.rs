//! The last API usage reading, kept in Postgres so that `strexforce status` can show it.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, process_name};

/// One reading of `Sforce-Limit-Info`, as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, serde::Serialize)]
pub struct ApiUsageReading {
    pub used: i64,
    pub allocation: i64,
    pub observed_at: DateTime<Utc>,
    /// When Salesforce last refused a call with REQUEST_LIMIT_EXCEEDED.
    pub limit_exceeded_at: Option<DateTime<Utc>>,
    pub observed_by: String,
}

impl ApiUsageReading {
    /// The share of the allocation used, from 0.0 upwards.
    pub fn share(&self) -> f64 {
        if self.allocation <= 0 {
            return 1.0;
        }
        self.used as f64 / self.allocation as f64
    }
}

impl Store {
    /// Replaces the stored reading. `limit_exceeded` stamps `limit_exceeded_at`; otherwise
    /// the previous stamp is kept.
    pub async fn save_api_usage(
        &self,
        used: u64,
        allocation: u64,
        limit_exceeded: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO salesforce_api_usage
                 (used, allocation, observed_at, limit_exceeded_at, observed_by)
             VALUES ($1, $2, now(), CASE WHEN $3 THEN now() END, $4)
             ON CONFLICT (singleton) DO UPDATE SET
                 used = EXCLUDED.used, allocation = EXCLUDED.allocation,
                 observed_at = EXCLUDED.observed_at, observed_by = EXCLUDED.observed_by,
                 limit_exceeded_at = COALESCE(EXCLUDED.limit_exceeded_at,
                                              salesforce_api_usage.limit_exceeded_at)",
        )
        .bind(i64::try_from(used).unwrap_or(i64::MAX))
        .bind(i64::try_from(allocation).unwrap_or(i64::MAX))
        .bind(limit_exceeded)
        .bind(process_name())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The stored reading, if any process has taken one.
    pub async fn api_usage(&self) -> Result<Option<ApiUsageReading>, StoreError> {
        let reading = sqlx::query_as(
            "SELECT used, allocation, observed_at, limit_exceeded_at, observed_by
             FROM salesforce_api_usage",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(reading)
    }
}
