//! Liveness and readiness for load balancers and orchestrators.
//!
//! Neither answer reveals anything private: readiness names the checks that fail and the
//! login state, never an error text or the instance; those are in the admin status.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::mapping::live::{self, SharedMappings};
use crate::salesforce::LoginStatus;
use crate::store::Store;

/// What readiness looks at.
#[derive(Clone)]
pub struct Readiness {
    pub store: Store,
    pub mappings: SharedMappings,
    pub login: LoginStatus,
    /// The operator chose to take forwards in while Salesforce refuses the login
    /// (`--start-without-salesforce`): sync is paused, which is not a reason to be unready.
    pub sync_may_wait_for_login: bool,
}

/// One check `/readyz` makes; serialised by these names in `failing`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// Postgres answers.
    Database,
    /// Every migration built into this binary is applied, unchanged.
    Migrations,
    /// At least one mapping is in force.
    Mappings,
    /// The last Salesforce login worked (or sync waits for one by choice).
    Salesforce,
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    status: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct ReadinessReport {
    /// `ready` or `not_ready`.
    status: &'static str,
    /// The checks that fail; absent when ready.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    failing: Vec<Check>,
    /// The Salesforce login state: `not_logged_in`, `logged_in` or `failing`.
    salesforce: &'static str,
}

pub fn routes(readiness: Readiness) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .with_state(readiness)
}

/// Answers while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process runs", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Answers 200 only when forwards can be stored and synced: Postgres answers, its schema is
/// current, mappings are in force and Salesforce accepts the login (or sync waits for it by
/// the operator's choice). Otherwise 503, naming the checks that fail.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Ready", body = ReadinessReport),
    (status = 503, description = "Not ready; `failing` names why", body = ReadinessReport)))]
async fn readyz(State(readiness): State<Readiness>) -> (StatusCode, Json<ReadinessReport>) {
    let failing = readiness.failing().await;
    let status = if failing.is_empty() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not_ready")
    };
    let report = ReadinessReport {
        status: status.1,
        failing,
        salesforce: readiness.login.get().name(),
    };
    (status.0, Json(report))
}

impl Readiness {
    /// The checks that fail now. The schema is only looked at when Postgres answers.
    pub async fn failing(&self) -> Vec<Check> {
        let mut failing = Vec::new();
        match self.store.ping().await {
            Err(_) => failing.push(Check::Database),
            Ok(()) => {
                let current = self.store.schema_drift().await;
                if !current.is_ok_and(|drift| drift.is_current()) {
                    failing.push(Check::Migrations);
                }
            }
        }
        if live::current(&self.mappings).names().is_empty() {
            failing.push(Check::Mappings);
        }
        if !self.login.get().is_logged_in() && !self.sync_may_wait_for_login {
            failing.push(Check::Salesforce);
        }
        failing
    }
}
