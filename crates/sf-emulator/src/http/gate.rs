//! What every data API call passes before its handler runs: the version check, the
//! Bearer session check (reference §2), injected faults, the daily allocation and
//! latency. Admitted calls carry `Sforce-Limit-Info` on their response (§7).

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::connection::ConnectionKill;
use super::error::ApiError;
use super::paths;
use crate::api_version::ApiVersion;
use crate::faults::{FaultDecision, ServerErrorKind};
use crate::state::Emulator;
use crate::stats::CallKind;

const LIMIT_HEADER: &str = "sforce-limit-info";

const MAINTENANCE_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>Salesforce - Maintenance\
</title></head><body><h1>Down for maintenance</h1><p>This org is being upgraded and will be \
back shortly.</p></body></html>\n";

/// A call that was let through, and the usage count it was given.
struct Admitted {
    version: ApiVersion,
    used: u64,
}

/// Why a call is not handed to its handler.
enum Refusal {
    Error(ApiError),
    ServerError(ServerErrorKind),
    AllocationSpent { used: u64 },
    DropConnection,
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Refusal {
        Refusal::Error(error)
    }
}

pub(crate) async fn data_gate(
    State(state): State<Arc<Emulator>>,
    mut request: Request,
    next: Next,
) -> Response {
    state.stats.count(call_kind(&request));
    let _in_flight = state.stats.enter();
    let admitted = match admit(&state, request.headers(), request.uri().path()) {
        Ok(admitted) => admitted,
        Err(Refusal::DropConnection) => {
            return drop_connection(request.extensions().get().cloned()).await;
        }
        Err(refusal) => return refusal_response(&state, refusal),
    };
    let delay = state.latency + state.faults.extra_latency();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    request.extensions_mut().insert(admitted.version);
    let kill = request.extensions().get::<ConnectionKill>().cloned();
    let mut response = next.run(request).await;
    if state.faults.response_dropped() {
        return drop_connection(kill).await;
    }
    set_limit_header(&mut response, &state.usage.header_value(admitted.used));
    response
}

fn admit(state: &Emulator, headers: &HeaderMap, path: &str) -> Result<Admitted, Refusal> {
    let version = ApiVersion::from_path(path).map_err(ApiError::from)?;
    let token = bearer_token(headers)?;
    if !state.sessions.is_valid(token) {
        return Err(ApiError::InvalidSession.into());
    }
    match state.faults.decide() {
        FaultDecision::Pass => {}
        FaultDecision::DropConnection => return Err(Refusal::DropConnection),
        FaultDecision::ServerError(kind) => return Err(Refusal::ServerError(kind)),
        FaultDecision::RequestLimitExceeded => {
            let used = state.usage.used();
            return Err(Refusal::AllocationSpent { used });
        }
        FaultDecision::ExpireSession => {
            state.sessions.revoke(token);
            return Err(ApiError::InvalidSession.into());
        }
    }
    let used = state
        .usage
        .consume()
        .map_err(|spent| Refusal::AllocationSpent { used: spent.used })?;
    Ok(Admitted { version, used })
}

/// REST expects `Authorization: Bearer <token>`; the older `OAuth <token>` form is
/// still accepted by Salesforce and so here. A missing header is an invalid session.
fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::InvalidSession);
    };
    let text = value.to_str().map_err(|_| ApiError::InvalidAuthHeader)?;
    let (scheme, token) = text.split_once(' ').ok_or(ApiError::InvalidAuthHeader)?;
    if !(scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth")) {
        return Err(ApiError::InvalidAuthHeader);
    }
    match token.trim() {
        "" => Err(ApiError::InvalidSession),
        token => Ok(token),
    }
}

fn refusal_response(state: &Emulator, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Error(error) => error.into_response(),
        Refusal::ServerError(kind) => server_error(kind),
        Refusal::AllocationSpent { used } => {
            let mut response = ApiError::RequestLimitExceeded.into_response();
            set_limit_header(&mut response, &state.usage.header_value(used));
            response
        }
        Refusal::DropConnection => ApiError::ServerUnavailable.into_response(),
    }
}

fn server_error(kind: ServerErrorKind) -> Response {
    match kind {
        ServerErrorKind::Unavailable => ApiError::ServerUnavailable.into_response(),
        ServerErrorKind::Internal => ApiError::Internal.into_response(),
        ServerErrorKind::MaintenancePage => {
            (StatusCode::SERVICE_UNAVAILABLE, Html(MAINTENANCE_PAGE)).into_response()
        }
    }
}

/// Closes the client's connection without answering. The future never completes:
/// the connection task drops it together with the connection.
async fn drop_connection(kill: Option<ConnectionKill>) -> Response {
    let Some(kill) = kill else {
        return ApiError::ServerUnavailable.into_response();
    };
    kill.fire();
    std::future::pending().await
}

fn set_limit_header(response: &mut Response, value: &str) {
    let value = HeaderValue::from_str(value).expect("usage header is ASCII");
    response.headers_mut().insert(LIMIT_HEADER, value);
}

fn call_kind(request: &Request) -> CallKind {
    let Some(path) = request.extensions().get::<MatchedPath>() else {
        return CallKind::Other;
    };
    let reads = matches!(*request.method(), Method::GET | Method::HEAD);
    match (path.as_str(), reads) {
        (paths::RESOURCES, _) => CallKind::Resources,
        (paths::LIMITS, _) => CallKind::Limits,
        (paths::GLOBAL_DESCRIBE, _) => CallKind::GlobalDescribe,
        (paths::DESCRIBE, _) | (paths::SOBJECT, true) => CallKind::Describe,
        (paths::SOBJECT | paths::SOBJECT_ROW, false) => CallKind::Insert,
        (paths::SOBJECT_ROW | paths::BY_EXTERNAL_ID, true) => CallKind::Read,
        (paths::BY_EXTERNAL_ID, false) => CallKind::SingleUpsert,
        (paths::COLLECTIONS_UPSERT, _) => CallKind::CollectionsUpsert,
        _ => CallKind::Other,
    }
}
