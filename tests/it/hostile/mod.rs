//! Malformed and hostile requests: each gets its documented answer, none crashes the service,
//! and healthy forwards keep being accepted during and after.

mod corpus;

use std::time::Duration;

use serde_json::{Value, json};
use strexforce::signature::SIGNATURE_HEADER;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{TestApp, fixture, shipped_mappings, wait_until};
use corpus::{Case, accepted_oddities, protocol_cases, signed, signed_bad_bodies};

async fn send(app: &TestApp, case: &Case) -> (u16, Value) {
    let mut request = app
        .http
        .request(
            case.method.clone(),
            format!("{}{}", app.service.url(), case.path),
        )
        .body(case.body.clone());
    if let Some(content_type) = case.content_type {
        request = request.header("content-type", content_type);
    }
    if case.signed {
        request = request.header(SIGNATURE_HEADER, app.sign(case.path, &case.body));
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// Posts a fresh, valid MO until told to stop; returns the statuses it got.
async fn healthy_traffic(
    url: String,
    app_sign: impl Fn(&[u8]) -> String,
    stop: tokio_util::sync::CancellationToken,
) -> Vec<u16> {
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    let mut n = 0;
    while !stop.is_cancelled() {
        n += 1;
        let body = format!(
            r#"{{"transactionId":"healthy-{n}","sender":"+4700000077",{}"content":"OK {n}"}}"#,
            r#""recipient":"2002","#
        );
        let response = http
            .post(&url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, app_sign(body.as_bytes()))
            .body(body)
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    statuses
}

#[tokio::test]
async fn every_hostile_request_gets_its_documented_status_and_healthy_forwards_keep_flowing() {
    let app = TestApp::spawn().await;
    let bad_bodies = signed_bad_bodies();
    let corpus: Vec<Case> = bad_bodies
        .into_iter()
        .chain(accepted_oddities())
        .chain(protocol_cases())
        .collect();
    let signer = app.signer.clone();
    let stop = tokio_util::sync::CancellationToken::new();
    let traffic = tokio::spawn(healthy_traffic(
        format!("{}/forward/mo", app.service.url()),
        move |body| {
            signer.header_now(
                "POST",
                &format!("{}/forward/mo", crate::common::PUBLIC_URL),
                body,
            )
        },
        stop.clone(),
    ));

    let mut wrong = Vec::new();
    for case in &corpus {
        let (status, body) = send(&app, case).await;
        if status != case.status {
            wrong.push(format!("{}: {status} {body}", case.name));
        }
        if status >= 400 {
            assert!(
                body["code"].is_string() && body["detail"].is_string(),
                "{}: {body}",
                case.name
            );
        }
    }
    stop.cancel();
    let healthy = traffic.await.unwrap();

    assert!(corpus.len() >= 40, "{} cases", corpus.len());
    assert!(
        wrong.is_empty(),
        "unexpected answers:\n{}",
        wrong.join("\n")
    );
    assert!(
        !healthy.is_empty() && healthy.iter().all(|s| *s == 200),
        "{healthy:?}"
    );
    let after = app.post_fixture("dlr-subscribe.json").await;
    assert_eq!(after.status(), 200);
}

#[tokio::test]
async fn authenticated_bad_bodies_are_stored_as_rejected_and_unauthenticated_ones_not_at_all() {
    let app = TestApp::spawn().await;
    let cases = signed_bad_bodies();

    for case in &cases {
        send(&app, case).await;
        let unsigned = Case {
            signed: false,
            ..signed(case.name, case.path, case.body.clone(), 401)
        };
        assert_eq!(send(&app, &unsigned).await.0, 401, "{}", case.name);
    }

    let rejected: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT body_raw FROM inbound_event WHERE status = 'rejected' ORDER BY id",
    )
    .fetch_all(app.store().pool())
    .await
    .unwrap();
    let expected: Vec<Vec<u8>> = cases.iter().map(|case| case.body.clone()).collect();
    assert_eq!(rejected, expected);
    assert_eq!(app.count("inbound_event").await, cases.len() as i64);
}

/// Sends raw bytes and reads the status line of the answer.
async fn raw_status(app: &TestApp, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(app.service.addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = vec![0; 64];
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut answer))
        .await
        .expect("an answer")
        .unwrap();
    String::from_utf8_lossy(&answer[..read])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn oversized_headers_are_refused_431() {
    let app = TestApp::spawn().await;
    let huge = format!(
        "POST /forward/mo HTTP/1.1\r\nhost: x\r\nx-ecdsa-signature: {}\r\n\
         content-length: 0\r\n\r\n",
        "a".repeat(512 * 1024)
    );
    let many: String = (0..200).map(|i| format!("x-h{i}: v\r\n")).collect();
    let many = format!("POST /forward/mo HTTP/1.1\r\nhost: x\r\n{many}content-length: 0\r\n\r\n");

    assert!(raw_status(&app, huge.as_bytes()).await.contains(" 431 "));
    assert!(raw_status(&app, many.as_bytes()).await.contains(" 431 "));
    assert_eq!(app.post_fixture("mo-plain.json").await.status(), 200);
}

#[tokio::test]
async fn a_body_sent_too_slowly_is_answered_408_and_the_service_goes_on() {
    let app = TestApp::spawn_configured(shipped_mappings(), |config| {
        config.limits.body_timeout = Duration::from_millis(500);
    })
    .await;
    // A signature header is what makes the service read the body: the signature covers it.
    let head = "POST /forward/mo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                x-ecdsa-signature: strex:1:nonce:AAAA\r\n\
                content-length: 100\r\n\r\n{\"transactionId\":";

    let status = raw_status(&app, head.as_bytes()).await;

    assert!(status.contains(" 408 "), "{status}");
    assert_eq!(app.post_fixture("mo-plain.json").await.status(), 200);
}

#[tokio::test]
async fn a_slow_body_without_credentials_is_refused_before_it_is_read() {
    let app = TestApp::spawn_configured(shipped_mappings(), |config| {
        config.limits.body_timeout = Duration::from_secs(30);
    })
    .await;
    let head = "POST /forward/mo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                content-length: 100\r\n\r\n{\"transactionId\":";

    let started = std::time::Instant::now();
    let status = raw_status(&app, head.as_bytes()).await;

    assert!(status.contains(" 401 "), "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the refusal waited for the body: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_client_sending_its_headers_too_slowly_is_disconnected() {
    let app = TestApp::spawn_configured(shipped_mappings(), |config| {
        config.limits.header_timeout = Duration::from_millis(500);
    })
    .await;
    let mut stream = TcpStream::connect(app.service.addr).await.unwrap();
    stream
        .write_all(b"POST /forward/mo HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();

    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut rest)).await;

    assert!(closed.is_ok(), "the connection is still open");
    assert_eq!(app.post_fixture("mo-plain.json").await.status(), 200);
}

#[tokio::test]
async fn beyond_the_in_flight_limit_requests_are_answered_503_with_retry_after() {
    let app = TestApp::spawn_configured(shipped_mappings(), |config| {
        config.limits.max_in_flight = 1;
        config.limits.body_timeout = Duration::from_secs(30);
    })
    .await;
    // Holds the only slot: its body never finishes arriving.
    let mut holder = TcpStream::connect(app.service.addr).await.unwrap();
    holder
        .write_all(
            b"POST /forward/mo HTTP/1.1\r\nhost: x\r\nx-ecdsa-signature: strex:1:n:AAAA\r\n\
              content-length: 10\r\n\r\n{",
        )
        .await
        .unwrap();

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let response = loop {
        let response = app.post("mo", fixture("mo-plain.json")).await;
        if response.status() == 503 {
            break response;
        }
        assert!(std::time::Instant::now() < deadline, "no request was shed");
    };
    drop(holder);

    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "overloaded");
    wait_until("the slot to free up", Duration::from_secs(10), || async {
        app.post("mo", fixture("mo-plain.json")).await.status() != 503
    })
    .await;
}

#[tokio::test]
async fn an_exhausted_database_pool_is_answered_503_with_retry_after() {
    let app = TestApp::spawn_configured(shipped_mappings(), |config| {
        config.pool.max_connections = 1;
        config.pool.acquire_timeout = Duration::from_millis(300);
        config.sync.workers = 0;
    })
    .await;
    let held = app.service.store.pool().acquire().await.unwrap();

    let response = app.post("mo", fixture("mo-plain.json")).await;
    drop(held);

    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"code": "storage_unavailable", "detail": body["detail"]})
    );
}
