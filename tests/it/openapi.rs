//! `GET /openapi.json`: the document built from the routers matches the committed
//! `docs/openapi.json`, and every route it lists is served, with the methods it names.

use std::path::PathBuf;

use secrecy::SecretString;
use serde_json::Value;
use strexforce::server::admin::AdminConfig;

use crate::common::{TestApp, shipped_mappings};

const ADMIN_TOKEN: &str = "openapi-test-admin-token-0123456789";

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json")
}

/// A service with every endpoint on one listener, admin included.
async fn full_surface() -> TestApp {
    TestApp::spawn_configured(shipped_mappings(), |config| {
        config.admin = Some(AdminConfig {
            token: SecretString::from(ADMIN_TOKEN),
            listen: None,
        });
    })
    .await
}

async fn served_document(app: &TestApp) -> Value {
    let response = app
        .http
        .get(format!("{}/openapi.json", app.service.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// `STREXFORCE_UPDATE_OPENAPI=1 cargo test --test it openapi` rewrites the committed copy.
#[tokio::test]
async fn the_served_document_is_the_committed_one() {
    let app = full_surface().await;

    let served = served_document(&app).await;

    if std::env::var_os("STREXFORCE_UPDATE_OPENAPI").is_some() {
        let text = serde_json::to_string_pretty(&served).unwrap() + "\n";
        std::fs::write(committed_path(), text).unwrap();
    }
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(committed_path()).unwrap()).unwrap();
    assert_eq!(
        served["openapi"].as_str().map(|v| v.starts_with("3.")),
        Some(true)
    );
    // Not assert_eq: both documents in full would bury the message.
    assert!(
        served == committed,
        "docs/openapi.json is stale: run STREXFORCE_UPDATE_OPENAPI=1 cargo test --test it openapi"
    );
}

#[tokio::test]
async fn every_schema_the_document_refers_to_is_in_it() {
    let app = full_surface().await;
    let document = served_document(&app).await;

    let mut refs = Vec::new();
    collect_refs(&document, &mut refs);

    assert!(!refs.is_empty());
    for reference in refs {
        let name = reference
            .strip_prefix("#/components/schemas/")
            .expect("a schema ref");
        assert!(
            document["components"]["schemas"].get(name).is_some(),
            "{reference} is referred to but not defined"
        );
    }
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(reference)) = map.get("$ref") {
                refs.push(reference.clone());
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

#[tokio::test]
async fn every_documented_route_is_served_with_its_methods() {
    let app = full_surface().await;
    let document = served_document(&app).await;

    let paths = document["paths"].as_object().unwrap();
    let mut seen = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let method: reqwest::Method = method.to_uppercase().parse().unwrap();
            let response = app
                .http
                .request(method.clone(), format!("{}{path}", app.service.url()))
                .bearer_auth(ADMIN_TOKEN)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            assert!(
                status != 404 && status != 405,
                "{method} {path} is documented but answered {status}"
            );
            seen.push(format!("{method} {path}"));
        }
    }

    seen.sort();
    assert_eq!(
        seen,
        [
            "GET /admin/status",
            "GET /healthz",
            "GET /metrics",
            "GET /openapi.json",
            "GET /readyz",
            "POST /forward/dlr",
            "POST /forward/mo",
        ]
    );
}

/// Routes added with plain axum `.route(...)` would be served without being documented;
/// every route goes through utoipa-axum's `routes!` instead.
#[test]
fn no_route_bypasses_the_document() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offenders = Vec::new();
    for dir in ["server", "forward"] {
        for entry in std::fs::read_dir(src.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for needle in [".route(", ".route_service(", ".nest("] {
                if text.contains(needle) {
                    offenders.push(format!("{} uses {needle}", path.display()));
                }
            }
        }
    }
    assert!(offenders.is_empty(), "{offenders:?}");
}
