//! `serve` when Salesforce refuses the login at start: it stops, or with
//! `--start-without-salesforce` it stores forwards, pauses sync and keeps trying.

use secrecy::SecretString;
use std::time::Duration;
use strexforce::server::admin::AdminConfig;

use serde_json::Value;
use sf_emulator::LoginRefusal;
use strexforce::salesforce::{LoginRetry, LoginStartup};
use strexforce::server::{RunningService, ServeConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::common::{TestDb, serve_config, shipped_mappings, wait_until};
use crate::org::{Flow, emulator_config, salesforce_config, start_emulator};

fn config(db: &TestDb, emulator_url: &str, start_without: bool) -> ServeConfig {
    ServeConfig {
        salesforce: salesforce_config(Flow::ClientCredentials, emulator_url),
        salesforce_startup: LoginStartup {
            start_without_salesforce: start_without,
            retry: LoginRetry {
                first_delay: Duration::from_millis(20),
                max_delay: Duration::from_millis(100),
            },
        },
        admin: Some(AdminConfig {
            token: SecretString::from(ADMIN_TOKEN),
            listen: None,
        }),
        ..serve_config(&db.url, shipped_mappings(), emulator_url)
    }
}

/// The admin status shows the login error that /readyz only names.
const ADMIN_TOKEN: &str = "test-admin-token-with-at-least-32-characters";

#[tokio::test]
async fn serve_stops_at_start_when_it_cannot_log_in() {
    let db = TestDb::new().await;
    let emulator = start_emulator(emulator_config()).await;
    emulator.refuse_logins(Some(LoginRefusal::NoRunAsUser));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();

    let started = strexforce::server::start(
        config(&db, &emulator.url(), false),
        listener,
        CancellationToken::new(),
    )
    .await;

    let error = started.err().expect("serve refuses to start").to_string();
    assert!(error.contains("Run As user"), "{error}");
}

#[tokio::test]
async fn without_salesforce_forwards_are_kept_and_synced_once_the_login_works() {
    let db = TestDb::new().await;
    let emulator = start_emulator(emulator_config()).await;
    emulator.refuse_logins(Some(LoginRefusal::IpRestricted));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let service = strexforce::server::start(
        config(&db, &emulator.url(), true),
        listener,
        CancellationToken::new(),
    )
    .await
    .expect("serve starts without Salesforce");
    let http = reqwest::Client::new();

    let stored = http
        .post(format!("{}/forward/mo", service.url()))
        .header("content-type", "application/json")
        .body(crate::common::fixture("mo-plain.json"))
        .send()
        .await
        .unwrap();
    let ready = readiness(&http, &service).await;

    assert_eq!(stored.status(), 200);
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["salesforce"], "failing", "{ready}");
    let status = admin_status(&http, &service).await;
    assert_eq!(status["salesforce"]["state"], "failing", "{status}");
    assert!(
        status["salesforce"]["error"]
            .as_str()
            .unwrap()
            .contains("trusted IP ranges")
    );
    let waiting = pending_rows(&db).await;
    assert!(!waiting.is_empty());
    assert!(waiting.iter().all(|attempts| *attempts == 0), "{waiting:?}");

    emulator.refuse_logins(None);
    wait_until(
        "the sync to finish after the login",
        Duration::from_secs(20),
        || async { pending_rows(&db).await.is_empty() },
    )
    .await;
    let ready = readiness(&http, &service).await;
    assert_eq!(ready["salesforce"], "logged_in", "{ready}");
    service.stop().await.unwrap();
}

async fn admin_status(http: &reqwest::Client, service: &RunningService) -> Value {
    let response = http
        .get(format!("{}/admin/status", service.url()))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await;
    response.unwrap().json().await.unwrap()
}

async fn readiness(http: &reqwest::Client, service: &RunningService) -> Value {
    let response = http.get(format!("{}/readyz", service.url())).send().await;
    response.unwrap().json().await.unwrap()
}

/// The attempts of every row not yet sent.
async fn pending_rows(db: &TestDb) -> Vec<i32> {
    sqlx::query_scalar("SELECT attempts FROM sync_log WHERE status IN ('pending', 'in_flight')")
        .fetch_all(db.store.pool())
        .await
        .unwrap()
}
