//! Reading the sync log back, for the CLI and the demo.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

use super::{Store, StoreError};

/// Which rows to list (or to retry or ignore). Conditions left `None` match every row.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// sync_log row ids.
    pub ids: Option<Vec<i64>>,
    pub event_ids: Option<Vec<i64>>,
    pub statuses: Option<Vec<String>>,
    pub sobject: Option<String>,
    pub subject: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub limit: i64,
    /// Take the newest `limit` rows instead of the oldest (they are still listed oldest
    /// first).
    pub latest: bool,
}

/// The conditions of a [`LogFilter`] on `sync_log s`, binds `$1` to `$6`.
macro_rules! log_filter_conditions {
    () => {
        "($1::bigint[] IS NULL OR s.id = ANY($1))
         AND ($2::bigint[] IS NULL OR s.event_id = ANY($2))
         AND ($3::text[] IS NULL OR s.status = ANY($3))
         AND ($4::text IS NULL OR lower(s.sobject) = lower($4))
         AND ($5::text IS NULL OR s.subject = $5)
         AND ($6::timestamptz IS NULL OR s.created_at >= $6)"
    };
}
pub(crate) use log_filter_conditions;

impl LogFilter {
    /// Binds the filter's conditions, in the order `log_filter_conditions!` expects.
    pub(crate) fn bind<'q, O>(
        &'q self,
        query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
        query
            .bind(self.ids.as_deref())
            .bind(self.event_ids.as_deref())
            .bind(self.statuses.as_deref())
            .bind(self.sobject.as_deref())
            .bind(self.subject.as_deref())
            .bind(self.since)
    }

    /// Whether the filter says anything at all; retry and ignore refuse an empty one.
    pub fn is_empty(&self) -> bool {
        self.ids.is_none()
            && self.event_ids.is_none()
            && self.statuses.is_none()
            && self.sobject.is_none()
            && self.subject.is_none()
            && self.since.is_none()
    }
}

/// One sync_log row with the event fields people ask about.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct SyncLogEntry {
    pub id: i64,
    pub event_id: i64,
    pub event_kind: String,
    pub mapping: String,
    pub rule: String,
    pub step: i32,
    pub subject: Option<String>,
    pub operation: String,
    pub sobject: String,
    pub external_id_field: String,
    pub external_id: String,
    pub record: Json<Value>,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub salesforce_id: Option<String>,
    pub created_in_salesforce: Option<bool>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub error_fields: Option<Vec<String>>,
    pub claimed_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An inbound_event row without its body.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct EventSummary {
    pub id: i64,
    pub kind: String,
    pub transaction_id: Option<String>,
    pub subject: Option<String>,
    pub status: String,
    pub error: Option<String>,
    pub received_at: DateTime<Utc>,
}

impl Store {
    /// Rows matching the filter, oldest first, at most `filter.limit` (the oldest ones, or
    /// the newest with `filter.latest`).
    pub async fn sync_log(&self, filter: &LogFilter) -> Result<Vec<SyncLogEntry>, StoreError> {
        const QUERY: &str = concat!(
            "SELECT * FROM (
                 SELECT s.id, s.event_id, e.kind AS event_kind, s.mapping, s.rule, s.step,
                        s.subject, s.operation, s.sobject, s.external_id_field, s.external_id,
                        s.record, s.status, s.attempts, s.next_attempt_at, s.salesforce_id,
                        s.created_in_salesforce, s.error_code, s.error_message, s.error_fields,
                        s.claimed_by, s.created_at, s.updated_at
                 FROM sync_log s JOIN inbound_event e ON e.id = s.event_id
                 WHERE ",
            log_filter_conditions!(),
            " ORDER BY CASE WHEN $8 THEN -s.id ELSE s.id END
                 LIMIT $7) page
             ORDER BY id"
        );
        let rows = filter
            .bind(sqlx::query_as(QUERY))
            .bind(filter.limit)
            .bind(filter.latest)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows)
    }

    /// Events by id, oldest first.
    pub async fn events(&self, ids: &[i64]) -> Result<Vec<EventSummary>, StoreError> {
        let rows = sqlx::query_as(
            "SELECT id, kind, transaction_id, subject, status, error, received_at
             FROM inbound_event WHERE id = ANY($1) ORDER BY id",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }

    /// The id of the event stored under a dedupe key.
    pub async fn event_id_by_dedupe_key(
        &self,
        dedupe_key: &str,
    ) -> Result<Option<i64>, StoreError> {
        let id = sqlx::query_scalar("SELECT id FROM inbound_event WHERE dedupe_key = $1")
            .bind(dedupe_key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(id)
    }

    /// How many rows of these events are still waiting to be sent or in flight.
    pub async fn open_rows(&self, event_ids: &[i64]) -> Result<i64, StoreError> {
        let count = sqlx::query_scalar(
            "SELECT count(*) FROM sync_log
             WHERE event_id = ANY($1) AND status IN ('pending', 'in_flight')",
        )
        .bind(event_ids)
        .fetch_one(&self.pool)
        .await?;
        Ok(count)
    }
}
