use reqwest::Method;
use sf_emulator::CallKind;

use crate::support::{config, spawn, spawn_with};

const SESSION_EXPIRED: &str =
    r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID","fields":[]}]"#;

#[tokio::test]
async fn missing_or_unknown_tokens_get_invalid_session_id() {
    let org = spawn().await;
    let url = org.data("/sobjects");

    let missing = org.send_as(Method::GET, &url, None, None).await;
    let unknown = org
        .send_as(Method::GET, &url, None, Some("Bearer 00Dnope!nope"))
        .await;

    for reply in [missing, unknown] {
        assert_eq!(reply.status, 401);
        assert_eq!(
            reply.body,
            serde_json::from_str::<serde_json::Value>(SESSION_EXPIRED).unwrap()
        );
        assert!(reply.header("sforce-limit-info").is_none());
    }
}

#[tokio::test]
async fn a_header_that_is_not_bearer_gets_invalid_auth_header() {
    let org = spawn().await;

    let reply = org
        .send_as(
            Method::GET,
            &org.data("/sobjects"),
            None,
            Some("Basic dXNlcjpwYXNz"),
        )
        .await;

    assert_eq!(reply.status, 401);
    assert_eq!(reply.error_code(), "INVALID_AUTH_HEADER");
}

#[tokio::test]
async fn expired_sessions_are_refused_until_the_client_logs_in_again() {
    let mut org = spawn().await;
    org.emulator.expire_sessions();

    let refused = org.get(&org.data("/limits")).await;
    org.token = org.login().await;
    let accepted = org.get(&org.data("/limits")).await;

    assert_eq!(refused.status, 401);
    assert_eq!(refused.error_code(), "INVALID_SESSION_ID");
    assert_eq!(accepted.status, 200);
}

#[tokio::test]
async fn sessions_can_be_expired_over_http() {
    let org = spawn().await;

    let expire = org
        .http
        .post(org.url("/__emulator/sessions/expire"))
        .send()
        .await
        .unwrap();
    let refused = org.get(&org.data("/limits")).await;

    assert_eq!(expire.status(), 204);
    assert_eq!(refused.status, 401);
}

#[tokio::test]
async fn every_authenticated_call_counts_one_in_the_limit_header() {
    let org = spawn().await;

    let first = org.get(&org.data("/sobjects")).await;
    let second = org.get(&org.data("/sobjects/Contact/describe")).await;
    let failed = org.get(&org.data("/sobjects/Nope__c/describe")).await;

    assert_eq!(
        first.header("sforce-limit-info"),
        Some("api-usage=1/100000")
    );
    assert_eq!(
        second.header("sforce-limit-info"),
        Some("api-usage=2/100000")
    );
    assert_eq!(failed.status, 404);
    assert_eq!(
        failed.header("sforce-limit-info"),
        Some("api-usage=3/100000")
    );
    assert_eq!(org.emulator.stats().api_usage, 3);
}

#[tokio::test]
async fn calls_beyond_the_allocation_get_request_limit_exceeded() {
    let mut settings = config();
    settings.api_allocation = 2;
    let org = spawn_with(settings).await;

    let within: Vec<u16> = [
        org.get(&org.data("/limits")).await,
        org.get(&org.data("/limits")).await,
    ]
    .iter()
    .map(|reply| reply.status)
    .collect();
    let beyond = org.get(&org.data("/limits")).await;

    assert_eq!(within, [200, 200]);
    assert_eq!(beyond.status, 403);
    assert_eq!(beyond.error_code(), "REQUEST_LIMIT_EXCEEDED");
    assert_eq!(beyond.header("sforce-limit-info"), Some("api-usage=2/2"));
}

#[tokio::test]
async fn limits_resource_reports_daily_api_requests() {
    let mut settings = config();
    settings.api_allocation = 500;
    let org = spawn_with(settings).await;
    org.get(&org.data("/sobjects")).await;

    let reply = org.get(&org.data("/limits/")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["DailyApiRequests"]["Max"], 500);
    assert_eq!(reply.body["DailyApiRequests"]["Remaining"], 498);
    assert_eq!(org.emulator.stats().calls_of(CallKind::Limits), 1);
}

#[tokio::test]
async fn token_calls_are_not_counted_against_the_allocation() {
    let org = spawn().await;

    org.login().await;
    org.login().await;

    let stats = org.emulator.stats();
    assert_eq!(stats.api_usage, 0);
    assert_eq!(stats.calls_of(CallKind::Token), 3);
}
