//! One span per HTTP request: method, path, status, latency and, once intake has stored the
//! forward, its event id. The path is logged without its query, which may hold the forward
//! token.

use std::time::Duration;

use axum::extract::Request;
use axum::http::Extensions;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Span;
use tracing::field::Empty;

/// Paths that orchestrators and scrapers call every few seconds: answered at debug level
/// only, so that they do not drown the forwards.
const QUIET_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// The request's span, put in the request's extensions so that handlers can add to it.
#[derive(Clone, Debug)]
pub struct RequestSpan(Option<Span>);

impl RequestSpan {
    /// The span of the request these extensions belong to; none outside [`remember`].
    pub fn of(extensions: &Extensions) -> RequestSpan {
        extensions
            .get::<RequestSpan>()
            .cloned()
            .unwrap_or(RequestSpan(None))
    }

    pub fn record_event_id(&self, event_id: i64) {
        if let Some(span) = &self.0 {
            span.record("event_id", event_id);
        }
    }
}

/// The span TraceLayer opens for each request; status and latency are filled in at the end.
pub fn make_span<B>(request: &axum::http::Request<B>) -> Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = request.uri().path(),
        status = Empty,
        latency_ms = Empty,
        event_id = Empty,
    )
}

/// Records the answer on the span and logs one line for it.
pub fn on_response<B>(response: &axum::http::Response<B>, latency: Duration, span: &Span) {
    let status = response.status().as_u16();
    span.record("status", status);
    span.record("latency_ms", latency.as_millis() as u64);
    if response.extensions().get::<Quiet>().is_some() {
        tracing::debug!(parent: span, status, "request answered");
    } else {
        tracing::info!(parent: span, status, "request answered");
    }
}

/// Middleware inside TraceLayer: hands the current (request) span to the handlers.
pub async fn remember(mut request: Request, next: Next) -> Response {
    let quiet = QUIET_PATHS.contains(&request.uri().path());
    request
        .extensions_mut()
        .insert(RequestSpan(Some(Span::current())));
    let mut response = next.run(request).await;
    if quiet {
        response.extensions_mut().insert(Quiet);
    }
    response
}

/// Marks the answer to a [`QUIET_PATHS`] request.
#[derive(Clone, Copy)]
struct Quiet;
