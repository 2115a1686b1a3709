//! Liveness and readiness for load balancers and orchestrators.

use axum::Json;
use axum::Router;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use crate::salesforce::LoginStatus;
use crate::store::Store;

pub fn routes(store: Store) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(store)
}

/// Answers while the process runs.
async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Answers 200 only when forwards can be stored. The Salesforce login state is named but
/// does not make the service unready: forwards are still accepted while sync waits. Details
/// (the instance, the login error) are for the admin status, not for anyone who can reach
/// the health endpoint.
async fn readyz(
    State(store): State<Store>,
    login: Option<Extension<LoginStatus>>,
) -> impl IntoResponse {
    let salesforce = login.map(|Extension(status)| status.get().name());
    match store.ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({ "status": "ready", "salesforce": salesforce })),
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "status": "not_ready", "failing": ["database"], "salesforce": salesforce }),
            ),
        ),
    }
}
