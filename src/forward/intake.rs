//! Intake: what happens between the bytes of a forward arriving and the 200 that tells Strex
//! it may stop retrying.
//!
//! The forward is parsed, planned against the current mappings, and stored together with its
//! planned upserts in one transaction. Only a committed transaction is answered with success;
//! a body that is not a valid forward is stored as `rejected` so nothing that reached us is
//! lost.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::{DeliveryState, Forward, ForwardKind, NumberingPlan, PayloadError, parse};
use crate::mapping::live::SharedMappings;
use crate::mapping::{MappingSet, Plan};
use crate::store::{DeliveryRank, EventStatus, NewEvent, Store, StoreError, StoredEvent};
use crate::sync::SyncWake;

/// Everything intake needs, shared by all requests.
#[derive(Clone)]
pub struct Intake {
    pub store: Store,
    pub mappings: SharedMappings,
    pub numbering_plan: NumberingPlan,
    pub wake: SyncWake,
}

/// What became of an accepted forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Stored with this many planned upserts.
    Planned { event_id: i64, upserts: usize },
    /// Stored; no mapping matched it.
    Unmapped { event_id: i64 },
    /// Stored; a mapping failed to render for it (the error is on the event).
    PlanFailed { event_id: i64, error: String },
    /// Stored; a later state of the same transaction was stored before, so nothing was
    /// planned.
    Superseded { event_id: i64 },
    /// Stored before; nothing was added.
    Duplicate,
}

impl Accepted {
    pub fn label(&self) -> &'static str {
        match self {
            Accepted::Planned { .. } => "planned",
            Accepted::Unmapped { .. } => "unmapped",
            Accepted::PlanFailed { .. } => "plan_failed",
            Accepted::Superseded { .. } => "superseded",
            Accepted::Duplicate => "duplicate",
        }
    }

    pub fn event_id(&self) -> Option<i64> {
        match self {
            Accepted::Planned { event_id, .. }
            | Accepted::Unmapped { event_id }
            | Accepted::PlanFailed { event_id, .. }
            | Accepted::Superseded { event_id } => Some(*event_id),
            Accepted::Duplicate => None,
        }
    }
}

/// A bad body's transactionId, kept for finding the event when it can be stored as is.
fn storable_identifier(value: &serde_json::Value) -> Option<&str> {
    let text = value.as_str()?;
    let fits = !text.contains('\0') && text.chars().count() <= super::parse::IDENTIFIER_MAX_CHARS;
    fits.then_some(text)
}

/// How a plan is recorded on its event.
#[derive(Debug)]
pub struct PlanOutcome<'a> {
    pub status: EventStatus,
    pub subject: Option<String>,
    pub upserts: &'a [crate::mapping::PlannedUpsert],
    pub error: Option<String>,
}

impl<'a> PlanOutcome<'a> {
    /// A plan with upserts is `planned`, one without is `unmapped`, a failed one
    /// `plan_failed`; a failed plan keeps the end user's number as subject.
    pub fn of(planned: &'a Result<Plan, crate::mapping::PlanError>, forward: &Forward) -> Self {
        match planned {
            Ok(plan) => PlanOutcome {
                status: if plan.upserts.is_empty() {
                    EventStatus::Unmapped
                } else {
                    EventStatus::Planned
                },
                subject: plan.subject.clone(),
                upserts: &plan.upserts,
                error: None,
            },
            Err(error) => PlanOutcome {
                status: EventStatus::PlanFailed,
                subject: forward.msisdn.as_ref().map(|n| n.e164()),
                upserts: &[],
                error: Some(error.to_string()),
            },
        }
    }
}

/// Why a forward was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// Not a valid forward; the body was stored as a rejected event.
    #[error("{error}")]
    Rejected {
        error: PayloadError,
        event_id: Option<i64>,
    },
    /// Nothing could be committed; the sender should retry.
    #[error(transparent)]
    Storage(#[from] StoreError),
}

impl Intake {
    /// Takes one forward body of the given kind.
    pub async fn accept(&self, kind: ForwardKind, body: &[u8]) -> Result<Accepted, IntakeError> {
        let forward = match parse(kind, body, &self.numbering_plan) {
            Ok(forward) => forward,
            Err(error) => return Err(self.reject(kind, body, error).await),
        };
        let mappings = self.current_mappings();
        let planned = mappings.plan(&forward);
        let accepted = self
            .store_forward(&forward, body, &mappings, planned)
            .await?;
        if matches!(accepted, Accepted::Planned { .. }) {
            self.wake.notify();
        }
        Ok(accepted)
    }

    fn current_mappings(&self) -> Arc<MappingSet> {
        self.mappings
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    async fn store_forward(
        &self,
        forward: &Forward,
        body: &[u8],
        mappings: &MappingSet,
        planned: Result<Plan, crate::mapping::PlanError>,
    ) -> Result<Accepted, IntakeError> {
        let dedupe_key = forward.dedupe_key();
        let PlanOutcome {
            status,
            subject,
            upserts,
            error,
        } = PlanOutcome::of(&planned, forward);
        let delivery = DeliveryState::of(forward);
        let event = NewEvent {
            kind: forward.kind.as_str(),
            dedupe_key: &dedupe_key,
            transaction_id: Some(forward.transaction_id()),
            subject: subject.as_deref(),
            body_raw: body,
            body: Some(&forward.json),
            status,
            error: error.as_deref(),
            mapping_version: Some(mappings.version()),
            delivery: delivery.as_ref().map(|state| DeliveryRank {
                key: &state.key,
                rank: state.rank,
            }),
        };
        let event_id = match self.store.store_event(&event, upserts).await? {
            StoredEvent::New { event_id } => event_id,
            StoredEvent::Superseded { event_id } => return Ok(Accepted::Superseded { event_id }),
            StoredEvent::Duplicate => return Ok(Accepted::Duplicate),
        };
        Ok(match (status, error) {
            (EventStatus::Planned, _) => Accepted::Planned {
                event_id,
                upserts: upserts.len(),
            },
            (EventStatus::PlanFailed, Some(error)) => Accepted::PlanFailed { event_id, error },
            _ => Accepted::Unmapped { event_id },
        })
    }

    /// Stores a body that is not a valid forward, keyed by its hash so that Strex's retries of
    /// the same bad body are stored once.
    async fn reject(&self, kind: ForwardKind, body: &[u8], error: PayloadError) -> IntakeError {
        let dedupe_key = format!("rejected:{kind}:{}", hex::encode(Sha256::digest(body)));
        let json = serde_json::from_slice::<serde_json::Value>(body).ok();
        // The message may quote the body; it goes into a text column, which holds no NUL.
        let message = error.to_string().replace('\0', "\u{fffd}");
        let event = NewEvent {
            kind: kind.as_str(),
            dedupe_key: &dedupe_key,
            transaction_id: json
                .as_ref()
                .and_then(|j| storable_identifier(&j["transactionId"])),
            subject: None,
            body_raw: body,
            body: json.as_ref(),
            status: EventStatus::Rejected,
            error: Some(&message),
            mapping_version: None,
            delivery: None,
        };
        match self.store.store_event(&event, &[]).await {
            Ok(StoredEvent::New { event_id } | StoredEvent::Superseded { event_id }) => {
                IntakeError::Rejected {
                    error,
                    event_id: Some(event_id),
                }
            }
            Ok(StoredEvent::Duplicate) => IntakeError::Rejected {
                error,
                event_id: None,
            },
            Err(store_error) => IntakeError::Storage(store_error),
        }
    }
}
