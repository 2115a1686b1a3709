//! Versions, resources and limits: what a client reads to find its way (reference §7,
//! §10).

use std::sync::Arc;

use axum::extract::State;
use axum::{Extension, Json};
use serde_json::{Value, json};

use crate::api_version::ApiVersion;
use crate::state::Emulator;
use crate::stats::CallKind;

/// `GET /services/data/`: needs no session and is not counted against the allocation.
pub(super) async fn versions(State(state): State<Arc<Emulator>>) -> Json<Value> {
    state.stats.count(CallKind::Versions);
    let list: Vec<Value> = ApiVersion::all_supported()
        .map(|version| {
            json!({
                "label": version.release_label(),
                "url": version.base_path(),
                "version": format!("{}.0", version.major()),
            })
        })
        .collect();
    Json(Value::Array(list))
}

/// `GET /services/data/vNN.0/`: the resources this emulator serves in that version.
pub(super) async fn resources(Extension(version): Extension<ApiVersion>) -> Json<Value> {
    let base = version.base_path();
    Json(json!({
        "sobjects": format!("{base}/sobjects"),
        "limits": format!("{base}/limits"),
        "composite": format!("{base}/composite"),
    }))
}

/// `GET /services/data/vNN.0/limits/`. Remaining counts this call as used.
pub(super) async fn limits(State(state): State<Arc<Emulator>>) -> Json<Value> {
    let max = state.usage.allocation();
    let remaining = max.saturating_sub(state.usage.used());
    Json(json!({"DailyApiRequests": {"Max": max, "Remaining": remaining}}))
}
