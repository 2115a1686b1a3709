//! `GET /metrics` in the Prometheus text format. The backlog gauges are read from Postgres at
//! each scrape, so they are as fresh as the scrape and cost nothing between scrapes.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::store::Store;
use crate::telemetry::metrics;

/// The Prometheus text exposition format, version 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub fn routes(store: Store) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(scrape))
        .with_state(store)
}

/// Every metric; docs/operations.md describes each.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses(
    (status = 200, description = "Prometheus text format", content_type = "text/plain")))]
async fn scrape(State(store): State<Store>) -> impl IntoResponse {
    match store.backlog().await {
        Ok(backlog) => metrics::backlog(&backlog.by_status, backlog.oldest_open_age()),
        // The counters are still worth a scrape; the gauges keep their last values.
        Err(error) => tracing::warn!(%error, "metrics: cannot read the backlog from Postgres"),
    }
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], metrics::render())
}
