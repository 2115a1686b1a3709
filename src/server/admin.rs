//! The operator's endpoints: off unless `STREXFORCE_ADMIN_TOKEN` is set, behind that bearer
//! token, and on their own address when `STREXFORCE_ADMIN_LISTEN` is set (so they need not be
//! reachable from wherever Strex posts from).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::Json;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::problem::{Problem, ProblemBody};
use crate::forward::auth::ForwardAuth;
use crate::mapping::MappingSet;
use crate::salesforce::LoginStatus;
use crate::store::{Store, StoreError};

/// How the admin endpoints are exposed.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    pub token: SecretString,
    /// A separate listener; without it the endpoints share the forward listener.
    pub listen: Option<SocketAddr>,
}

#[derive(Clone)]
struct AdminState {
    store: Store,
    mappings: Arc<RwLock<Arc<MappingSet>>>,
    auth: ForwardAuth,
    login: LoginStatus,
}

/// `GET /admin/status`, every route behind the bearer token.
pub fn routes(
    config: &AdminConfig,
    store: Store,
    mappings: Arc<RwLock<Arc<MappingSet>>>,
    auth: ForwardAuth,
    login: LoginStatus,
) -> OpenApiRouter {
    let expected: [u8; 32] = Sha256::digest(config.token.expose_secret().as_bytes()).into();
    let state = AdminState {
        store,
        mappings,
        auth,
        login,
    };
    OpenApiRouter::new()
        .routes(routes!(status))
        .with_state(state)
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            require_token(expected, request, next)
        }))
}

async fn require_token(expected: [u8; 32], request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(crate::forward::auth::bearer_token)
        .map(|token| -> [u8; 32] { Sha256::digest(token.as_bytes()).into() });
    let allowed = presented.is_some_and(|digest| bool::from(digest.ct_eq(&expected)));
    if !allowed {
        tracing::warn!(
            path = request.uri().path(),
            "admin request refused: bad or missing token"
        );
        return Problem::unauthorized("bad_admin_token", "a valid admin bearer token is required")
            .into_response();
    }
    next.run(request).await
}

/// The mapping version in force, how much work is waiting, the forwards refused per reason
/// and the Salesforce login in detail. Needs the admin bearer token.
#[utoipa::path(get, path = "/admin/status", tag = "operations",
    security(("admin_token" = [])),
    responses(
        (status = 200, description = "The service's state", body = serde_json::Value),
        (status = 401, description = "Bad or missing admin token", body = ProblemBody),
        (status = 503, description = "Postgres is unavailable", body = ProblemBody)))]
async fn status(State(state): State<AdminState>) -> Response {
    let mappings = state
        .mappings
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    match backlog(&state.store).await {
        Ok(backlog) => Json(json!({
            "mapping_version": mappings.version(),
            "mappings": mappings.names(),
            "events": backlog.events,
            "sync_log": backlog.sync_log,
            "oldest_open_row_age_secs": backlog.oldest_open_secs,
            "auth_failures": state.auth.failure_counts(),
            "salesforce": state.login.get(),
        }))
        .into_response(),
        Err(error) => {
            tracing::error!(%error, "admin status: database unavailable");
            Problem::storage_unavailable().into_response()
        }
    }
}

struct Backlog {
    events: BTreeMap<String, i64>,
    sync_log: BTreeMap<String, i64>,
    oldest_open_secs: Option<f64>,
}

async fn backlog(store: &Store) -> Result<Backlog, StoreError> {
    let events = counts(
        store,
        "SELECT status, count(*) FROM inbound_event GROUP BY status",
    )
    .await?;
    let sync_log = counts(
        store,
        "SELECT status, count(*) FROM sync_log GROUP BY status",
    )
    .await?;
    let oldest_open_secs: Option<f64> = sqlx::query_scalar(
        "SELECT extract(epoch FROM now() - min(created_at))::float8 FROM sync_log
         WHERE status IN ('pending', 'in_flight')",
    )
    .fetch_one(store.pool())
    .await?;
    Ok(Backlog {
        events,
        sync_log,
        oldest_open_secs,
    })
}

async fn counts(store: &Store, sql: &'static str) -> Result<BTreeMap<String, i64>, StoreError> {
    let rows: Vec<(String, i64)> = sqlx::query_as(sql).fetch_all(store.pool()).await?;
    Ok(rows.into_iter().collect())
}
