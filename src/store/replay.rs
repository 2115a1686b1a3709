//! Planning a stored event again, after a mapping was fixed.
//!
//! The event's old rows that did not succeed (pending, failed, dead, skipped) are set aside as
//! `ignored` with the code REPLANNED, and the new plan's rows are added after them. Rows that
//! succeeded stay as the history of what reached Salesforce. An event with rows in flight is
//! not replanned: a worker may be sending them right now. Nor, unless forced, is an event
//! whose records later events have written since: its new rows would be sent after theirs and
//! put the older state back in Salesforce.

use chrono::{DateTime, Utc};

use super::events::{insert_sync_rows, lock_subject};
use super::{EventStatus, Store, StoreError};
use crate::mapping::{Plan, PlannedUpsert};

/// A stored event, as replay needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredForward {
    pub id: i64,
    pub kind: String,
    pub body_raw: Vec<u8>,
    pub status: String,
    pub received_at: DateTime<Utc>,
}

/// Which events a replay of many plans again.
#[derive(Debug, Clone)]
pub struct ReplaySelection {
    /// Event statuses, such as `unmapped` or `plan_failed`.
    pub statuses: Vec<String>,
    /// Only events received since then.
    pub since: Option<DateTime<Utc>>,
    pub limit: i64,
}

/// The new plan of an event, ready to store.
#[derive(Debug)]
pub struct Replan<'a> {
    pub event_id: i64,
    pub status: EventStatus,
    pub subject: Option<&'a str>,
    pub error: Option<&'a str>,
    pub mapping_version: &'a str,
    pub plan: Option<&'a Plan>,
    /// Replan even when later events have written the same records.
    pub force: bool,
}

/// What replay changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replanned {
    pub previous_status: String,
    pub ignored_rows: Vec<i64>,
    pub added_rows: Vec<i64>,
}

/// Why an event cannot be replanned.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("event {0} does not exist")]
    NoSuchEvent(i64),
    #[error("event {event_id} has rows in flight ({rows:?}); try again once they are recorded")]
    InFlight { event_id: i64, rows: Vec<i64> },
    #[error(
        "event {event_id} is older than rows {rows:?}, which later events planned for the \
         same records; its new rows would be sent after them and overwrite the newer data. \
         Add --force to replay it anyway"
    )]
    LaterWrites { event_id: i64, rows: Vec<i64> },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ReplayError {
    fn from(error: sqlx::Error) -> Self {
        ReplayError::Store(error.into())
    }
}

impl Store {
    pub async fn stored_forward(&self, event_id: i64) -> Result<Option<StoredForward>, StoreError> {
        let event = sqlx::query_as(
            "SELECT id, kind, body_raw, status, received_at FROM inbound_event WHERE id = $1",
        )
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(event)
    }

    /// The ids of the events a selection covers, oldest first, so that a subject's events are
    /// planned again in the order they arrived.
    pub async fn events_to_replay(
        &self,
        selection: &ReplaySelection,
    ) -> Result<Vec<i64>, StoreError> {
        let ids = sqlx::query_scalar(
            "SELECT id FROM inbound_event
             WHERE status = ANY($1) AND ($2::timestamptz IS NULL OR received_at >= $2)
             ORDER BY id LIMIT $3",
        )
        .bind(&selection.statuses)
        .bind(selection.since)
        .bind(selection.limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids)
    }

    /// Replaces an event's unsucceeded rows with a new plan, in one transaction.
    pub async fn replan(&self, replan: &Replan<'_>) -> Result<Replanned, ReplayError> {
        let mut tx = self.pool.begin().await?;
        let previous_status: Option<String> =
            sqlx::query_scalar("SELECT status FROM inbound_event WHERE id = $1 FOR UPDATE")
                .bind(replan.event_id)
                .fetch_optional(&mut *tx)
                .await?;
        let previous_status = previous_status.ok_or(ReplayError::NoSuchEvent(replan.event_id))?;
        if let Some(subject) = replan.subject {
            lock_subject(&mut tx, subject).await?;
        }
        refuse_in_flight(&mut tx, replan.event_id).await?;
        if let Some(plan) = replan.plan.filter(|_| !replan.force) {
            refuse_later_writes(&mut tx, replan.event_id, &plan.upserts).await?;
        }
        let ignored_rows = ignore_open_rows(&mut tx, replan.event_id).await?;
        let added_rows = add_rows(&mut tx, replan).await?;
        update_event(&mut tx, replan).await?;
        tx.commit().await?;
        Ok(Replanned {
            previous_status,
            ignored_rows,
            added_rows,
        })
    }

    /// Rows of later events that write one of these records and have not been set aside,
    /// for a dry run to warn about.
    pub async fn later_writes(
        &self,
        event_id: i64,
        upserts: &[PlannedUpsert],
    ) -> Result<Vec<i64>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        Ok(later_writes(&mut connection, event_id, upserts).await?)
    }
}

/// Rows of events after `event_id` that are pending, in flight or succeeded for a record one
/// of `upserts` writes: the intake's subject lock (held by `replan`) keeps new ones from
/// appearing while the replan is decided.
async fn later_writes(
    connection: &mut sqlx::PgConnection,
    event_id: i64,
    upserts: &[PlannedUpsert],
) -> Result<Vec<i64>, sqlx::Error> {
    let sobjects: Vec<&str> = upserts.iter().map(|u| u.sobject.as_str()).collect();
    let fields: Vec<&str> = upserts
        .iter()
        .map(|u| u.external_id_field.as_str())
        .collect();
    let ids: Vec<&str> = upserts.iter().map(|u| u.external_id.as_str()).collect();
    sqlx::query_scalar(
        "SELECT DISTINCT s.id FROM sync_log s
         JOIN UNNEST($2::text[], $3::text[], $4::text[]) AS r(sobject, field, external_id)
           ON s.sobject = r.sobject AND s.external_id_field = r.field
          AND s.external_id = r.external_id
         WHERE s.event_id > $1 AND s.status IN ('pending', 'in_flight', 'succeeded')
         ORDER BY s.id",
    )
    .bind(event_id)
    .bind(sobjects)
    .bind(fields)
    .bind(ids)
    .fetch_all(connection)
    .await
}

async fn refuse_later_writes(
    tx: &mut sqlx::PgConnection,
    event_id: i64,
    upserts: &[PlannedUpsert],
) -> Result<(), ReplayError> {
    let rows = later_writes(tx, event_id, upserts).await?;
    if rows.is_empty() {
        Ok(())
    } else {
        Err(ReplayError::LaterWrites { event_id, rows })
    }
}

async fn refuse_in_flight(tx: &mut sqlx::PgConnection, event_id: i64) -> Result<(), ReplayError> {
    let rows: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM sync_log WHERE event_id = $1 AND status = 'in_flight' ORDER BY id",
    )
    .bind(event_id)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        Ok(())
    } else {
        Err(ReplayError::InFlight { event_id, rows })
    }
}

async fn ignore_open_rows(
    tx: &mut sqlx::PgConnection,
    event_id: i64,
) -> Result<Vec<i64>, ReplayError> {
    let mut ids: Vec<i64> = sqlx::query_scalar(
        "UPDATE sync_log SET status = 'ignored', error_code = 'REPLANNED',
             error_message = 'set aside when the event was planned again', updated_at = now()
         WHERE event_id = $1 AND status IN ('pending', 'failed', 'dead', 'skipped')
         RETURNING id",
    )
    .bind(event_id)
    .fetch_all(&mut *tx)
    .await?;
    ids.sort_unstable();
    Ok(ids)
}

async fn add_rows(
    tx: &mut sqlx::PgConnection,
    replan: &Replan<'_>,
) -> Result<Vec<i64>, ReplayError> {
    let Some(plan) = replan.plan.filter(|plan| !plan.upserts.is_empty()) else {
        return Ok(Vec::new());
    };
    let first_step: i32 =
        sqlx::query_scalar("SELECT COALESCE(max(step) + 1, 0) FROM sync_log WHERE event_id = $1")
            .bind(replan.event_id)
            .fetch_one(&mut *tx)
            .await?;
    insert_sync_rows(
        tx,
        replan.event_id,
        replan.subject,
        replan.mapping_version,
        &plan.upserts,
        first_step,
    )
    .await?;
    let ids = sqlx::query_scalar(
        "SELECT id FROM sync_log WHERE event_id = $1 AND step >= $2 ORDER BY id",
    )
    .bind(replan.event_id)
    .bind(first_step)
    .fetch_all(&mut *tx)
    .await?;
    Ok(ids)
}

async fn update_event(tx: &mut sqlx::PgConnection, replan: &Replan<'_>) -> Result<(), ReplayError> {
    sqlx::query(
        "UPDATE inbound_event SET status = $2, subject = $3, error = $4, mapping_version = $5
         WHERE id = $1",
    )
    .bind(replan.event_id)
    .bind(replan.status.as_str())
    .bind(replan.subject)
    .bind(replan.error)
    .bind(replan.mapping_version)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
