//! Test control under `/__emulator/`: no session needed and nothing counted. These
//! endpoints do not exist in Salesforce; they are for local tests and demos only.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::error::ApiError;
use crate::faults::Faults;
use crate::inspect;
use crate::state::Emulator;
use crate::stats::Stats;

pub(super) fn router() -> Router<Arc<Emulator>> {
    Router::new()
        .route("/__emulator/records/{object}", get(records))
        .route("/__emulator/stats", get(stats))
        .route("/__emulator/reset", post(reset))
        .route("/__emulator/sessions/expire", post(expire_sessions))
        .route("/__emulator/faults", get(faults).put(set_faults))
}

/// All records of an object; `?field=F&value=V` keeps those whose F equals V.
async fn records(
    State(state): State<Arc<Emulator>>,
    Path(object): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let found = match (query.get("field"), query.get("value")) {
        (Some(field), Some(value)) => inspect::find(&state, &object, field, value),
        _ => inspect::records(&state, &object),
    };
    found.map(Json).ok_or(ApiError::NotFound)
}

async fn stats(State(state): State<Arc<Emulator>>) -> Json<Stats> {
    Json(state.stats())
}

async fn reset(State(state): State<Arc<Emulator>>) -> StatusCode {
    state.reset();
    tracing::info!("emulator reset");
    StatusCode::NO_CONTENT
}

async fn expire_sessions(State(state): State<Arc<Emulator>>) -> StatusCode {
    state.sessions.expire_all();
    StatusCode::NO_CONTENT
}

async fn faults(State(state): State<Arc<Emulator>>) -> Json<Faults> {
    Json(state.faults.current())
}

/// Replaces all fault settings; fields left out are off.
async fn set_faults(State(state): State<Arc<Emulator>>, body: axum::body::Bytes) -> Response {
    let faults: Faults = match serde_json::from_slice(&body) {
        Ok(faults) => faults,
        Err(error) => return bad_request(error.to_string()),
    };
    match state.faults.set(faults.clone()) {
        Ok(()) => {
            tracing::info!(?faults, "fault settings changed");
            Json(faults).into_response()
        }
        Err(error) => bad_request(error.to_string()),
    }
}

fn bad_request(message: String) -> Response {
    let body = json!([{"message": message, "errorCode": "INVALID_FAULTS", "fields": []}]);
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}
