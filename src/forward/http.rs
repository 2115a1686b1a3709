//! The forward endpoints Strex posts to.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::ForwardKind;
use super::intake::{Accepted, Intake, IntakeError};
use crate::server::problem::Problem;

/// `POST /forward/mo` and `POST /forward/dlr`.
pub fn routes(intake: Intake) -> Router {
    Router::new()
        .route("/forward/mo", post(forward_mo))
        .route("/forward/dlr", post(forward_dlr))
        .with_state(intake)
}

/// A MasterMOForward: one incoming SMS. Strex expects exactly 200 once it is stored.
async fn forward_mo(State(intake): State<Intake>, body: Bytes) -> Response {
    accept(&intake, ForwardKind::Mo, &body).await
}

/// A MasterDLRForward: one delivery report.
async fn forward_dlr(State(intake): State<Intake>, body: Bytes) -> Response {
    accept(&intake, ForwardKind::Dlr, &body).await
}

#[tracing::instrument(skip_all, fields(kind = %kind, bytes = body.len(), outcome, event_id))]
async fn accept(intake: &Intake, kind: ForwardKind, body: &[u8]) -> Response {
    let span = tracing::Span::current();
    match intake.accept(kind, body).await {
        Ok(accepted) => {
            span.record("outcome", accepted.label());
            if let Some(event_id) = accepted.event_id() {
                span.record("event_id", event_id);
            }
            tracing::info!("forward accepted");
            accepted_response(&accepted)
        }
        Err(IntakeError::Rejected { error, event_id }) => {
            span.record("outcome", "rejected");
            tracing::warn!(code = error.code(), reason = %error, ?event_id, "forward rejected");
            Problem::bad_request(error.code(), error.to_string()).into_response_with_event(event_id)
        }
        Err(IntakeError::Storage(error)) => {
            span.record("outcome", "unavailable");
            tracing::error!(%error, "forward not stored; the sender will retry");
            Problem::storage_unavailable().into_response()
        }
    }
}

fn accepted_response(accepted: &Accepted) -> Response {
    let body = serde_json::json!({
        "status": accepted.label(),
        "event_id": accepted.event_id(),
    });
    axum::Json(body).into_response()
}
