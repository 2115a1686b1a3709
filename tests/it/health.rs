//! `/healthz` and `/readyz`: ready only when Postgres answers, its schema is current, mappings
//! are in force and Salesforce takes the login; otherwise 503 naming each failing check.

use std::time::Duration;

use serde_json::{Value, json};
use sf_emulator::LoginRefusal;
use strexforce::forward::auth::{AuthConfig, ForwardAuth};
use strexforce::forward::http::Receiver;
use strexforce::forward::intake::Intake;
use strexforce::forward::limits::ReceiveLimits;
use strexforce::mapping::{MappingSet, MappingSettings};
use strexforce::server::health::Readiness;
use strexforce::store::{PoolSettings, Store};
use strexforce::sync::SyncWake;

use crate::common::{TestApp, shipped_mappings, wait_until};

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    get_url(&format!("{}{path}", app.service.url())).await
}

async fn get_url(url: &str) -> (u16, Value) {
    let response = reqwest::get(url).await.expect("the service answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON body"))
}

#[tokio::test]
async fn a_working_service_is_live_and_ready() {
    let app = TestApp::spawn().await;

    let live = get(&app, "/healthz").await;
    let ready = get(&app, "/readyz").await;

    assert_eq!(live, (200, json!({"status": "ok"})));
    assert_eq!(
        ready,
        (200, json!({"status": "ready", "salesforce": "logged_in"}))
    );
}

#[tokio::test]
async fn an_unreachable_database_makes_the_service_unready_but_still_live() {
    let mappings = MappingSet::load_dir(&shipped_mappings(), &MappingSettings::default());
    let url = serve_router_on(unreachable_store(), mappings.unwrap()).await;

    let live = get_url(&format!("{url}/healthz")).await;
    let ready = get_url(&format!("{url}/readyz")).await;

    assert_eq!(live.0, 200);
    assert_eq!(ready.0, 503, "{}", ready.1);
    // Without Postgres the schema cannot be read; only the database is named.
    assert_eq!(ready.1["failing"], json!(["database", "salesforce"]));
    assert_eq!(ready.1["status"], "not_ready");
}

#[tokio::test]
async fn a_migration_missing_from_the_database_makes_the_service_unready() {
    let app = TestApp::spawn().await;

    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(app.store().pool())
    .await
    .unwrap();
    let ready = get(&app, "/readyz").await;

    assert_eq!(ready.0, 503);
    assert_eq!(ready.1["failing"], json!(["migrations"]));
}

#[tokio::test]
async fn a_migration_changed_since_it_was_applied_makes_the_service_unready() {
    let app = TestApp::spawn().await;

    sqlx::query(
        "UPDATE _sqlx_migrations SET checksum = '\\x00'::bytea
         WHERE version = (SELECT min(version) FROM _sqlx_migrations)",
    )
    .execute(app.store().pool())
    .await
    .unwrap();
    let ready = get(&app, "/readyz").await;

    assert_eq!(ready.0, 503);
    assert_eq!(ready.1["failing"], json!(["migrations"]));
}

#[tokio::test]
async fn a_migration_only_a_newer_release_knows_leaves_the_service_ready() {
    let app = TestApp::spawn().await;

    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99991231000000, 'from a newer release', true, '\\x00'::bytea, 1)",
    )
    .execute(app.store().pool())
    .await
    .unwrap();
    let ready = get(&app, "/readyz").await;

    assert_eq!(ready.0, 200, "{}", ready.1);
}

/// `serve` refuses to start without a mapping and a reload never puts an empty set in force,
/// so this is the guard for a set that holds none: every forward would be stored unmapped.
/// Rolling back: the previous release starts (and migrates) on a database that a newer one
/// has migrated further.
#[tokio::test]
async fn a_previous_release_starts_on_a_schema_a_newer_one_migrated() {
    let db = crate::common::TestDb::new().await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99991231000000, 'from a newer release', true, '\\x00'::bytea, 1)",
    )
    .execute(db.store.pool())
    .await
    .unwrap();

    let migrated = db.store.migrate().await;

    assert!(migrated.is_ok(), "{migrated:?}");
    assert!(db.store.schema_drift().await.unwrap().is_current());
}

#[tokio::test]
async fn no_mapping_in_force_makes_the_service_unready() {
    let app = TestApp::spawn().await;
    let empty = MappingSet::from_sources(Vec::new(), &MappingSettings::default()).unwrap();
    let url = serve_router_on(app.store().clone(), empty).await;

    let ready = get_url(&format!("{url}/readyz")).await;

    assert_eq!(ready.0, 503);
    // This router has no login of its own.
    assert_eq!(ready.1["failing"], json!(["mappings", "salesforce"]));
}

#[tokio::test]
async fn a_login_salesforce_refuses_while_serving_makes_the_service_unready() {
    let app = TestApp::spawn().await;
    app.emulator.refuse_logins(Some(LoginRefusal::IpRestricted));
    app.emulator.expire_sessions();

    // Sync meets the expired session, logs in again and is refused.
    assert_eq!(app.post_fixture("mo-plain.json").await.status(), 200);
    wait_until("readiness to notice", Duration::from_secs(20), || async {
        get(&app, "/readyz").await.0 == 503
    })
    .await;
    let ready = get(&app, "/readyz").await;

    assert_eq!(ready.1["failing"], json!(["salesforce"]));
    assert_eq!(ready.1["salesforce"], "failing");
    app.emulator.refuse_logins(None);
    wait_until("readiness to recover", Duration::from_secs(20), || async {
        get(&app, "/readyz").await.0 == 200
    })
    .await;
}

/// A store whose server is not there: port 1 on loopback refuses at once.
fn unreachable_store() -> Store {
    let settings = PoolSettings {
        acquire_timeout: Duration::from_secs(1),
        ..PoolSettings::default()
    };
    Store::connect_lazy("postgres://postgres@127.0.0.1:1/strexforce", &settings).unwrap()
}

/// The public router over `store` and `mappings`, with no login yet.
async fn serve_router_on(store: Store, mappings: MappingSet) -> String {
    let settings = MappingSettings::default();
    let mappings = strexforce::mapping::live::shared(mappings);
    let receiver = Receiver {
        auth: ForwardAuth::new(&AuthConfig::default(), &store).unwrap(),
        intake: Intake {
            store: store.clone(),
            mappings: mappings.clone(),
            numbering_plan: settings.numbering_plan.clone(),
            wake: SyncWake::default(),
        },
        limits: ReceiveLimits::default(),
    };
    let readiness = Readiness {
        store,
        mappings,
        login: Default::default(),
        sync_may_wait_for_login: false,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = strexforce::server::router(receiver, readiness);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}
