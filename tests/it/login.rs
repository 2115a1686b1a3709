//! Every flow logs in against the emulator, shares one session, and renews it once when
//! many requests see it refused at the same time.

use std::sync::Arc;

use reqwest::Method;
use sf_emulator::CallKind;
use strexforce::salesforce::SalesforceClient;

use crate::org::{EVERY_FLOW, Flow, emulator_config, salesforce_config, start_emulator};

#[tokio::test]
async fn every_flow_logs_in_and_reaches_the_data_api() {
    for flow in EVERY_FLOW {
        let emulator = start_emulator(emulator_config()).await;
        let client = SalesforceClient::new(&salesforce_config(flow, &emulator.url())).unwrap();

        let limits = client.limits().await;

        let limits = limits.unwrap_or_else(|error| panic!("{flow:?}: {error}"));
        assert!(limits.daily_api_usage().is_some(), "{flow:?}");
        assert!(client.login_status().get().is_logged_in(), "{flow:?}");
    }
}

#[tokio::test]
async fn many_requests_refused_at_once_cause_one_new_login_in_every_flow() {
    for flow in EVERY_FLOW {
        let emulator = start_emulator(emulator_config()).await;
        let client = SalesforceClient::new(&salesforce_config(flow, &emulator.url())).unwrap();
        client.log_in().await.unwrap();
        emulator.expire_sessions();
        let logins_before = emulator.stats().calls_of(CallKind::Token);

        let calls = (0..12).map(|_| {
            let client = Arc::clone(&client);
            tokio::spawn(async move { client.send(Method::GET, "limits/", None).await })
        });
        let results = futures_join(calls).await;

        assert!(results.iter().all(Result::is_ok), "{flow:?}: {results:?}");
        let logins = emulator.stats().calls_of(CallKind::Token) - logins_before;
        assert_eq!(logins, 1, "{flow:?} logged in again {logins} times");
    }
}

#[tokio::test]
async fn a_rotated_refresh_token_replaces_the_configured_one_in_memory() {
    let mut config = emulator_config();
    config.rotate_refresh_tokens = true;
    let emulator = start_emulator(config).await;
    let client =
        SalesforceClient::new(&salesforce_config(Flow::RefreshToken, &emulator.url())).unwrap();

    // Each renewal needs the token the previous one returned: the configured one is
    // retired by the first refresh.
    for round in 0..3 {
        emulator.expire_sessions();

        let reply = client.send(Method::GET, "limits/", None).await;

        assert!(reply.is_ok(), "round {round}: {reply:?}");
    }
}

#[tokio::test]
async fn calls_go_to_the_instance_url_of_the_token_response() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut config = emulator_config();
    config.instance_url = Some(format!("http://localhost:{port}"));
    strexforce::salesforce::install_crypto_provider();
    let emulator = sf_emulator::start(config, listener).await.unwrap();
    let client =
        SalesforceClient::new(&salesforce_config(Flow::JwtBearer, &emulator.url())).unwrap();

    let instance = client.instance_url().await.unwrap();
    let versions = client.versions().await.unwrap();

    assert_eq!(instance.as_str(), format!("http://localhost:{port}/"));
    assert!(versions.iter().any(|v| v.version == "66.0"));
}

async fn futures_join<T: Send + 'static>(
    tasks: impl Iterator<Item = tokio::task::JoinHandle<T>>,
) -> Vec<T> {
    let mut results = Vec::new();
    for task in tasks.collect::<Vec<_>>() {
        results.push(task.await.unwrap());
    }
    results
}
