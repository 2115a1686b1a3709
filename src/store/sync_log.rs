//! Claiming sync_log rows for sending and recording what Salesforce answered.
//!
//! This is where "several processes never send the same row at the same time" is kept.
//! Claims use `FOR UPDATE SKIP LOCKED` plus a lease: the row lock keeps two workers (in this
//! process or in another replica) from claiming the same row at the same moment, and the
//! status check is evaluated again on the locked row version, so a row another claim has
//! just committed as `in_flight` is never taken a second time. The lease (`lease_token`,
//! `lease_expires_at`) lets a row claimed by a process that died be claimed again once the
//! lease has run out; a worker extends its lease before every request it sends, and sends
//! nothing once the lease is lost. Outcomes are written only while the writer still holds
//! the lease, so a worker that lost its lease cannot overwrite a newer attempt.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::types::Json;
use uuid::Uuid;

use super::{Store, StoreError};

/// The status column of sync_log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowStatus {
    Pending,
    InFlight,
    Succeeded,
    Failed,
    Dead,
    Skipped,
    Ignored,
}

impl RowStatus {
    pub const ALL: [RowStatus; 7] = [
        RowStatus::Pending,
        RowStatus::InFlight,
        RowStatus::Succeeded,
        RowStatus::Failed,
        RowStatus::Dead,
        RowStatus::Skipped,
        RowStatus::Ignored,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Pending => "pending",
            RowStatus::InFlight => "in_flight",
            RowStatus::Succeeded => "succeeded",
            RowStatus::Failed => "failed",
            RowStatus::Dead => "dead",
            RowStatus::Skipped => "skipped",
            RowStatus::Ignored => "ignored",
        }
    }

    pub fn parse(text: &str) -> Option<RowStatus> {
        RowStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }
}

/// A row a worker has claimed and must send.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedRow {
    pub id: i64,
    pub event_id: i64,
    pub step: i32,
    pub operation: String,
    pub sobject: String,
    pub external_id_field: String,
    pub external_id: String,
    pub record: Json<Map<String, Value>>,
    pub create_only: Json<Map<String, Value>>,
    pub attempts: i32,
    /// Since when transient failures count towards the retry age: the row's planning, or
    /// the last time an operator sent it back.
    pub retry_since: DateTime<Utc>,
    /// Set when an earlier attempt created the record but could not finish the row.
    pub created_in_salesforce: Option<bool>,
    pub salesforce_id: Option<String>,
    pub lease_token: Uuid,
}

/// The rows one request can carry: one object, one external-id field, one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchGroup {
    pub sobject: String,
    pub external_id_field: String,
    pub operation: String,
}

impl ClaimedRow {
    pub fn group(&self) -> BatchGroup {
        BatchGroup {
            sobject: self.sobject.clone(),
            external_id_field: self.external_id_field.clone(),
            operation: self.operation.clone(),
        }
    }
}

/// What to claim.
#[derive(Debug, Clone)]
pub struct Claim<'a> {
    pub limit: i64,
    pub lease: Duration,
    /// The lease token; a batch claimed in several steps uses one token throughout.
    pub token: Uuid,
    /// Only rows of this group; `None` takes the group of the oldest claimable row.
    pub group: Option<&'a BatchGroup>,
    /// Recorded in `claimed_by`.
    pub claimed_by: &'a str,
}

/// What happened to a claimed row.
#[derive(Debug, Clone, PartialEq)]
pub enum RowOutcome {
    Succeeded {
        salesforce_id: String,
        created: bool,
    },
    /// Salesforce refused the record; sending it again would fail the same way.
    Failed(ErrorDetail),
    /// A passing failure; send again at `at`. `created_id` is the record this attempt
    /// created before it failed, so that the next attempt still sends the create-only fields.
    Retry {
        at: DateTime<Utc>,
        error: ErrorDetail,
        created_id: Option<String>,
    },
    /// Failed transiently for longer than the retry age.
    Dead(ErrorDetail),
    /// An update-only step found no record to update.
    Skipped(ErrorDetail),
    /// Not sent (a duplicate within a batch, or shutdown): back to pending, no attempt counted.
    Released,
}

/// The error stored on a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorDetail {
    pub code: String,
    pub message: String,
    pub fields: Vec<String>,
}

impl ErrorDetail {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> ErrorDetail {
        ErrorDetail {
            code: code.into(),
            message: message.into(),
            fields: Vec::new(),
        }
    }

    fn none() -> ErrorDetail {
        ErrorDetail::new("", "")
    }
}

/// The conditions under which a pending row may be sent now: its time has come, no earlier
/// row of its subject is still open, and the step it refers to (if any) has succeeded.
/// A macro so that the claim query can be one string literal.
///
/// The step's status is read by a scalar subquery on `sync_log_step_key` rather than an
/// `EXISTS`: Postgres may turn an `OR EXISTS` into a hashed subplan, which reads every
/// succeeded row of the table on each claim, so that claims slowed as the log grew.
macro_rules! claimable {
    () => {
        "
    s.status = 'pending'
    AND s.next_attempt_at <= now()
    AND NOT EXISTS (
        SELECT 1 FROM sync_log e
        WHERE e.subject = s.subject AND e.id < s.id AND e.status IN ('pending', 'in_flight'))
    AND (s.depends_on_step IS NULL OR (
        SELECT d.status FROM sync_log d
        WHERE d.event_id = s.event_id AND d.step = s.depends_on_step) = 'succeeded')"
    };
}

impl Store {
    /// Claims up to `claim.limit` rows that go to Salesforce in one request: rows of the
    /// given group, or else of the group of the oldest claimable row.
    pub async fn claim_batch(&self, claim: &Claim<'_>) -> Result<Vec<ClaimedRow>, StoreError> {
        const CLAIM: &str = concat!(
            "WITH first_row AS (
                 (SELECT s.sobject, s.external_id_field, s.operation FROM sync_log s
                  WHERE $4::text IS NULL AND ",
            claimable!(),
            " ORDER BY s.id LIMIT 1)
                 UNION ALL
                 SELECT $4::text, $5::text, $6::text WHERE $4::text IS NOT NULL),
             claimed AS (
                 SELECT s.id FROM sync_log s, first_row f
                 WHERE s.sobject = f.sobject AND s.external_id_field = f.external_id_field
                   AND s.operation = f.operation AND ",
            claimable!(),
            " ORDER BY s.id LIMIT $1
                 FOR UPDATE OF s SKIP LOCKED)
             UPDATE sync_log u
             SET status = 'in_flight', lease_token = $2, claimed_by = $7,
                 lease_expires_at = now() + make_interval(secs => $3), updated_at = now()
             FROM claimed c WHERE u.id = c.id
             RETURNING u.id, u.event_id, u.step, u.operation, u.sobject, u.external_id_field,
                       u.external_id, u.record, u.create_only, u.attempts,
                       COALESCE(u.requeued_at, u.created_at) AS retry_since,
                       u.created_in_salesforce, u.salesforce_id, u.lease_token"
        );
        let group = claim.group;
        let mut rows: Vec<ClaimedRow> = sqlx::query_as(CLAIM)
            .bind(claim.limit)
            .bind(claim.token)
            .bind(claim.lease.as_secs_f64())
            .bind(group.map(|g| g.sobject.as_str()))
            .bind(group.map(|g| g.external_id_field.as_str()))
            .bind(group.map(|g| g.operation.as_str()))
            .bind(claim.claimed_by)
            .fetch_all(&self.pool)
            .await?;
        rows.sort_by_key(|row| row.id);
        Ok(rows)
    }

    /// Pushes the end of a claim further out; returns how many rows the claim still holds.
    pub async fn extend_lease(&self, token: Uuid, lease: Duration) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE sync_log SET lease_expires_at = now() + make_interval(secs => $2)
             WHERE lease_token = $1 AND status = 'in_flight'",
        )
        .bind(token)
        .bind(lease.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// Puts rows whose lease ran out (their worker died or hung) back to pending.
    pub async fn release_expired_leases(&self) -> Result<u64, StoreError> {
        let result = sqlx::query(
            "UPDATE sync_log SET status = 'pending', lease_token = NULL, lease_expires_at = NULL,
                 updated_at = now()
             WHERE status = 'in_flight' AND lease_expires_at < now()",
        )
        .execute(&self.pool)
        .await?;
        Ok(result.rows_affected())
    }

    /// Records the outcome of each row, then settles rows that depended on failed ones.
    pub async fn record_outcomes(
        &self,
        outcomes: &[(ClaimedRow, RowOutcome)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        update_rows(&mut tx, outcomes).await?;
        for (row, outcome) in outcomes {
            if let Some((status, code)) = dependents_fate(outcome) {
                settle_dependents(&mut tx, row, status, code).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}

/// One row's new column values, in the shape the bulk update takes.
struct OutcomeColumns {
    status: &'static str,
    /// Whether this was a real attempt (counted, and stamped in last_attempt_at).
    counted: bool,
    next_attempt_at: Option<DateTime<Utc>>,
    salesforce_id: Option<String>,
    created: Option<bool>,
    error: Option<ErrorDetail>,
    /// Keep the previous attempt's error (a released row was not attempted).
    keep_error: bool,
}

impl OutcomeColumns {
    fn of(outcome: &RowOutcome) -> OutcomeColumns {
        let base = |status, error: &ErrorDetail| OutcomeColumns {
            status,
            counted: true,
            next_attempt_at: None,
            salesforce_id: None,
            created: None,
            error: Some(error.clone()),
            keep_error: false,
        };
        match outcome {
            RowOutcome::Succeeded {
                salesforce_id,
                created,
            } => OutcomeColumns {
                salesforce_id: Some(salesforce_id.clone()),
                created: Some(*created),
                error: None,
                ..base("succeeded", &ErrorDetail::none())
            },
            RowOutcome::Retry {
                at,
                error,
                created_id,
            } => OutcomeColumns {
                next_attempt_at: Some(*at),
                salesforce_id: created_id.clone(),
                created: created_id.as_ref().map(|_| true),
                ..base("pending", error)
            },
            RowOutcome::Failed(error) => base("failed", error),
            RowOutcome::Dead(error) => base("dead", error),
            RowOutcome::Skipped(error) => base("skipped", error),
            RowOutcome::Released => OutcomeColumns {
                counted: false,
                error: None,
                keep_error: true,
                ..base("pending", &ErrorDetail::none())
            },
        }
    }
}

/// All outcomes of a batch in one statement; rows whose lease this worker no longer holds
/// are left alone.
async fn update_rows(
    tx: &mut sqlx::PgConnection,
    outcomes: &[(ClaimedRow, RowOutcome)],
) -> Result<(), StoreError> {
    let columns: Vec<OutcomeColumns> = outcomes
        .iter()
        .map(|(_, o)| OutcomeColumns::of(o))
        .collect();
    bind_outcomes(sqlx::query(UPDATE_OUTCOMES), outcomes, &columns)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

const UPDATE_OUTCOMES: &str = "
    UPDATE sync_log s SET
        status = o.status,
        attempts = s.attempts + o.counted::int,
        next_attempt_at = COALESCE(o.next_attempt_at, s.next_attempt_at),
        salesforce_id = COALESCE(o.salesforce_id, s.salesforce_id),
        created_in_salesforce = COALESCE(o.created, s.created_in_salesforce),
        error_code = CASE WHEN o.keep_error THEN s.error_code ELSE o.error_code END,
        error_message = CASE WHEN o.keep_error THEN s.error_message ELSE o.error_message END,
        error_fields = CASE WHEN o.keep_error THEN s.error_fields
                            WHEN o.error_fields IS NULL THEN NULL
                            ELSE ARRAY(SELECT jsonb_array_elements_text(o.error_fields)) END,
        last_attempt_at = CASE WHEN o.counted THEN now() ELSE s.last_attempt_at END,
        lease_token = NULL, lease_expires_at = NULL, updated_at = now()
    FROM UNNEST($1::bigint[], $2::uuid[], $3::text[], $4::bool[], $5::timestamptz[],
                $6::text[], $7::bool[], $8::text[], $9::text[], $10::jsonb[], $11::bool[])
         AS o(id, token, status, counted, next_attempt_at, salesforce_id, created,
              error_code, error_message, error_fields, keep_error)
    WHERE s.id = o.id AND s.lease_token = o.token AND s.status = 'in_flight'";

type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// The outcomes as one array per column, in the order `UPDATE_OUTCOMES` reads them.
fn bind_outcomes<'q>(
    query: PgQuery<'q>,
    outcomes: &[(ClaimedRow, RowOutcome)],
    columns: &[OutcomeColumns],
) -> PgQuery<'q> {
    let error = |part: fn(&ErrorDetail) -> String| -> Vec<Option<String>> {
        columns.iter().map(|c| c.error.as_ref().map(part)).collect()
    };
    let fields: Vec<Option<Json<Vec<String>>>> = columns
        .iter()
        .map(|c| c.error.as_ref().map(|e| Json(e.fields.clone())))
        .collect();
    query
        .bind(outcomes.iter().map(|(row, _)| row.id).collect::<Vec<_>>())
        .bind(
            outcomes
                .iter()
                .map(|(row, _)| row.lease_token)
                .collect::<Vec<_>>(),
        )
        .bind(columns.iter().map(|c| c.status).collect::<Vec<_>>())
        .bind(columns.iter().map(|c| c.counted).collect::<Vec<_>>())
        .bind(
            columns
                .iter()
                .map(|c| c.next_attempt_at)
                .collect::<Vec<_>>(),
        )
        .bind(
            columns
                .iter()
                .map(|c| c.salesforce_id.clone())
                .collect::<Vec<_>>(),
        )
        .bind(columns.iter().map(|c| c.created).collect::<Vec<_>>())
        .bind(error(|e| e.code.clone()))
        .bind(error(|e| e.message.clone()))
        .bind(fields)
        .bind(columns.iter().map(|c| c.keep_error).collect::<Vec<_>>())
}

/// What becomes of rows that refer to a row with this outcome.
fn dependents_fate(outcome: &RowOutcome) -> Option<(&'static str, &'static str)> {
    match outcome {
        RowOutcome::Failed(_) | RowOutcome::Dead(_) => Some(("failed", "DEPENDENCY_FAILED")),
        RowOutcome::Skipped(_) => Some(("skipped", "DEPENDENCY_SKIPPED")),
        _ => None,
    }
}

/// Rows that refer (directly or through other rows) to a step that will never succeed can
/// never be sent: settle them now rather than leave them pending forever.
async fn settle_dependents(
    tx: &mut sqlx::PgConnection,
    parent: &ClaimedRow,
    status: &str,
    code: &str,
) -> Result<(), StoreError> {
    let message = format!(
        "not sent: step {} ({} {}={}) of the same event ended {status}",
        parent.step, parent.sobject, parent.external_id_field, parent.external_id
    );
    sqlx::query(
        "WITH RECURSIVE doomed AS (
             SELECT id, event_id, step FROM sync_log
             WHERE event_id = $1 AND depends_on_step = $2 AND status = 'pending'
             UNION
             SELECT s.id, s.event_id, s.step FROM sync_log s
             JOIN doomed d ON s.event_id = d.event_id AND s.depends_on_step = d.step
             WHERE s.status = 'pending')
         UPDATE sync_log SET status = $3, error_code = $4, error_message = $5,
             updated_at = now()
         WHERE id IN (SELECT id FROM doomed)",
    )
    .bind(parent.event_id)
    .bind(parent.step)
    .bind(status)
    .bind(code)
    .bind(message)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
