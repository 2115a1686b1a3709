use reqwest::Method;
use serde_json::{Value, json};
use sf_emulator::{CallKind, Stats};

use crate::support::spawn;

#[tokio::test]
async fn records_can_be_listed_and_filtered_over_http() {
    let org = spawn().await;
    org.upsert_contact("4798000001", json!({"LastName": "En"}))
        .await;
    org.upsert_contact("4798000002", json!({"LastName": "To"}))
        .await;

    let all: Vec<Value> = org
        .http
        .get(org.url("/__emulator/records/Contact"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let one: Vec<Value> = org
        .http
        .get(org.url("/__emulator/records/Contact?field=LastName&value=To"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let unknown = org
        .http
        .get(org.url("/__emulator/records/Nope__c"))
        .send()
        .await
        .unwrap();

    assert_eq!(all.len(), 2);
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["Strex_MSISDN__c"], "4798000002");
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn stats_count_calls_by_kind_over_http() {
    let org = spawn().await;
    org.get(&org.data("/sobjects/Contact/describe")).await;
    org.upsert_contact("4798000010", json!({"LastName": "En"}))
        .await;

    let stats: Stats = org
        .http
        .get(org.url("/__emulator/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(stats.calls_of(CallKind::Token), 1);
    assert_eq!(stats.calls_of(CallKind::Describe), 1);
    assert_eq!(stats.calls_of(CallKind::SingleUpsert), 1);
    assert_eq!(stats.api_usage, 2);
    assert_eq!(stats.api_allocation, 100_000);
}

#[tokio::test]
async fn reset_empties_the_org_but_keeps_sessions() {
    let org = spawn().await;
    org.upsert_contact("4798000020", json!({"LastName": "En"}))
        .await;

    let reset = org
        .http
        .post(org.url("/__emulator/reset"))
        .send()
        .await
        .unwrap();
    let after = org.get(&org.data("/limits")).await;

    assert_eq!(reset.status(), 204);
    assert!(org.emulator.records("Contact").is_empty());
    assert_eq!(after.status, 200);
    assert_eq!(
        after.header("sforce-limit-info"),
        Some("api-usage=1/100000")
    );
}

#[tokio::test]
async fn unknown_paths_are_not_found_in_salesforce_form() {
    let org = spawn().await;

    let reply = org.get(&org.url("/services/apexrest/donations")).await;

    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.body,
        json!([{
            "message": "The requested resource does not exist",
            "errorCode": "NOT_FOUND",
            "fields": [],
        }])
    );
}

#[tokio::test]
async fn a_wrong_method_is_not_allowed_in_salesforce_form() {
    let org = spawn().await;

    let reply = org.send(Method::DELETE, &org.data("/sobjects"), None).await;
    let token = org
        .send(Method::GET, &org.url("/services/oauth2/token"), None)
        .await;

    assert_eq!(reply.status, 405);
    assert_eq!(reply.error_code(), "METHOD_NOT_ALLOWED");
    assert_eq!(
        reply.body[0]["message"],
        "HTTP Method 'DELETE' not allowed. Allowed are GET,HEAD"
    );
    assert_eq!(token.status, 405);
}

#[tokio::test]
async fn shutdown_stops_the_listener() {
    let org = spawn().await;
    let url = org.data("/limits");

    org.emulator.shutdown().await;
    let outcome = org.http.get(&url).send().await;

    assert!(outcome.is_err());
}
