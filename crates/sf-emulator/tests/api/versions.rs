use reqwest::Method;
use serde_json::json;

use crate::support::spawn;

#[tokio::test]
async fn versions_list_needs_no_session_and_is_not_counted() {
    let org = spawn().await;

    let reply = org
        .send_as(Method::GET, &org.url("/services/data/"), None, None)
        .await;

    assert_eq!(reply.status, 200);
    let versions = reply.body.as_array().unwrap();
    assert_eq!(versions.len(), 36);
    assert_eq!(versions[0]["version"], "31.0");
    assert_eq!(versions.last().unwrap()["version"], "66.0");
    let winter_25 =
        json!({"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"});
    assert!(versions.contains(&winter_25));
    assert!(reply.header("sforce-limit-info").is_none());
    assert_eq!(org.emulator.stats().api_usage, 0);
}

#[tokio::test]
async fn a_retired_version_is_gone_and_an_unknown_one_is_not_found() {
    let org = spawn().await;

    let retired = org.get(&org.url("/services/data/v30.0/sobjects")).await;
    let future = org.get(&org.url("/services/data/v67.0/sobjects")).await;
    let garbage = org.get(&org.url("/services/data/latest/sobjects")).await;

    assert_eq!(retired.status, 410);
    assert_eq!(retired.error_code(), "GONE");
    assert_eq!(future.status, 404);
    assert_eq!(future.error_code(), "NOT_FOUND");
    assert_eq!(garbage.status, 404);
}

#[tokio::test]
async fn version_resource_lists_what_the_version_serves() {
    let org = spawn().await;

    let reply = org.get(&org.url("/services/data/v58.0/")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["sobjects"], "/services/data/v58.0/sobjects");
    assert_eq!(reply.body["limits"], "/services/data/v58.0/limits");
}
