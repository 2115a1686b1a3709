//! What operators do to rows that did not make it: send them again (`retry`) or set them
//! aside (`ignore`).
//!
//! A retried row goes back to `pending` with its attempts and retry age reset. It keeps its
//! place in its subject's order: rows of the subject planned after it wait until it is done.
//! A row whose record has a newer succeeded row would, once sent, overwrite that newer data,
//! so such rows are held back unless the operator insists. Rows that were not sent because
//! of the row (steps of the same event that depend on it) go back with it.

use super::log_view::{LogFilter, log_filter_conditions};
use super::{Store, StoreError};

/// What `retry` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RetryReport {
    /// Rows sent back to pending (dependent steps included).
    pub requeued: Vec<i64>,
    /// Rows left as they were because a newer row of the same record succeeded, with the
    /// id of that newer row.
    pub held_back: Vec<(i64, i64)>,
    /// Rows that were never sent because a step they depend on failed, and that stay as
    /// they are because that step was not retried: they could never be sent before it.
    pub waiting_for_their_step: Vec<i64>,
}

/// What `ignore` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct IgnoreReport {
    /// Rows set to `ignored` (pending dependent steps included).
    pub ignored: Vec<i64>,
}

/// Rows that may be retried: the filter's rows that ended failed or dead, each with the id of
/// a newer succeeded row of the same record, if there is one.
const RETRY_CANDIDATES: &str = concat!(
    "SELECT s.id, (SELECT max(n.id) FROM sync_log n
                   WHERE n.sobject = s.sobject AND n.external_id_field = s.external_id_field
                     AND n.external_id = s.external_id AND n.id > s.id
                     AND n.status = 'succeeded') AS newer,
            s.error_code IN ('DEPENDENCY_FAILED', 'DEPENDENCY_SKIPPED') AS dependent
     FROM sync_log s
     WHERE s.status IN ('failed', 'dead') AND ",
    log_filter_conditions!(),
    " ORDER BY s.id LIMIT $7 FOR UPDATE OF s"
);

/// Steps of the same events that depend on one of `$1`, and the steps that depend on those,
/// and so on; only those in a status of `$2` and, when `$3` is given, with an error code of
/// `$3`.
const DEPENDENT_STEPS: &str = "
    WITH RECURSIVE dependent AS (
        SELECT d.id, d.event_id, d.step FROM sync_log d
        JOIN sync_log p ON p.event_id = d.event_id AND d.depends_on_step = p.step
        WHERE p.id = ANY($1) AND d.status = ANY($2)
          AND ($3::text[] IS NULL OR d.error_code = ANY($3))
        UNION
        SELECT d.id, d.event_id, d.step FROM sync_log d
        JOIN dependent p ON p.event_id = d.event_id AND d.depends_on_step = p.step
        WHERE d.status = ANY($2) AND ($3::text[] IS NULL OR d.error_code = ANY($3)))
    SELECT id FROM dependent";

/// The steps settled because the step they depend on could not be sent.
const NOT_SENT_BECAUSE_OF_A_STEP: DependentSteps<'static> = DependentSteps {
    statuses: &["failed", "skipped"],
    codes: Some(&["DEPENDENCY_FAILED", "DEPENDENCY_SKIPPED"]),
};
/// The steps still waiting for the step they depend on.
const WAITING_FOR_A_STEP: DependentSteps<'static> = DependentSteps {
    statuses: &["pending"],
    codes: None,
};

struct DependentSteps<'a> {
    statuses: &'a [&'a str],
    codes: Option<&'a [&'a str]>,
}

impl Store {
    /// Sends failed and dead rows matching the filter back to pending. Without `force`, rows
    /// whose record has a newer succeeded row are held back.
    pub async fn retry_rows(
        &self,
        filter: &LogFilter,
        force: bool,
    ) -> Result<RetryReport, StoreError> {
        let mut tx = self.pool.begin().await?;
        let candidates: Vec<(i64, Option<i64>, Option<bool>)> = filter
            .bind(sqlx::query_as(RETRY_CANDIDATES))
            .bind(filter.limit)
            .fetch_all(&mut *tx)
            .await?;
        let mut report = RetryReport::default();
        let mut dependent = Vec::new();
        for (id, newer, waits_for_a_step) in candidates {
            match newer {
                _ if waits_for_a_step == Some(true) => dependent.push(id),
                Some(newer) if !force => report.held_back.push((id, newer)),
                _ => report.requeued.push(id),
            }
        }
        let mut dependents = dependent_steps(&mut tx, &report.requeued, NOT_SENT_BECAUSE_OF_A_STEP)
            .await?
            .into_iter()
            .filter(|id| !report.requeued.contains(id))
            .collect();
        report.requeued.append(&mut dependents);
        report.requeued.sort_unstable();
        report.waiting_for_their_step = dependent
            .into_iter()
            .filter(|id| report.requeued.binary_search(id).is_err())
            .collect();
        requeue(&mut tx, &report.requeued).await?;
        tx.commit().await?;
        Ok(report)
    }

    /// Sets rows matching the filter aside: failed, dead and pending ones (a row being sent
    /// right now is left alone). Pending steps that depend on them go with them, since they
    /// could never be sent.
    pub async fn ignore_rows(&self, filter: &LogFilter) -> Result<IgnoreReport, StoreError> {
        const CANDIDATES: &str = concat!(
            "SELECT s.id FROM sync_log s
             WHERE s.status IN ('failed', 'dead', 'pending') AND ",
            log_filter_conditions!(),
            " ORDER BY s.id LIMIT $7 FOR UPDATE OF s SKIP LOCKED"
        );
        let mut tx = self.pool.begin().await?;
        let mut ignored: Vec<i64> = filter
            .bind(sqlx::query_as::<_, (i64,)>(CANDIDATES))
            .bind(filter.limit)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|(id,)| id)
            .collect();
        let mut dependents = dependent_steps(&mut tx, &ignored, WAITING_FOR_A_STEP)
            .await?
            .into_iter()
            .filter(|id| !ignored.contains(id))
            .collect();
        ignored.append(&mut dependents);
        ignored.sort_unstable();
        sqlx::query(
            "UPDATE sync_log SET status = 'ignored', updated_at = now()
             WHERE id = ANY($1) AND status IN ('failed', 'dead', 'pending')",
        )
        .bind(&ignored)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(IgnoreReport { ignored })
    }
}

async fn dependent_steps(
    tx: &mut sqlx::PgConnection,
    parents: &[i64],
    which: DependentSteps<'_>,
) -> Result<Vec<i64>, StoreError> {
    if parents.is_empty() {
        return Ok(Vec::new());
    }
    let ids = sqlx::query_scalar(DEPENDENT_STEPS)
        .bind(parents)
        .bind(which.statuses)
        .bind(which.codes)
        .fetch_all(&mut *tx)
        .await?;
    Ok(ids)
}

async fn requeue(tx: &mut sqlx::PgConnection, ids: &[i64]) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE sync_log SET status = 'pending', attempts = 0, next_attempt_at = now(),
             requeued_at = now(), lease_token = NULL, lease_expires_at = NULL,
             updated_at = now()
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
