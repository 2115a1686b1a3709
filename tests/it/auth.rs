//! Who may write through the forward URL, and what those who may not get back.

use serde_json::Value;
use strexforce::server::admin::AdminConfig;
use strexforce::signature::SIGNATURE_HEADER;

use crate::common::{FORWARD_TOKEN, TestApp, fixture, shipped_mappings};

const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdefgh";

async fn problem(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

async fn post_with_header(app: &TestApp, header: &str) -> reqwest::Response {
    app.http
        .post(format!("{}/forward/mo", app.service.url()))
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, header)
        .body(fixture("mo-plain.json"))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_unsigned_forward_is_refused_401_counted_and_not_stored() {
    let app = TestApp::spawn().await;

    let response = app
        .post_unsigned("/forward/mo", fixture("mo-plain.json"))
        .await;

    let (status, body) = problem(response).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "missing_header");
    assert_eq!(app.count("inbound_event").await, 0);
}

#[tokio::test]
async fn a_signature_over_the_address_the_service_sees_is_refused() {
    let app = TestApp::spawn().await;
    let body = fixture("mo-plain.json");
    // What a verifier trusting the Host header would rebuild behind a proxy.
    let seen = format!("{}/forward/mo", app.service.url());
    let header = app.signer.header_now("POST", &seen, &body);

    let (status, problem) = problem(post_with_header(&app, &header).await).await;

    assert_eq!(status, 401);
    assert_eq!(problem["code"], "bad_signature");
    assert_eq!(app.count("inbound_event").await, 0);
}

#[tokio::test]
async fn a_signed_forward_sent_twice_is_stored_once_and_the_copy_refused_as_a_replay() {
    let app = TestApp::spawn().await;
    let header = app.sign("/forward/mo", &fixture("mo-plain.json"));

    let first = post_with_header(&app, &header).await;
    let copy = post_with_header(&app, &header).await;

    assert_eq!(first.status(), 200);
    let (status, body) = problem(copy).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "replayed_nonce");
    assert_eq!(app.count("inbound_event").await, 1);
    assert_eq!(app.count("signature_nonce").await, 1);
}

#[tokio::test]
async fn the_signed_uri_includes_the_raw_query_string() {
    let app = TestApp::spawn().await;
    let body = fixture("mo-plain.json");
    let path = "/forward/mo?tenant=Acme%2BCo&source=Master";
    let header = app.sign(path, &body);

    let response = app
        .http
        .post(format!("{}{path}", app.service.url()))
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, header)
        .body(body)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn malformed_signature_headers_are_answered_401_with_a_reason_never_500() {
    let app = TestApp::spawn().await;
    let valid = app.sign("/forward/mo", &fixture("mo-plain.json"));
    let signature = valid.rsplit(':').next().unwrap().to_owned();
    let first = if signature.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{first}{}", &signature[1..]);
    let cases = [
        ("", "malformed_header"),
        ("one:two:three", "malformed_header"),
        ("k:1:n:s:extra", "malformed_header"),
        (
            "strex-test-key:99999999999999999999999:n:x",
            "malformed_header",
        ),
        ("strex-test-key:1:n:not*base64", "malformed_header"),
        (
            &format!("key/../../etc:1:n:{signature}"),
            "malformed_header",
        ),
        (&format!("HMAC {valid}"), "malformed_header"),
        (&format!("strex-test-key:1:n:{signature}"), "clock_drift"),
        (
            &valid.replacen("strex-test-key", "someone-else", 1),
            "unknown_key",
        ),
        (&valid.replacen(&signature, &tampered, 1), "bad_signature"),
    ];

    for (header, reason) in cases {
        let response = post_with_header(&app, header).await;
        let (status, body) = problem(response).await;
        assert_eq!(
            (status, body["code"].as_str().unwrap()),
            (401, reason),
            "{header:?}"
        );
    }

    assert_eq!(app.count("inbound_event").await, 0);
}

#[tokio::test]
async fn a_header_that_is_not_ascii_is_refused_as_malformed() {
    let app = TestApp::spawn().await;
    let value = reqwest::header::HeaderValue::from_bytes(b"k\xff:1:n:s").unwrap();

    let response = app
        .http
        .post(format!("{}/forward/mo", app.service.url()))
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, value)
        .body(fixture("mo-plain.json"))
        .send()
        .await
        .unwrap();

    let (status, body) = problem(response).await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (401, "malformed_header")
    );
}

async fn token_app(with_ecdsa: bool) -> TestApp {
    TestApp::spawn_configured(shipped_mappings(), |config| {
        config.auth.token = Some(FORWARD_TOKEN.to_owned().into());
        if !with_ecdsa {
            config.auth.ecdsa = None;
        }
    })
    .await
}

#[tokio::test]
async fn token_mode_accepts_the_token_as_bearer_or_query_parameter_and_nothing_else() {
    let app = token_app(false).await;
    let url = |query: &str| format!("{}/forward/mo{query}", app.service.url());
    let body = || fixture("mo-plain.json");
    let send = |request: reqwest::RequestBuilder| async {
        let response = request
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        response.status().as_u16()
    };

    let bearer = send(
        app.http
            .post(url(""))
            .bearer_auth(FORWARD_TOKEN)
            .body(body()),
    )
    .await;
    let query = send(
        app.http
            .post(url(&format!("?token={FORWARD_TOKEN}")))
            .body(body()),
    )
    .await;
    let wrong = send(
        app.http
            .post(url(""))
            .bearer_auth("wrong-token")
            .body(body()),
    )
    .await;
    let prefix = send(
        app.http
            .post(url(""))
            .bearer_auth(&FORWARD_TOKEN[..20])
            .body(body()),
    )
    .await;
    let none = send(app.http.post(url("")).body(body())).await;
    let signed = app
        .post("mo", fixture("mo-plain.json"))
        .await
        .status()
        .as_u16();

    assert_eq!(
        [bearer, query, wrong, prefix, none, signed],
        [200, 200, 401, 401, 401, 401]
    );
}

#[tokio::test]
async fn with_ecdsa_and_token_either_proof_is_enough() {
    let app = token_app(true).await;

    let signed = app.post("mo", fixture("mo-plain.json")).await;
    let with_token = app
        .http
        .post(format!("{}/forward/dlr", app.service.url()))
        .header("content-type", "application/json")
        .bearer_auth(FORWARD_TOKEN)
        .body(fixture("dlr-subscribe.json"))
        .send()
        .await
        .unwrap();
    let lower_case_scheme = app
        .http
        .post(format!("{}/forward/dlr", app.service.url()))
        .header("content-type", "application/json")
        .header("authorization", format!("bearer {FORWARD_TOKEN}"))
        .body(fixture("dlr-unsubscribe.json"))
        .send()
        .await
        .unwrap();
    let neither = app
        .post_unsigned("/forward/dlr", fixture("dlr-signup.json"))
        .await;
    let wrong_token = app
        .post_unsigned("/forward/dlr?token=wrong", fixture("dlr-signup.json"))
        .await;

    assert_eq!(signed.status(), 200);
    assert_eq!(with_token.status(), 200);
    assert_eq!(lower_case_scheme.status(), 200);
    let (status, body) = problem(neither).await;
    assert_eq!(
        (status, body["code"].as_str().unwrap()),
        (401, "missing_header")
    );
    // A wrong token is reported as such, not as a missing signature.
    let (status, body) = problem(wrong_token).await;
    assert_eq!((status, body["code"].as_str().unwrap()), (401, "bad_token"));
}

async fn admin_app(separate_listener: bool) -> TestApp {
    TestApp::spawn_configured(shipped_mappings(), |config| {
        config.admin = Some(AdminConfig {
            token: ADMIN_TOKEN.to_owned().into(),
            listen: separate_listener.then(|| "127.0.0.1:0".parse().unwrap()),
        });
    })
    .await
}

#[tokio::test]
async fn admin_endpoints_are_off_by_default() {
    let app = TestApp::spawn().await;

    let response = app
        .http
        .get(format!("{}/admin/status", app.service.url()))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn the_admin_status_needs_the_token_and_shows_mappings_backlog_and_refusals() {
    let app = admin_app(true).await;
    let admin = format!("http://{}/admin/status", app.service.admin_addr.unwrap());
    app.post_fixture("dlr-subscribe.json").await;
    app.post_unsigned("/forward/mo", fixture("mo-plain.json"))
        .await;

    let without = app.http.get(&admin).send().await.unwrap();
    let wrong = app
        .http
        .get(&admin)
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    let with = app
        .http
        .get(&admin)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    let on_forward_listener = app
        .http
        .get(format!("{}/admin/status", app.service.url()))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();

    assert_eq!(without.status(), 401);
    assert_eq!(wrong.status(), 401);
    assert_eq!(on_forward_listener.status(), 404);
    assert_eq!(with.status(), 200);
    let status: Value = with.json().await.unwrap();
    assert_eq!(
        status["mappings"],
        serde_json::json!(["mo", "sms-delivery", "subscription"])
    );
    assert!(
        status["mapping_version"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
    );
    assert_eq!(status["events"]["planned"], 1);
    assert!(status["sync_log"].is_object());
    assert_eq!(status["auth_failures"]["missing_header"], 1);
}

#[tokio::test]
async fn admin_endpoints_can_share_the_forward_listener() {
    let app = admin_app(false).await;

    let response = app
        .http
        .get(format!("{}/admin/status", app.service.url()))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    assert!(app.service.admin_addr.is_none());
}

#[tokio::test]
async fn health_answers_reveal_nothing_private() {
    let app = TestApp::spawn().await;

    for path in ["/healthz", "/readyz"] {
        let response = app
            .http
            .get(format!("{}{path}", app.service.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        if path == "/readyz" {
            // The login state by name only: no instance URL, no error text.
            assert_eq!(keys, ["salesforce", "status"], "{path}: {body}");
            assert_eq!(body["salesforce"], "logged_in");
        } else {
            assert_eq!(keys, ["status"], "{path}: {body}");
        }
    }
}

#[tokio::test]
async fn a_signed_forward_that_could_not_be_stored_is_accepted_when_strex_sends_it_again() {
    let app = TestApp::spawn().await;
    let header = app.sign("/forward/mo", &fixture("mo-plain.json"));
    let pool = app.store().pool();
    sqlx::raw_sql(
        "CREATE FUNCTION refuse_event() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'storage is failing'; END $$;
         CREATE TRIGGER refuse_event BEFORE INSERT ON inbound_event
           FOR EACH ROW EXECUTE FUNCTION refuse_event();",
    )
    .execute(pool)
    .await
    .unwrap();

    let failed = post_with_header(&app, &header).await;
    sqlx::raw_sql("DROP TRIGGER refuse_event ON inbound_event")
        .execute(pool)
        .await
        .unwrap();
    let retried = post_with_header(&app, &header).await;

    assert_eq!(failed.status(), 503);
    assert_eq!(retried.status(), 200);
    assert_eq!(app.count("inbound_event").await, 1);
}
