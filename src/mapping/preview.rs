//! What `mappings preview` prints: what a forward would become, without Postgres or
//! Salesforce. The shape is part of the interface; see docs/mappings.md.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{MappingSet, PlannedUpsert};
use crate::forward::{ForwardKind, NumberingPlan, PayloadError, parse};

/// The preview of one forward.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Preview {
    pub kind: &'static str,
    pub dedupe_key: String,
    pub subject: Option<String>,
    pub mapping_version: String,
    /// `planned`, `unmapped` or `plan_failed`, as intake would record the event.
    pub status: &'static str,
    pub error: Option<String>,
    pub upserts: Vec<PlannedUpsert>,
}

/// Plans a body as intake would.
pub fn preview(
    mappings: &MappingSet,
    kind: ForwardKind,
    body: &[u8],
    plan: &NumberingPlan,
    received_at: DateTime<Utc>,
) -> Result<Preview, PayloadError> {
    let forward = parse(kind, body, plan)?;
    let base = Preview {
        kind: kind.as_str(),
        dedupe_key: forward.dedupe_key(),
        subject: forward.msisdn.as_ref().map(|n| n.e164()),
        mapping_version: mappings.version().to_owned(),
        status: "unmapped",
        error: None,
        upserts: Vec::new(),
    };
    Ok(match mappings.plan_at(&forward, received_at) {
        Ok(plan) if plan.upserts.is_empty() => Preview {
            subject: plan.subject,
            ..base
        },
        Ok(plan) => Preview {
            subject: plan.subject,
            status: "planned",
            upserts: plan.upserts,
            ..base
        },
        Err(error) => Preview {
            status: "plan_failed",
            error: Some(error.to_string()),
            ..base
        },
    })
}
