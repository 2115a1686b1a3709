//! `POST /services/oauth2/token`.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};

use crate::oauth::{self, TokenRequest};
use crate::state::Emulator;
use crate::stats::CallKind;

/// Token calls do not count against the API allocation and carry no limit header.
pub(super) async fn token(
    State(state): State<Arc<Emulator>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.stats.count(CallKind::Token);
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    let request = TokenRequest::parse(&body, authorization);
    match oauth::grant(&state, &request) {
        Ok(token) => {
            tracing::info!(client_id = %state.client_id, "issued an access token");
            Json(token).into_response()
        }
        Err(error) => {
            tracing::info!(%error, "refused a token request");
            error.into_response()
        }
    }
}
