//! The OpenAPI 3 document of the HTTP surface, built from the same routers that serve it
//! (utoipa-axum), so that a route cannot exist without being described.

use std::sync::Arc;

use axum::{Extension, Json};
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    modifiers(&AdminToken),
    info(
        title = "strexforce",
        description = "Receives StrexConnect MO and DLR forwards and keeps Salesforce up to date.",
        license(name = "MIT OR Apache-2.0"),
    ),
    tags(
        (name = "forward", description = "What Strex posts to"),
        (name = "health", description = "For load balancers and orchestrators"),
        (name = "operations", description = "Metrics, this document and the admin status"),
    )
)]
struct ApiDoc;

/// The admin endpoints take `Authorization: Bearer <STREXFORCE_ADMIN_TOKEN>`.
struct AdminToken;

impl utoipa::Modify for AdminToken {
    fn modify(&self, document: &mut Document) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build();
        document
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("admin_token", SecurityScheme::Http(scheme));
    }
}

/// The document's fixed part: its info and tags. The paths come from the routers.
pub fn base() -> Document {
    let mut document = ApiDoc::openapi();
    // The version is the crate's, so that the committed copy changes with each release.
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    document
}

/// `GET /openapi.json`; the handler reads the finished document from an extension, since
/// the document is only complete once every router is merged.
pub fn routes() -> OpenApiRouter {
    OpenApiRouter::new().routes(routes!(openapi_json))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3 document",
        content_type = "application/json")))]
async fn openapi_json(Extension(document): Extension<Arc<Document>>) -> Json<Document> {
    Json((*document).clone())
}
