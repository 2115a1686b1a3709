use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::support::{CLIENT_ID, CLIENT_SECRET, spawn};

#[tokio::test]
async fn client_credentials_grant_returns_a_signed_opaque_bearer_token() {
    let org = spawn().await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ];

    let reply = org.token_request(&form).await;

    assert_eq!(reply.status, 200);
    let body = &reply.body;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "api");
    assert_eq!(body["token_format"], "opaque");
    assert_eq!(body["instance_url"], org.emulator.url());
    assert!(body.get("expires_in").is_none());
    let id = body["id"].as_str().unwrap();
    assert!(id.contains("/id/00D") && id.contains("/005"), "{id}");
    let issued_at = body["issued_at"].as_str().unwrap();
    assert_eq!(issued_at.len(), 13, "milliseconds since the epoch");
    let mut mac = Hmac::<Sha256>::new_from_slice(CLIENT_SECRET.as_bytes()).unwrap();
    mac.update(format!("{id}{issued_at}").as_bytes());
    assert_eq!(
        body["signature"],
        BASE64.encode(mac.finalize().into_bytes())
    );
}

#[tokio::test]
async fn client_credentials_may_come_as_http_basic() {
    let org = spawn().await;
    let basic = BASE64.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));

    let response = org
        .http
        .post(org.url("/services/oauth2/token"))
        .header("authorization", format!("Basic {basic}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn token_errors_use_the_oauth_error_format() {
    let org = spawn().await;
    let cases = [
        (
            "client_credentials",
            "someone-else",
            CLIENT_SECRET,
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            "client_credentials",
            CLIENT_ID,
            "wrong",
            "invalid_client",
            "invalid client credentials",
        ),
        (
            "authorization_code",
            CLIENT_ID,
            CLIENT_SECRET,
            "unsupported_grant_type",
            "grant type not supported",
        ),
        (
            "",
            CLIENT_ID,
            CLIENT_SECRET,
            "unsupported_grant_type",
            "grant type not supported",
        ),
    ];

    for (grant, id, secret, error, description) in cases {
        let form = [
            ("grant_type", grant),
            ("client_id", id),
            ("client_secret", secret),
        ];
        let reply = org.token_request(&form).await;

        assert_eq!(reply.status, 400, "{grant} {id} {secret}");
        assert_eq!(reply.body["error"], error);
        assert_eq!(reply.body["error_description"], description);
    }
}

#[tokio::test]
async fn each_login_issues_a_new_working_token() {
    let org = spawn().await;

    let second = org.login().await;

    assert_ne!(second, org.token);
    let reply = org
        .send_as(
            reqwest::Method::GET,
            &org.data("/limits"),
            None,
            Some(&format!("Bearer {second}")),
        )
        .await;
    assert_eq!(reply.status, 200);
}
