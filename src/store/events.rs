//! Writing forwards to `inbound_event`, together with the sync_log rows planned from them.

use std::borrow::Cow;

use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::types::Json;

use super::{Store, StoreError};
use crate::mapping::PlannedUpsert;

/// The outcome of intake recorded on an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventStatus {
    Planned,
    Unmapped,
    PlanFailed,
    Rejected,
    Superseded,
}

impl EventStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Planned => "planned",
            EventStatus::Unmapped => "unmapped",
            EventStatus::PlanFailed => "plan_failed",
            EventStatus::Rejected => "rejected",
            EventStatus::Superseded => "superseded",
        }
    }
}

/// An event about to be stored.
#[derive(Debug)]
pub struct NewEvent<'a> {
    pub kind: &'a str,
    pub dedupe_key: &'a str,
    pub transaction_id: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub body_raw: &'a [u8],
    pub body: Option<&'a Value>,
    pub status: EventStatus,
    pub error: Option<&'a str>,
    pub mapping_version: Option<&'a str>,
    /// For a delivery report: the transaction it reports on, and how far it had come.
    pub delivery: Option<DeliveryRank<'a>>,
}

/// The ranking of a delivery report, compared with the reports stored before it.
#[derive(Debug, Clone, Copy)]
pub struct DeliveryRank<'a> {
    pub key: &'a str,
    pub rank: Option<i16>,
}

/// Whether a store call added a new event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredEvent {
    New {
        event_id: i64,
    },
    /// Stored as `superseded`: a report of a later state of the same transaction was stored
    /// before, so no upserts were planned.
    Superseded {
        event_id: i64,
    },
    /// A forward with the same dedupe key was stored before; nothing was added.
    Duplicate,
}

impl Store {
    /// Stores an event and its planned upserts in one transaction.
    ///
    /// This is the commit behind every 200 answered to Strex: when it returns, the forward and
    /// its sync_log rows are durable.
    ///
    /// Events of one subject are serialised by a transaction-scoped advisory lock taken before
    /// any id is drawn, so their ids (and their rows' ids) follow commit order; the claim
    /// query relies on that to send a subject's rows in order. A delivery report also locks
    /// its transaction, so that two reports of it arriving together are ranked one after the
    /// other.
    pub async fn store_event(
        &self,
        event: &NewEvent<'_>,
        upserts: &[PlannedUpsert],
    ) -> Result<StoredEvent, StoreError> {
        let mut tx = self.pool.begin().await?;
        lock_order_keys(&mut tx, event).await?;
        let superseded = match event.delivery {
            Some(delivery) => is_superseded(&mut tx, delivery).await?,
            None => false,
        };
        let (outcome, upserts) = if superseded {
            ((EventStatus::Superseded, Some(SUPERSEDED_NOTE)), &[][..])
        } else {
            ((event.status, event.error), upserts)
        };
        let Some(event_id) = insert_event(&mut tx, event, outcome, upserts).await? else {
            return Ok(StoredEvent::Duplicate);
        };
        tx.commit().await?;
        Ok(if superseded {
            StoredEvent::Superseded { event_id }
        } else {
            StoredEvent::New { event_id }
        })
    }
}

const SUPERSEDED_NOTE: &str =
    "a report of a later state of this transaction was stored before; nothing was planned";

/// Advisory lock namespaces, so that a subject and a transaction id never share a lock.
const SUBJECT_LOCK: &str = "subject";
const DELIVERY_LOCK: &str = "delivery";

/// Always the subject first, then the transaction: one order for every caller, no deadlock.
/// Both locks are taken by one statement, in array order.
async fn lock_order_keys(
    tx: &mut sqlx::PgConnection,
    event: &NewEvent<'_>,
) -> Result<(), StoreError> {
    let keys: Vec<i64> = [
        event.subject.map(|subject| lock_key(SUBJECT_LOCK, subject)),
        event
            .delivery
            .map(|delivery| lock_key(DELIVERY_LOCK, delivery.key)),
    ]
    .into_iter()
    .flatten()
    .collect();
    if keys.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "SELECT count(pg_advisory_xact_lock(key))
         FROM (SELECT key FROM UNNEST($1::bigint[]) WITH ORDINALITY AS k(key, n) ORDER BY n) keys",
    )
    .bind(keys)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Takes the subject's lock alone, for writers other than intake that add rows to a subject
/// (replay), so that its ids keep following commit order.
pub(super) async fn lock_subject(
    tx: &mut sqlx::PgConnection,
    subject: &str,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(lock_key(SUBJECT_LOCK, subject))
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// The same 64-bit lock key for the same name in every process and every version.
fn lock_key(space: &str, name: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(space)
        .chain_update([0])
        .chain_update(name)
        .finalize();
    let mut key = [0u8; 8];
    key.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(key)
}

/// Whether a report of a later state of the same transaction was stored before. Rejected
/// bodies never count; an unranked report neither supersedes nor is superseded. Asked only
/// once the transaction's lock is held, in a statement of its own, so that a report
/// committed while this one waited for the lock is seen.
async fn is_superseded(
    tx: &mut sqlx::PgConnection,
    delivery: DeliveryRank<'_>,
) -> Result<bool, StoreError> {
    let Some(rank) = delivery.rank else {
        return Ok(false);
    };
    let newer: bool = sqlx::query_scalar(
        "SELECT EXISTS (
             SELECT 1 FROM inbound_event
             WHERE delivery_key = $1 AND delivery_rank > $2 AND status <> 'rejected')",
    )
    .bind(delivery.key)
    .bind(rank)
    .fetch_one(&mut *tx)
    .await?;
    Ok(newer)
}

/// The event and all its rows in a single statement, to keep intake at few round trips.
/// `None` when a forward with the same dedupe key was stored before.
async fn insert_event(
    tx: &mut sqlx::PgConnection,
    event: &NewEvent<'_>,
    (status, error): (EventStatus, Option<&str>),
    upserts: &[PlannedUpsert],
) -> Result<Option<i64>, StoreError> {
    let body = event.body.map(|value| Json(jsonb_safe(value)));
    let rows = RowColumns::of(upserts, 0);
    let id = sqlx::query_scalar(
        "WITH event AS (
             INSERT INTO inbound_event
                 (kind, dedupe_key, transaction_id, subject, body_raw, body, status, error,
                  mapping_version, delivery_key, delivery_rank)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT ON CONSTRAINT inbound_event_dedupe_key_key DO NOTHING
             RETURNING id),
         planned AS (
             INSERT INTO sync_log
                 (event_id, subject, mapping_version, step, mapping, rule, operation, sobject,
                  external_id_field, external_id, depends_on_step, record, create_only)
             SELECT event.id, $4, COALESCE($9, ''), r.* FROM event, UNNEST(
                 $12::int[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[],
                 $18::text[], $19::int[], $20::jsonb[], $21::jsonb[]) AS r)
         SELECT id FROM event",
    )
    .bind(event.kind)
    .bind(event.dedupe_key)
    .bind(event.transaction_id)
    .bind(event.subject)
    .bind(event.body_raw)
    .bind(body)
    .bind(status.as_str())
    .bind(error)
    .bind(event.mapping_version)
    .bind(event.delivery.map(|delivery| delivery.key))
    .bind(event.delivery.and_then(|delivery| delivery.rank))
    .bind(rows.steps)
    .bind(rows.mappings)
    .bind(rows.rules)
    .bind(rows.operations)
    .bind(rows.sobjects)
    .bind(rows.external_id_fields)
    .bind(rows.external_ids)
    .bind(rows.depends_on)
    .bind(rows.records)
    .bind(rows.create_only)
    .fetch_optional(&mut *tx)
    .await?;
    Ok(id)
}

/// Rows added to an event already stored (a replanned event), in one statement. Steps are
/// numbered from `first_step`, after the event's old steps.
pub(super) async fn insert_sync_rows(
    tx: &mut sqlx::PgConnection,
    event_id: i64,
    subject: Option<&str>,
    mapping_version: &str,
    upserts: &[PlannedUpsert],
    first_step: i32,
) -> Result<(), StoreError> {
    let rows = RowColumns::of(upserts, first_step);
    sqlx::query(
        "INSERT INTO sync_log
             (event_id, subject, mapping_version, step, mapping, rule, operation, sobject,
              external_id_field, external_id, depends_on_step, record, create_only)
         SELECT $1, $2, $3, * FROM UNNEST(
             $4::int[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
             $10::text[], $11::int[], $12::jsonb[], $13::jsonb[])",
    )
    .bind(event_id)
    .bind(subject)
    .bind(mapping_version)
    .bind(rows.steps)
    .bind(rows.mappings)
    .bind(rows.rules)
    .bind(rows.operations)
    .bind(rows.sobjects)
    .bind(rows.external_id_fields)
    .bind(rows.external_ids)
    .bind(rows.depends_on)
    .bind(rows.records)
    .bind(rows.create_only)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The planned upserts as one array per sync_log column.
struct RowColumns {
    steps: Vec<i32>,
    mappings: Vec<String>,
    rules: Vec<String>,
    operations: Vec<String>,
    sobjects: Vec<String>,
    external_id_fields: Vec<String>,
    external_ids: Vec<String>,
    depends_on: Vec<Option<i32>>,
    records: Vec<Json<Value>>,
    create_only: Vec<Json<Value>>,
}

impl RowColumns {
    /// Steps are numbered from `first_step`; dependencies follow.
    fn of(upserts: &[PlannedUpsert], first_step: i32) -> RowColumns {
        let column = |f: fn(&PlannedUpsert) -> String| upserts.iter().map(f).collect();
        let json = |map: &serde_json::Map<String, Value>| {
            Json(jsonb_safe(&Value::Object(map.clone())).into_owned())
        };
        RowColumns {
            steps: (0..upserts.len() as i32)
                .map(|step| first_step + step)
                .collect(),
            mappings: column(|u| u.mapping.clone()),
            rules: column(|u| u.rule.clone()),
            operations: column(|u| u.operation.as_str().to_owned()),
            sobjects: column(|u| u.sobject.clone()),
            external_id_fields: column(|u| u.external_id_field.clone()),
            external_ids: column(|u| u.external_id.clone()),
            depends_on: upserts
                .iter()
                .map(|u| u.depends_on.map(|step| first_step + step as i32))
                .collect(),
            records: upserts.iter().map(|u| json(&u.record)).collect(),
            create_only: upserts.iter().map(|u| json(&u.create_only)).collect(),
        }
    }
}

/// jsonb cannot store U+0000; such characters become U+FFFD in the queryable copy while the
/// raw body keeps the original bytes.
fn jsonb_safe(value: &Value) -> Cow<'_, Value> {
    if !contains_nul(value) {
        return Cow::Borrowed(value);
    }
    Cow::Owned(replace_nul(value))
}

fn contains_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(contains_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

fn replace_nul(value: &Value) -> Value {
    match value {
        Value::String(text) => Value::String(text.replace('\0', "\u{fffd}")),
        Value::Array(items) => Value::Array(items.iter().map(replace_nul).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.replace('\0', "\u{fffd}"), replace_nul(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_characters_are_replaced_only_in_the_queryable_copy() {
        let body = json!({"content": "a\u{0}b", "nested": [{"k\u{0}": 1}]});

        let safe = jsonb_safe(&body);

        assert_eq!(
            *safe,
            json!({"content": "a\u{fffd}b", "nested": [{"k\u{fffd}": 1}]})
        );
        assert!(matches!(jsonb_safe(&json!({"a": "b"})), Cow::Borrowed(_)));
    }
}
