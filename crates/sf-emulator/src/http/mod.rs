//! The HTTP surface: Salesforce's REST paths, the token endpoint, and the local
//! test-control endpoints under `/__emulator/`.

mod composite;
pub(crate) mod connection;
mod control;
mod describe;
mod discovery;
mod error;
mod gate;
mod records;
mod token;

use std::sync::Arc;

use axum::Router;
use axum::http::{Method, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};

use crate::state::Emulator;
use error::ApiError;

/// Route patterns of the data API; the gate classifies calls by them.
pub(crate) mod paths {
    pub const RESOURCES: &str = "/services/data/{version}";
    pub const LIMITS: &str = "/services/data/{version}/limits";
    pub const GLOBAL_DESCRIBE: &str = "/services/data/{version}/sobjects";
    pub const SOBJECT: &str = "/services/data/{version}/sobjects/{object}";
    pub const DESCRIBE: &str = "/services/data/{version}/sobjects/{object}/describe";
    pub const SOBJECT_ROW: &str = "/services/data/{version}/sobjects/{object}/{id}";
    pub const BY_EXTERNAL_ID: &str = "/services/data/{version}/sobjects/{object}/{field}/{value}";
    pub const COLLECTIONS_UPSERT: &str =
        "/services/data/{version}/composite/sobjects/{object}/{field}";
}

pub(crate) fn router(state: Arc<Emulator>) -> Router {
    let data = Router::new()
        .route(paths::RESOURCES, get(discovery::resources))
        .route(paths::LIMITS, get(discovery::limits))
        .route(paths::GLOBAL_DESCRIBE, get(describe::global))
        .route(
            paths::SOBJECT,
            get(describe::basic_info).post(records::create),
        )
        .route(paths::DESCRIBE, get(describe::object))
        .route(
            paths::SOBJECT_ROW,
            get(records::read_by_id).post(records::insert_with_id_key),
        )
        .route(
            paths::BY_EXTERNAL_ID,
            get(records::read_by_external_id).patch(records::upsert),
        )
        .route(
            paths::COLLECTIONS_UPSERT,
            patch(composite::upsert_collection),
        )
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            gate::data_gate,
        ));

    Router::new()
        .route("/services/oauth2/token", post(token::token))
        .route("/services/data", get(discovery::versions))
        .merge(data)
        .merge(control::router())
        .fallback(not_found)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// axum answers a wrong method with an empty 405 and an `Allow` header; Salesforce
/// answers with its error array, which names the allowed methods. Applied outside the
/// router, because axum adds `Allow` after every layer inside it has run.
pub(crate) fn method_not_allowed_body(method: &Method, response: Response) -> Response {
    let is_bare_405 = response.status() == StatusCode::METHOD_NOT_ALLOWED
        && !response.headers().contains_key(header::CONTENT_TYPE);
    if !is_bare_405 {
        return response;
    }
    let allowed = response
        .headers()
        .get(header::ALLOW)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let method = method.to_string();
    ApiError::MethodNotAllowed { method, allowed }.into_response()
}
