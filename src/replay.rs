//! `strexforce replay`: plan a stored event again with the mappings in force now, for example
//! after fixing a mapping for `unmapped`, `plan_failed` or failed events.

use serde::Serialize;

use crate::forward::intake::PlanOutcome;
use crate::forward::{ForwardKind, NumberingPlan, parse};
use crate::mapping::{MappingSet, PlannedUpsert};
use crate::store::replay::{Replan, ReplayError};
use crate::store::{EventStatus, Store};

/// What replaying an event did (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    pub event_id: i64,
    pub previous_status: String,
    pub status: &'static str,
    pub mapping_version: String,
    pub error: Option<String>,
    /// Rows set aside as `ignored` (REPLANNED).
    pub ignored_rows: Vec<i64>,
    /// Rows added, with the upserts they carry.
    pub added_rows: Vec<i64>,
    pub upserts: Vec<PlannedUpsert>,
}

/// Why an event could not be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayFailure {
    #[error(transparent)]
    Replay(#[from] ReplayError),
    #[error("event {event_id} is not a valid forward ({error}); it cannot be planned")]
    NotAForward { event_id: i64, error: String },
    #[error(
        "event {0} was superseded by a later report of its transaction; planning it would \
         write the older state over the newer one"
    )]
    Superseded(i64),
}

impl ReplayFailure {
    /// Whether the failure concerns this event only (the next one may still be replayed), as
    /// opposed to the database being out of reach.
    pub fn is_about_the_event(&self) -> bool {
        !matches!(self, ReplayFailure::Replay(ReplayError::Store(_)))
    }
}

/// How a replay runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplayOptions {
    /// Show what would change without writing anything.
    pub dry_run: bool,
    /// Replay even when later events have written the same records since, putting the
    /// older state back in Salesforce.
    pub force: bool,
}

/// Plans event `event_id` again; in a dry run nothing is written.
pub async fn replay(
    store: &Store,
    mappings: &MappingSet,
    plan_settings: &NumberingPlan,
    event_id: i64,
    options: ReplayOptions,
) -> Result<ReplayReport, ReplayFailure> {
    let stored = store
        .stored_forward(event_id)
        .await
        .map_err(ReplayError::from)?
        .ok_or(ReplayError::NoSuchEvent(event_id))?;
    if stored.status == EventStatus::Superseded.as_str() {
        return Err(ReplayFailure::Superseded(event_id));
    }
    let kind = ForwardKind::parse(&stored.kind).unwrap_or(ForwardKind::Mo);
    let forward = parse(kind, &stored.body_raw, plan_settings).map_err(|error| {
        ReplayFailure::NotAForward {
            event_id,
            error: error.to_string(),
        }
    })?;
    let planned = mappings.plan_at(&forward, stored.received_at);
    let outcome = PlanOutcome::of(&planned, &forward);
    let report = ReplayReport {
        event_id,
        previous_status: stored.status.clone(),
        status: outcome.status.as_str(),
        mapping_version: mappings.version().to_owned(),
        error: outcome.error.clone(),
        ignored_rows: Vec::new(),
        added_rows: Vec::new(),
        upserts: outcome.upserts.to_vec(),
    };
    if options.dry_run {
        refuse_later_writes_in_dry_run(store, event_id, &outcome, options).await?;
        return Ok(report);
    }
    let replanned = store
        .replan(&replan_of(
            event_id,
            &outcome,
            mappings,
            planned.as_ref().ok(),
            options.force,
        ))
        .await?;
    Ok(ReplayReport {
        previous_status: replanned.previous_status,
        ignored_rows: replanned.ignored_rows,
        added_rows: replanned.added_rows,
        ..report
    })
}

/// A dry run says what the real one would refuse; the real one checks again under the
/// subject's lock.
async fn refuse_later_writes_in_dry_run(
    store: &Store,
    event_id: i64,
    outcome: &PlanOutcome<'_>,
    options: ReplayOptions,
) -> Result<(), ReplayFailure> {
    if options.force || outcome.upserts.is_empty() {
        return Ok(());
    }
    let rows = store
        .later_writes(event_id, outcome.upserts)
        .await
        .map_err(ReplayError::from)?;
    if rows.is_empty() {
        Ok(())
    } else {
        Err(ReplayError::LaterWrites { event_id, rows }.into())
    }
}

fn replan_of<'a>(
    event_id: i64,
    outcome: &'a PlanOutcome<'_>,
    mappings: &'a MappingSet,
    plan: Option<&'a crate::mapping::Plan>,
    force: bool,
) -> Replan<'a> {
    Replan {
        event_id,
        status: outcome.status,
        subject: outcome.subject.as_deref(),
        error: outcome.error.as_deref(),
        mapping_version: mappings.version(),
        plan,
        force,
    }
}
