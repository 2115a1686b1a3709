//! The forward endpoints Strex posts to.
//!
//! Each request goes through the same steps, and nothing is parsed or stored before the
//! first three pass: read the raw body within the limits, authenticate it (the signature
//! covers those exact bytes), check the media type, claim the signature's nonce, then hand the
//! body to intake.

use axum::Router;
use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tower::ServiceBuilder;

use super::ForwardKind;
use super::auth::{AuthError, Authenticated, ForwardAuth};
use super::intake::{Accepted, Intake, IntakeError};
use super::limits::{ReceiveLimits, require_json};
use crate::server::problem::Problem;
use crate::telemetry::redact::scrub;

/// What the forward endpoints share.
#[derive(Clone)]
pub struct Receiver {
    pub intake: Intake,
    pub auth: ForwardAuth,
    pub limits: ReceiveLimits,
}

/// `POST /forward/mo` and `POST /forward/dlr`, at most `max_in_flight` at once.
pub fn routes(receiver: Receiver) -> Router {
    let permits = receiver.limits.in_flight_permits();
    Router::new()
        .route("/forward/mo", post(forward_mo))
        .route("/forward/dlr", post(forward_dlr))
        .with_state(receiver)
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                .layer(tower::limit::GlobalConcurrencyLimitLayer::with_semaphore(
                    permits,
                )),
        )
}

async fn overloaded(_: tower::BoxError) -> Response {
    tracing::warn!("forward refused: too many requests in flight");
    Problem::overloaded().into_response()
}

/// A MasterMOForward: one incoming SMS. Strex expects exactly 200 once it is stored.
async fn forward_mo(State(receiver): State<Receiver>, request: Request) -> Response {
    receiver.receive(ForwardKind::Mo, request).await
}

/// A MasterDLRForward: one delivery report.
async fn forward_dlr(State(receiver): State<Receiver>, request: Request) -> Response {
    receiver.receive(ForwardKind::Dlr, request).await
}

impl Receiver {
    #[tracing::instrument(skip_all, fields(kind = %kind, bytes, auth, outcome, event_id))]
    async fn receive(&self, kind: ForwardKind, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        match self.authenticated_body(&parts, body).await {
            Ok((authenticated, body)) => self.store(kind, &authenticated, &body).await,
            Err(problem) => problem.into_response(),
        }
    }

    async fn authenticated_body(
        &self,
        parts: &Parts,
        body: Body,
    ) -> Result<(Authenticated, axum::body::Bytes), Problem> {
        let span = tracing::Span::current();
        let body = self
            .limits
            .read_body(&parts.headers, body)
            .await
            .inspect_err(|problem| {
                tracing::warn!(code = problem.code, "forward refused before it was read");
            })?;
        span.record("bytes", body.len());
        let authenticated = self
            .auth
            .authenticate(parts, &body)
            .await
            .map_err(|error| self.refuse(error))?;
        span.record("auth", auth_label(&authenticated));
        require_json(&parts.headers).inspect_err(|problem| {
            tracing::warn!(code = problem.code, "forward refused");
        })?;
        self.auth
            .claim_nonce(&authenticated)
            .await
            .map_err(|error| self.refuse(error))?;
        Ok((authenticated, body))
    }

    /// A request that failed authentication: counted, logged without its body, not stored.
    fn refuse(&self, error: AuthError) -> Problem {
        if let AuthError::Storage(error) = &error {
            tracing::error!(error = %scrub(&error.to_string()), "nonce store unavailable");
            return Problem::storage_unavailable();
        }
        self.auth.count_failure(error.reason());
        let reason = error.reason();
        tracing::warn!(reason, detail = %error, "forward refused: not authenticated");
        Problem::unauthorized(error.reason(), error.to_string())
    }

    async fn store(
        &self,
        kind: ForwardKind,
        authenticated: &Authenticated,
        body: &[u8],
    ) -> Response {
        let span = tracing::Span::current();
        match self.intake.accept(kind, body).await {
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
                let reason = scrub(&error.to_string()).into_owned();
                tracing::warn!(code = error.code(), reason, ?event_id, "forward rejected");
                Problem::bad_request(error.code(), error.to_string())
                    .into_response_with_event(event_id)
            }
            Err(IntakeError::Storage(error)) => {
                span.record("outcome", "unavailable");
                let error = scrub(&error.to_string()).into_owned();
                tracing::error!(error, "forward not stored; the sender will retry");
                self.auth.release_nonce(authenticated).await;
                Problem::storage_unavailable().into_response()
            }
        }
    }
}

fn auth_label(authenticated: &Authenticated) -> &'static str {
    match authenticated {
        Authenticated::Signature(_) => "ecdsa",
        Authenticated::Token => "token",
        Authenticated::Nobody => "none",
    }
}

fn accepted_response(accepted: &Accepted) -> Response {
    let body = serde_json::json!({
        "status": accepted.label(),
        "event_id": accepted.event_id(),
    });
    axum::Json(body).into_response()
}
