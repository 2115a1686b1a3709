//! The forward endpoints Strex posts to.
//!
//! Each request goes through the same steps, and nothing is parsed or stored before the
//! first three pass: read the raw body within the limits, authenticate it (the signature
//! covers those exact bytes), check the media type, claim the signature's nonce, then hand the
//! body to intake.

use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ForwardKind;
use super::auth::{AuthError, Authenticated, ForwardAuth};
use super::intake::{Accepted, Intake, IntakeError};
use super::limits::{ReceiveLimits, require_json};
use crate::server::problem::{Problem, ProblemBody};
use crate::server::request_span::RequestSpan;
use crate::telemetry::metrics;
use crate::telemetry::redact::scrub;

/// What the forward endpoints share.
#[derive(Clone)]
pub struct Receiver {
    pub intake: Intake,
    pub auth: ForwardAuth,
    pub limits: ReceiveLimits,
}

/// `POST /forward/mo` and `POST /forward/dlr`, at most `max_in_flight` at once.
pub fn routes(receiver: Receiver) -> OpenApiRouter {
    let permits = receiver.limits.in_flight_permits();
    OpenApiRouter::new()
        .routes(routes!(forward_mo))
        .routes(routes!(forward_dlr))
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

async fn overloaded(uri: axum::http::Uri, _: tower::BoxError) -> Response {
    tracing::warn!("forward refused: too many requests in flight");
    let kind = uri.path().rsplit('/').next().and_then(ForwardKind::parse);
    metrics::forward_received(kind.map_or("unknown", ForwardKind::as_str), "overloaded");
    Problem::overloaded().into_response()
}

/// A MasterMOForward: one incoming SMS. Strex expects exactly 200 once it is stored.
#[utoipa::path(post, path = "/forward/mo", tag = "forward",
    request_body(content = serde_json::Value, content_type = "application/json",
        description = "The forward exactly as Strex sends it"),
    params(("X-ECDSA-Signature" = Option<String>, Header,
        description = "Strex's signature (STREXFORCE_AUTH=ecdsa)")),
    responses(
        (status = 200, description = "Stored, or stored before", body = ForwardAccepted),
        (status = 400, description = "Not a valid forward; kept as rejected", body = ProblemBody),
        (status = 401, description = "Not authenticated; not stored", body = ProblemBody),
        (status = 408, description = "The body came too slowly", body = ProblemBody),
        (status = 413, description = "The body is too large", body = ProblemBody),
        (status = 415, description = "Not JSON", body = ProblemBody),
        (status = 503, description = "Not stored; send again", body = ProblemBody)))]
async fn forward_mo(State(receiver): State<Receiver>, request: Request) -> Response {
    receiver.receive(ForwardKind::Mo, request).await
}

/// A MasterDLRForward: one delivery report. Answers as `/forward/mo` does.
#[utoipa::path(post, path = "/forward/dlr", tag = "forward",
    request_body(content = serde_json::Value, content_type = "application/json",
        description = "The delivery report exactly as Strex sends it"),
    params(("X-ECDSA-Signature" = Option<String>, Header,
        description = "Strex's signature (STREXFORCE_AUTH=ecdsa)")),
    responses(
        (status = 200, description = "Stored, or stored before", body = ForwardAccepted),
        (status = 400, description = "Not a valid forward; kept as rejected", body = ProblemBody),
        (status = 401, description = "Not authenticated; not stored", body = ProblemBody),
        (status = 408, description = "The body came too slowly", body = ProblemBody),
        (status = 413, description = "The body is too large", body = ProblemBody),
        (status = 415, description = "Not JSON", body = ProblemBody),
        (status = 503, description = "Not stored; send again", body = ProblemBody)))]
async fn forward_dlr(State(receiver): State<Receiver>, request: Request) -> Response {
    receiver.receive(ForwardKind::Dlr, request).await
}

impl Receiver {
    #[tracing::instrument(skip_all, fields(kind = %kind, bytes, auth, outcome, event_id))]
    async fn receive(&self, kind: ForwardKind, request: Request) -> Response {
        let (parts, body) = request.into_parts();
        let request_span = RequestSpan::of(&parts.extensions);
        let (outcome, response) = match self.authenticated_body(&parts, body).await {
            Ok((authenticated, body)) => {
                self.store(kind, &authenticated, &body, &request_span).await
            }
            Err(problem) => (refusal_outcome(&problem), problem.into_response()),
        };
        metrics::forward_received(kind.as_str(), outcome);
        response
    }

    async fn authenticated_body(
        &self,
        parts: &Parts,
        body: Body,
    ) -> Result<(Authenticated, axum::body::Bytes), Problem> {
        let span = tracing::Span::current();
        self.auth
            .refuse_without_credentials(parts)
            .await
            .map_err(|error| self.refuse(error))?;
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
        request_span: &RequestSpan,
    ) -> (&'static str, Response) {
        let span = tracing::Span::current();
        match self.intake.accept(kind, body).await {
            Ok(accepted) => {
                span.record("outcome", accepted.label());
                if let Some(event_id) = accepted.event_id() {
                    span.record("event_id", event_id);
                    request_span.record_event_id(event_id);
                }
                tracing::info!("forward accepted");
                let outcome = match accepted {
                    Accepted::Duplicate => "duplicate",
                    _ => "accepted",
                };
                (outcome, accepted_response(&accepted))
            }
            Err(IntakeError::Rejected { error, event_id }) => {
                span.record("outcome", "rejected");
                if let Some(event_id) = event_id {
                    request_span.record_event_id(event_id);
                }
                let reason = scrub(&error.to_string()).into_owned();
                tracing::warn!(code = error.code(), reason, event_id, "forward rejected");
                let response = Problem::bad_request(error.code(), error.to_string())
                    .into_response_with_event(event_id);
                ("rejected", response)
            }
            Err(IntakeError::Storage(error)) => {
                span.record("outcome", "unavailable");
                let error = scrub(&error.to_string()).into_owned();
                tracing::error!(error, "forward not stored; the sender will retry");
                self.auth.release_nonce(authenticated).await;
                (
                    "unavailable",
                    Problem::storage_unavailable().into_response(),
                )
            }
        }
    }
}

/// The outcome label of a request refused before intake.
fn refusal_outcome(problem: &Problem) -> &'static str {
    match problem.status.as_u16() {
        401 => "unauthorized",
        503 => "unavailable",
        _ => "refused",
    }
}

fn auth_label(authenticated: &Authenticated) -> &'static str {
    match authenticated {
        Authenticated::Signature(_) => "ecdsa",
        Authenticated::Token => "token",
        Authenticated::Nobody => "none",
    }
}

/// The answer to an accepted forward.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ForwardAccepted {
    /// `planned`, `unmapped`, `plan_failed`, `superseded` or `duplicate`.
    status: &'static str,
    /// The stored event; `null` for a duplicate.
    event_id: Option<i64>,
}

fn accepted_response(accepted: &Accepted) -> Response {
    let body = ForwardAccepted {
        status: accepted.label(),
        event_id: accepted.event_id(),
    };
    axum::Json(body).into_response()
}
