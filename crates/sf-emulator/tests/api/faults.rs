use std::time::{Duration, Instant};

use serde_json::json;
use sf_emulator::{Faults, ServerErrorKind};

use crate::support::{TestOrg, config, contact, spawn, spawn_with};

fn set(org: &TestOrg, faults: Faults) {
    org.emulator.faults().set(faults).unwrap();
}

#[tokio::test]
async fn server_errors_come_as_json_or_as_a_maintenance_page() {
    let org = spawn().await;
    let kinds = [
        (ServerErrorKind::Unavailable, 503, "SERVER_UNAVAILABLE"),
        (ServerErrorKind::Internal, 500, "UNKNOWN_EXCEPTION"),
    ];

    for (kind, status, code) in kinds {
        set(
            &org,
            Faults {
                server_error_share: 1.0,
                server_error_kind: kind,
                ..Faults::default()
            },
        );
        let reply = org.get(&org.data("/limits")).await;

        assert_eq!(reply.status, status);
        assert_eq!(reply.error_code(), code);
    }
    set(
        &org,
        Faults {
            server_error_share: 1.0,
            server_error_kind: ServerErrorKind::MaintenancePage,
            ..Faults::default()
        },
    );
    let page = org.get(&org.data("/limits")).await;
    assert_eq!(page.status, 503);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    assert!(page.text.contains("maintenance"));
}

#[tokio::test]
async fn faults_leave_the_token_endpoint_alone() {
    let org = spawn().await;
    set(
        &org,
        Faults {
            server_error_share: 1.0,
            request_limit_exceeded: true,
            ..Faults::default()
        },
    );

    let token = org.login().await;

    assert!(!token.is_empty());
}

#[tokio::test]
async fn every_nth_data_call_finds_its_session_expired() {
    let mut org = spawn().await;
    set(
        &org,
        Faults {
            expire_session_every: 3,
            ..Faults::default()
        },
    );

    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(org.get(&org.data("/limits")).await.status);
    }
    org.token = org.login().await;
    let after_login = org.get(&org.data("/limits")).await;

    assert_eq!(statuses, [200, 200, 401, 401]);
    assert_eq!(after_login.status, 200);
}

#[tokio::test]
async fn the_request_limit_fault_refuses_every_data_call() {
    let org = spawn().await;
    set(
        &org,
        Faults {
            request_limit_exceeded: true,
            ..Faults::default()
        },
    );

    let reply = org.get(&org.data("/sobjects")).await;

    assert_eq!(reply.status, 403);
    assert_eq!(reply.error_code(), "REQUEST_LIMIT_EXCEEDED");
}

#[tokio::test]
async fn locked_rows_fail_per_record_and_write_nothing() {
    let org = spawn().await;
    set(
        &org,
        Faults {
            lock_row_share: 1.0,
            ..Faults::default()
        },
    );

    let batch = org
        .upsert_contacts(
            vec![contact("4797000001", "A"), contact("4797000002", "B")],
            false,
        )
        .await;
    let single = org
        .upsert_contact("4797000003", json!({"LastName": "C"}))
        .await;

    assert_eq!(batch.status, 200);
    for result in batch.body.as_array().unwrap() {
        assert_eq!(result["errors"][0]["statusCode"], "UNABLE_TO_LOCK_ROW");
    }
    assert_eq!(
        (single.status, single.error_code()),
        (400, "UNABLE_TO_LOCK_ROW")
    );
    assert!(org.emulator.records("Contact").is_empty());
}

#[tokio::test]
async fn latency_is_added_to_data_calls() {
    let mut settings = config();
    settings.latency = Duration::from_millis(50);
    let org = spawn_with(settings).await;
    set(
        &org,
        Faults {
            latency_ms: 100,
            ..Faults::default()
        },
    );

    let started = Instant::now();
    let reply = org.get(&org.data("/limits")).await;

    assert_eq!(reply.status, 200);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_dropped_connection_gives_the_client_no_response() {
    let org = spawn().await;
    set(
        &org,
        Faults {
            drop_connection_share: 1.0,
            ..Faults::default()
        },
    );

    let outcome = org
        .http
        .patch(org.data("/sobjects/Contact/Strex_MSISDN__c/4797000010"))
        .bearer_auth(&org.token)
        .json(&json!({"LastName": "Gone"}))
        .send()
        .await;

    let error = outcome.expect_err("the connection should close without a response");
    assert!(!error.is_status(), "{error}");
    assert!(org.emulator.records("Contact").is_empty());
    org.emulator.faults().clear();
    assert_eq!(org.get(&org.data("/limits")).await.status, 200);
}

#[tokio::test]
async fn the_same_seed_gives_the_same_sequence_of_faults() {
    let org = spawn().await;
    let faults = Faults {
        server_error_share: 0.5,
        seed: 42,
        ..Faults::default()
    };
    let mut runs = Vec::new();

    for _ in 0..2 {
        set(&org, faults.clone());
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(org.get(&org.data("/limits")).await.status);
        }
        runs.push(statuses);
    }

    assert_eq!(runs[0], runs[1]);
    assert!(
        runs[0].contains(&200) && runs[0].contains(&503),
        "{:?}",
        runs[0]
    );
}

#[tokio::test]
async fn faults_can_be_set_and_read_over_http() {
    let org = spawn().await;
    let url = org.url("/__emulator/faults");

    let put = org
        .http
        .put(&url)
        .json(&json!({"lock_row_share": 0.25, "server_error_kind": "maintenance_page", "seed": 9}))
        .send()
        .await
        .unwrap();
    let current: serde_json::Value = org
        .http
        .get(&url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let invalid = org
        .http
        .put(&url)
        .json(&json!({"server_error_share": 2.0}))
        .send()
        .await
        .unwrap();
    let unknown = org
        .http
        .put(&url)
        .json(&json!({"explode": true}))
        .send()
        .await
        .unwrap();

    assert_eq!(put.status(), 200);
    assert_eq!(current["lock_row_share"], 0.25);
    assert_eq!(current["server_error_kind"], "maintenance_page");
    assert_eq!(current["seed"], 9);
    assert_eq!(current["server_error_share"], 0.0);
    assert_eq!(invalid.status(), 400);
    assert_eq!(unknown.status(), 400);
    assert_eq!(org.emulator.faults().get().lock_row_share, 0.25);
}

#[tokio::test]
async fn a_dropped_response_leaves_the_write_made() {
    let org = spawn().await;
    set(
        &org,
        Faults {
            drop_response_share: 1.0,
            ..Faults::default()
        },
    );

    let outcome = org
        .http
        .patch(org.data("/sobjects/Contact/Strex_MSISDN__c/4797000020"))
        .bearer_auth(&org.token)
        .json(&json!({"LastName": "Written"}))
        .send()
        .await;

    assert!(outcome.is_err(), "the response should be lost");
    let stored = org
        .emulator
        .find("Contact", "Strex_MSISDN__c", "4797000020");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["LastName"], "Written");
}

#[tokio::test]
async fn short_collections_results_leave_out_the_last_result_but_make_every_write() {
    let org = spawn().await;
    set(
        &org,
        Faults {
            short_collections_results: true,
            ..Faults::default()
        },
    );

    let batch = org
        .upsert_contacts(
            vec![contact("4797000031", "A"), contact("4797000032", "B")],
            false,
        )
        .await;

    assert_eq!(batch.status, 200);
    assert_eq!(batch.body.as_array().unwrap().len(), 1);
    assert_eq!(org.emulator.records("Contact").len(), 2);
}

#[tokio::test]
async fn a_poison_record_fails_its_whole_collections_request_and_its_single_upsert() {
    let org = spawn().await;
    set(
        &org,
        Faults {
            poison_external_id: Some("4797000042".to_owned()),
            ..Faults::default()
        },
    );

    let batch = org
        .upsert_contacts(
            vec![contact("4797000041", "A"), contact("4797000042", "B")],
            false,
        )
        .await;
    let single = org
        .upsert_contact("4797000042", json!({"LastName": "B"}))
        .await;
    let other = org
        .upsert_contact("4797000041", json!({"LastName": "A"}))
        .await;

    assert_eq!(
        (batch.status, batch.error_code()),
        (400, "JSON_PARSER_ERROR")
    );
    assert_eq!(
        (single.status, single.error_code()),
        (400, "JSON_PARSER_ERROR")
    );
    assert_eq!(other.status, 201);
    assert_eq!(org.emulator.records("Contact").len(), 1);
}

#[tokio::test]
async fn locked_records_stay_locked_while_others_are_written() {
    let org = spawn().await;
    set(
        &org,
        Faults {
            locked_external_ids: vec!["4797000052".to_owned()],
            ..Faults::default()
        },
    );

    let batch = org
        .upsert_contacts(
            vec![contact("4797000051", "A"), contact("4797000052", "B")],
            false,
        )
        .await;

    let results = batch.body.as_array().unwrap();
    assert_eq!(results[0]["success"], true);
    assert_eq!(results[1]["errors"][0]["statusCode"], "UNABLE_TO_LOCK_ROW");
}

#[tokio::test]
async fn every_kept_write_is_counted_per_record() {
    let org = spawn().await;

    org.upsert_contact("4797000061", json!({"LastName": "A"}))
        .await;
    org.upsert_contact("4797000061", json!({"LastName": "B"}))
        .await;
    org.upsert_contacts(vec![contact("4797000062", "C")], false)
        .await;
    let without_last_name =
        json!({"attributes": {"type": "Contact"}, "Strex_MSISDN__c": "4797000064"});
    let rolled_back = org
        .upsert_contacts(vec![contact("4797000063", "D"), without_last_name], true)
        .await;

    let stats = org.emulator.stats();
    let id = |msisdn: &str| {
        org.emulator.find("Contact", "Strex_MSISDN__c", msisdn)[0]["Id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(stats.writes_of(&id("4797000061")), 2);
    assert_eq!(stats.writes_of(&id("4797000062")), 1);
    let first_error = &rolled_back.body[0]["errors"][0]["statusCode"];
    assert_eq!(first_error, "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_eq!(
        stats.record_writes.len(),
        2,
        "a rolled-back write is not kept"
    );
}
