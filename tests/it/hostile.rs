//! Malformed and hostile requests: each gets its documented answer, none crashes the service,
//! and healthy forwards keep being accepted during and after.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use strexforce::signature::SIGNATURE_HEADER;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{TestApp, fixture, shipped_mappings, wait_until};

/// One hostile request and the status it must get.
struct Case {
    name: &'static str,
    method: Method,
    path: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    signed: bool,
    status: u16,
}

fn signed(name: &'static str, path: &'static str, body: impl Into<Vec<u8>>, status: u16) -> Case {
    Case {
        name,
        method: Method::POST,
        path,
        content_type: Some("application/json"),
        body: body.into(),
        signed: true,
        status,
    }
}

fn mo_with(field: &str, value: &str) -> Vec<u8> {
    let mut body = String::from(r#"{"transactionId":"hostile-1","sender":"+4700000001","#);
    body.push_str(r#""recipient":"2002","content":"HI","#);
    body.push_str(&format!(r#""{field}":{value}}}"#));
    body.into_bytes()
}

fn dlr_with(field: &str, value: &str) -> Vec<u8> {
    let mut body = String::from(r#"{"transactionId":"hostile-2","recipient":"+4700000001","#);
    body.push_str(r#""statusCode":"Ok","detailedStatusCode":"Delivered","#);
    body.push_str(&format!(r#""{field}":{value}}}"#));
    body.into_bytes()
}

fn nested(depth: usize) -> Vec<u8> {
    let value = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    mo_with("properties", &format!(r#"{{"deep":{value}}}"#))
}

fn signed_bad_bodies() -> Vec<Case> {
    let mo = "/forward/mo";
    let dlr = "/forward/dlr";
    vec![
        signed(
            "truncated JSON",
            mo,
            &b"{\"transactionId\": \"t1\", \"sender\": "[..],
            400,
        ),
        signed(
            "truncated inside a string",
            mo,
            &br#"{"transactionId":"t"#[..],
            400,
        ),
        signed("empty body", mo, Vec::new(), 400),
        signed("whitespace only", dlr, &b" \r\n\t "[..], 400),
        signed("JSON null", mo, &b"null"[..], 400),
        signed("JSON array", dlr, &b"[1,2,3]"[..], 400),
        signed("JSON string", mo, &br#""hello""#[..], 400),
        signed("JSON number", dlr, &b"42"[..], 400),
        signed("JSON boolean", mo, &b"true"[..], 400),
        signed(
            "sender is a number",
            mo,
            &br#"{"transactionId":"t","sender":4798079008,"recipient":"2002","content":""}"#[..],
            400,
        ),
        signed(
            "transactionId is an object",
            mo,
            mo_with("transactionId", "{}"),
            400,
        ),
        signed("tags is a string", mo, mo_with("tags", r#""a,b""#), 400),
        signed("tags hold numbers", mo, mo_with("tags", "[1,2]"), 400),
        signed(
            "properties is an array",
            mo,
            mo_with("properties", "[]"),
            400,
        ),
        signed(
            "isStopMessage is a string",
            mo,
            mo_with("isStopMessage", r#""yes""#),
            400,
        ),
        signed(
            "processAttempts is text",
            mo,
            mo_with("processAttempts", r#""3""#),
            400,
        ),
        signed(
            "processAttempts beyond i64",
            mo,
            mo_with("processAttempts", "9223372036854775808"),
            400,
        ),
        signed(
            "processAttempts beyond u64",
            mo,
            mo_with("processAttempts", "99999999999999999999999"),
            400,
        ),
        signed(
            "processAttempts is a fraction",
            mo,
            mo_with("processAttempts", "1.5"),
            400,
        ),
        signed("price beyond f64", dlr, dlr_with("price", "1e400"), 400),
        signed("price below -f64", dlr, dlr_with("price", "-1e400"), 400),
        signed("price is text", dlr, dlr_with("price", r#""10.00""#), 400),
        signed(
            "delivered is a number",
            dlr,
            dlr_with("delivered", "1"),
            400,
        ),
        signed(
            "smscMessageParts beyond i64",
            dlr,
            dlr_with("smscMessageParts", "1e19"),
            400,
        ),
        signed("nesting 10,000 deep", mo, nested(10_000), 400),
        signed("nesting 200 deep", mo, nested(200), 400),
        signed(
            "invalid UTF-8 in a string",
            mo,
            mo_with("content", "\"\u{0}\"")
                .iter()
                .map(|b| if *b == 0 { 0xff } else { *b })
                .collect::<Vec<u8>>(),
            400,
        ),
        signed(
            "a raw NUL byte in a string",
            mo,
            mo_with("keywordId", "\"a\u{0}b\""),
            400,
        ),
        signed(
            "a lone surrogate escape",
            mo,
            mo_with("keywordId", r#""\ud800""#),
            400,
        ),
        signed(
            "an invalid escape",
            mo,
            mo_with("keywordId", r#""\x41""#),
            400,
        ),
        signed("a BOM and nothing else", mo, &b"\xEF\xBB\xBF"[..], 400),
        signed(
            "a UTF-16 body",
            mo,
            "{\"a\":1}"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<u8>>(),
            400,
        ),
        signed(
            "trailing garbage",
            mo,
            [fixture("mo-minimal.json"), b"garbage".to_vec()].concat(),
            400,
        ),
        signed("two objects", dlr, &b"{}{}"[..], 400),
        signed(
            "missing transactionId",
            mo,
            &br#"{"sender":"+4700000001","recipient":"2002","content":""}"#[..],
            400,
        ),
        signed(
            "blank sender",
            mo,
            &br#"{"transactionId":"t","sender":" ","recipient":"2002","content":""}"#[..],
            400,
        ),
        signed(
            "DLR without statusCode",
            dlr,
            &br#"{"transactionId":"t","recipient":"+4700000001","detailedStatusCode":"Delivered"}"#
                [..],
            400,
        ),
        signed("NaN as a number", dlr, dlr_with("price", "NaN"), 400),
        signed("a comment in JSON", mo, &b"/* hi */ {}"[..], 400),
        signed("single quotes", mo, &b"{'transactionId':'t'}"[..], 400),
    ]
}

fn accepted_oddities() -> Vec<Case> {
    let mo = "/forward/mo";
    let long_content = format!("\"{}\"", "x".repeat(200_000));
    let long_id = format!("\"{}\"", "7".repeat(10_000));
    let many_keys: String = (0..5_000)
        .map(|i| format!("\"k{i}\":{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let duplicate_keys = concat!(
        r#"{"transactionId":"dup-a","transactionId":"dup-b","#,
        r#""sender":"+4700000002","recipient":"2002","content":"x"}"#
    );
    let long_id_body = format!(
        r#"{{"transactionId":{long_id},"sender":"+4700000003","recipient":"2002","content":"x"}}"#
    );
    let long_content = mo_with("content", &long_content).replace_id("hostile-long");
    let many_properties = mo_with("properties", &format!("{{{many_keys}}}"));
    let with_bom = [b"\xEF\xBB\xBF".to_vec(), fixture("mo-plain.json")].concat();
    vec![
        signed("duplicate keys (the last wins)", mo, duplicate_keys, 200),
        signed(
            "an escaped NUL",
            mo,
            mo_with("keywordId", r#""a\u0000b""#),
            200,
        ),
        signed(
            "content longer than Salesforce text fields",
            mo,
            long_content,
            200,
        ),
        signed(
            "a transactionId longer than an external id",
            mo,
            long_id_body,
            200,
        ),
        signed(
            "5,000 custom properties",
            mo,
            many_properties.replace_id("hostile-props"),
            200,
        ),
        signed("a BOM before the object", mo, with_bom, 200),
    ]
}

trait ReplaceId {
    fn replace_id(self, id: &str) -> Vec<u8>;
}

impl ReplaceId for Vec<u8> {
    fn replace_id(self, id: &str) -> Vec<u8> {
        String::from_utf8(self)
            .unwrap()
            .replacen("hostile-1", id, 1)
            .into_bytes()
    }
}

fn protocol_cases() -> Vec<Case> {
    let with = |name, method, path, content_type, signed, status| Case {
        name,
        method,
        path,
        content_type,
        body: fixture("mo-minimal.json"),
        signed,
        status,
    };
    let big = |name, path| Case {
        body: vec![b' '; 10 * 1024 * 1024],
        ..signed(name, path, Vec::new(), 413)
    };
    vec![
        with(
            "text/plain",
            Method::POST,
            "/forward/mo",
            Some("text/plain"),
            true,
            415,
        ),
        with(
            "no Content-Type",
            Method::POST,
            "/forward/mo",
            None,
            true,
            415,
        ),
        with(
            "a form",
            Method::POST,
            "/forward/mo",
            Some("application/x-www-form-urlencoded"),
            true,
            415,
        ),
        with(
            "multipart",
            Method::POST,
            "/forward/dlr",
            Some("multipart/form-data; boundary=x"),
            true,
            415,
        ),
        with(
            "GET on a forward path",
            Method::GET,
            "/forward/mo",
            None,
            false,
            405,
        ),
        with(
            "PUT on a forward path",
            Method::PUT,
            "/forward/dlr",
            Some("application/json"),
            false,
            405,
        ),
        with(
            "DELETE on a forward path",
            Method::DELETE,
            "/forward/mo",
            None,
            false,
            405,
        ),
        with(
            "an unknown path",
            Method::POST,
            "/forward/other",
            Some("application/json"),
            false,
            404,
        ),
        with(
            "a trailing slash",
            Method::POST,
            "/forward/mo/",
            Some("application/json"),
            false,
            404,
        ),
        with(
            "a path traversal",
            Method::POST,
            "/forward/../admin/status",
            Some("application/json"),
            false,
            404,
        ),
        with(
            "unsigned",
            Method::POST,
            "/forward/mo",
            Some("application/json"),
            false,
            401,
        ),
        big("a 10 MiB body", "/forward/mo"),
        Case {
            body: vec![b'{'; 256 * 1024 + 1],
            ..signed("one byte over the limit", "/forward/dlr", Vec::new(), 413)
        },
    ]
}

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
    let head = "POST /forward/mo HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                content-length: 100\r\n\r\n{\"transactionId\":";

    let status = raw_status(&app, head.as_bytes()).await;

    assert!(status.contains(" 408 "), "{status}");
    assert_eq!(app.post_fixture("mo-plain.json").await.status(), 200);
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
        .write_all(b"POST /forward/mo HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n{")
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
