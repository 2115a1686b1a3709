//! The JWT bearer, refresh token and password flows, and logins refused by policy.

use serde_json::{Value, json};
use sf_emulator::{DEFAULT_PASSWORD, DEFAULT_SECURITY_TOKEN, DEFAULT_USERNAME, LoginRefusal};

use crate::keys::{app_keys, claims, sign, stranger_keys};
use crate::support::{CLIENT_ID, CLIENT_SECRET, Reply, TestOrg, config, spawn_with};

const JWT_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

async fn jwt_org() -> TestOrg {
    let mut config = config();
    config.jwt_public_key = Some(app_keys().public_pem.clone());
    spawn_with(config).await
}

async fn present(org: &TestOrg, assertion: &str) -> Reply {
    org.token_request(&[("grant_type", JWT_GRANT), ("assertion", assertion)])
        .await
}

fn assert_refused(reply: &Reply, error: &str, description: &str) {
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.body["error"], error, "{}", reply.text);
    assert_eq!(reply.body["error_description"], description);
}

#[tokio::test]
async fn an_assertion_signed_with_the_apps_key_buys_a_working_token() {
    let org = jwt_org().await;
    let assertion = sign(app_keys(), &claims(CLIENT_ID, DEFAULT_USERNAME));

    let reply = present(&org, &assertion).await;

    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["instance_url"], org.emulator.url());
    assert!(reply.body.get("refresh_token").is_none());
    let token = reply.body["access_token"].as_str().unwrap();
    let limits = org
        .send_as(
            reqwest::Method::GET,
            &org.data("/limits"),
            None,
            Some(&format!("Bearer {token}")),
        )
        .await;
    assert_eq!(limits.status, 200);
}

#[tokio::test]
async fn an_assertion_verifies_against_an_uploaded_certificate_too() {
    let mut config = config();
    config.jwt_public_key = Some(app_keys().certificate_pem.clone());
    let org = spawn_with(config).await;

    let reply = present(
        &org,
        &sign(app_keys(), &claims(CLIENT_ID, DEFAULT_USERNAME)),
    )
    .await;

    assert_eq!(reply.status, 200, "{}", reply.text);
}

#[tokio::test]
async fn bad_assertions_get_salesforces_token_errors() {
    let org = jwt_org().await;

    for (case, assertion, error, description) in bad_assertions() {
        let reply = present(&org, &assertion).await;

        assert_eq!(reply.body["error"], error, "{case}: {}", reply.text);
        assert_refused(&reply, error, description);
    }
}

/// What is wrong, the assertion, and Salesforce's error and description for it.
fn bad_assertions() -> Vec<(&'static str, String, &'static str, &'static str)> {
    let now = chrono::Utc::now().timestamp();
    let good = claims(CLIENT_ID, DEFAULT_USERNAME);
    let with = |key: &str, value: Value| {
        let mut claims = good.clone();
        claims[key] = value;
        claims
    };
    vec![
        (
            "signed with another key",
            sign(stranger_keys(), &good),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            "expired",
            sign(app_keys(), &with("exp", json!(now - 60))),
            "invalid_grant",
            "expired authorization code",
        ),
        (
            "expiring too late",
            sign(app_keys(), &with("exp", json!(now + 600))),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            "another app",
            sign(app_keys(), &with("iss", json!("other-app"))),
            "invalid_client_id",
            "client identifier invalid",
        ),
        (
            "another audience",
            sign(app_keys(), &with("aud", json!("https://example.com"))),
            "invalid_grant",
            "Audience validation failed",
        ),
        (
            "another user",
            sign(app_keys(), &with("sub", json!("nobody@example.com"))),
            "invalid_grant",
            "invalid assertion",
        ),
        (
            "not a JWT",
            "garbage".to_string(),
            "invalid_grant",
            "invalid assertion",
        ),
    ]
}

#[tokio::test]
async fn without_an_uploaded_key_every_assertion_is_refused() {
    let org = spawn_with(config()).await;

    let reply = present(
        &org,
        &sign(app_keys(), &claims(CLIENT_ID, DEFAULT_USERNAME)),
    )
    .await;

    assert_refused(&reply, "invalid_grant", "invalid assertion");
}

#[tokio::test]
async fn a_configured_audience_is_the_only_one_accepted() {
    let mut config = config();
    config.jwt_public_key = Some(app_keys().public_pem.clone());
    config.jwt_audience = Some("https://acme.my.site.com".into());
    let org = spawn_with(config).await;
    let mut site = claims(CLIENT_ID, DEFAULT_USERNAME);
    site["aud"] = json!("https://acme.my.site.com");

    let login = present(
        &org,
        &sign(app_keys(), &claims(CLIENT_ID, DEFAULT_USERNAME)),
    )
    .await;
    let accepted = present(&org, &sign(app_keys(), &site)).await;

    assert_refused(&login, "invalid_grant", "Audience validation failed");
    assert_eq!(accepted.status, 200);
}

async fn refresh_org(rotate: bool) -> TestOrg {
    let mut config = config();
    config.refresh_token = Some("5Aep861-first".into());
    config.rotate_refresh_tokens = rotate;
    spawn_with(config).await
}

async fn refresh(org: &TestOrg, token: &str, secret: &str) -> Reply {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("client_id", CLIENT_ID),
        ("client_secret", secret),
    ];
    org.token_request(&form).await
}

#[tokio::test]
async fn a_refresh_token_buys_access_tokens_again_and_again_without_rotation() {
    let org = refresh_org(false).await;

    let first = refresh(&org, "5Aep861-first", CLIENT_SECRET).await;
    let second = refresh(&org, "5Aep861-first", CLIENT_SECRET).await;

    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(second.status, 200);
    assert!(first.body.get("refresh_token").is_none());
}

#[tokio::test]
async fn with_rotation_each_refresh_returns_a_new_token_and_retires_the_old_one() {
    let org = refresh_org(true).await;

    let first = refresh(&org, "5Aep861-first", CLIENT_SECRET).await;
    let rotated = first.body["refresh_token"].as_str().unwrap().to_owned();
    let reused = refresh(&org, "5Aep861-first", CLIENT_SECRET).await;
    let next = refresh(&org, &rotated, CLIENT_SECRET).await;

    assert_eq!(first.status, 200);
    assert_ne!(rotated, "5Aep861-first");
    assert_refused(&reused, "invalid_grant", "expired access/refresh token");
    assert_eq!(next.status, 200);
}

#[tokio::test]
async fn a_revoked_or_unknown_refresh_token_and_a_wrong_secret_are_refused() {
    let org = refresh_org(false).await;

    let wrong_secret = refresh(&org, "5Aep861-first", "wrong").await;
    org.emulator.revoke_refresh_tokens();
    let revoked = refresh(&org, "5Aep861-first", CLIENT_SECRET).await;

    assert_refused(
        &wrong_secret,
        "invalid_client",
        "invalid client credentials",
    );
    assert_refused(&revoked, "invalid_grant", "expired access/refresh token");
}

async fn log_in_with_password(org: &TestOrg, password: &str) -> Reply {
    let form = [
        ("grant_type", "password"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
        ("username", DEFAULT_USERNAME),
        ("password", password),
    ];
    org.token_request(&form).await
}

#[tokio::test]
async fn the_password_flow_needs_the_security_token_appended() {
    let org = spawn_with(config()).await;

    let with_token =
        log_in_with_password(&org, &format!("{DEFAULT_PASSWORD}{DEFAULT_SECURITY_TOKEN}")).await;
    let without = log_in_with_password(&org, DEFAULT_PASSWORD).await;

    assert_eq!(with_token.status, 200, "{}", with_token.text);
    assert_refused(&without, "invalid_grant", "authentication failure");
}

#[tokio::test]
async fn a_login_policy_refuses_every_grant_with_its_error() {
    let org = spawn_with(config()).await;
    let form = [
        ("grant_type", "client_credentials"),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ];
    let cases = [
        (
            LoginRefusal::UserNotApproved,
            "invalid_grant",
            "user hasn't approved this consumer",
        ),
        (
            LoginRefusal::AppAccessDenied,
            "invalid_app_access",
            "user is not admin approved to access this app",
        ),
        (
            LoginRefusal::IpRestricted,
            "invalid_grant",
            "ip restricted or invalid login hours",
        ),
        (
            LoginRefusal::NeedsMyDomain,
            "invalid_grant",
            "request not supported on this domain",
        ),
        (
            LoginRefusal::NoRunAsUser,
            "invalid_grant",
            "no client credentials user enabled",
        ),
    ];

    for (refusal, error, description) in cases {
        org.emulator.refuse_logins(Some(refusal));

        let reply = org.token_request(&form).await;

        assert_refused(&reply, error, description);
    }
    org.emulator.refuse_logins(None);
    assert_eq!(org.token_request(&form).await.status, 200);
}
