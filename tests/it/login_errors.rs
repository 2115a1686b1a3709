//! A refused login becomes one line that names the setting or the app policy to fix.

use secrecy::SecretString;
use sf_emulator::LoginRefusal;
use strexforce::salesforce::{
    Advice, AuthError, JwtBearer, LoginFlow, SalesforceClient, SalesforceConfig,
};

use crate::org::{Flow, emulator_config, salesforce_config, start_emulator};

/// Logs in once and returns the error's message, which must be one line.
async fn login_error(config: &SalesforceConfig) -> (AuthError, String) {
    let client = SalesforceClient::new(config).unwrap();
    let error = client.log_in().await.expect_err("the login is refused");
    let message = error.to_string();
    assert!(!message.contains('\n'), "one line: {message}");
    (error, message)
}

fn assert_names(message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            message.contains(needle),
            "{needle:?} missing from: {message}"
        );
    }
}

#[tokio::test]
async fn an_unknown_consumer_key_names_sf_client_id() {
    let emulator = start_emulator(emulator_config()).await;
    let mut config = salesforce_config(Flow::ClientCredentials, &emulator.url());
    config.client_id = "someone-else".into();

    let (error, message) = login_error(&config).await;

    assert_eq!(error.advice(), Some(Advice::UnknownClient));
    assert_names(&message, &["invalid_client_id", "SF_CLIENT_ID"]);
}

#[tokio::test]
async fn a_wrong_consumer_secret_names_sf_client_secret() {
    let emulator = start_emulator(emulator_config()).await;
    let mut config = salesforce_config(Flow::ClientCredentials, &emulator.url());
    config.client_secret = SecretString::from("wrong");

    let (_, message) = login_error(&config).await;

    assert_names(&message, &["invalid_client", "SF_CLIENT_SECRET"]);
}

#[tokio::test]
async fn a_wrong_password_or_missing_security_token_names_the_three_settings() {
    let emulator = start_emulator(emulator_config()).await;
    let mut config = salesforce_config(Flow::Password, &emulator.url());
    config.flow = LoginFlow::Password {
        username: sf_emulator::DEFAULT_USERNAME.into(),
        password: SecretString::from(sf_emulator::DEFAULT_PASSWORD),
        security_token: SecretString::from(""),
    };

    let (error, message) = login_error(&config).await;

    assert_eq!(error.advice(), Some(Advice::WrongPassword));
    assert_names(
        &message,
        &[
            "authentication failure",
            "SF_USERNAME",
            "SF_PASSWORD",
            "SF_SECURITY_TOKEN",
        ],
    );
}

#[tokio::test]
async fn policy_refusals_name_what_to_change_in_salesforce() {
    let cases = [
        (
            Flow::JwtBearer,
            LoginRefusal::UserNotApproved,
            Advice::UserNotApproved,
            "pre-authorized",
        ),
        (
            Flow::Password,
            LoginRefusal::AppAccessDenied,
            Advice::AppAccessDenied,
            "permission set",
        ),
        (
            Flow::ClientCredentials,
            LoginRefusal::IpRestricted,
            Advice::IpRestricted,
            "trusted IP ranges",
        ),
        (
            Flow::ClientCredentials,
            LoginRefusal::NeedsMyDomain,
            Advice::NeedsMyDomain,
            "SF_LOGIN_URL",
        ),
        (
            Flow::ClientCredentials,
            LoginRefusal::NoRunAsUser,
            Advice::NoRunAsUser,
            "Run As user",
        ),
    ];

    for (flow, refusal, advice, needle) in cases {
        let emulator = start_emulator(emulator_config()).await;
        emulator.refuse_logins(Some(refusal));
        let config = salesforce_config(flow, &emulator.url());

        let (error, message) = login_error(&config).await;

        assert_eq!(error.advice(), Some(advice), "{message}");
        assert_names(&message, &[needle]);
    }
}

#[tokio::test]
async fn a_revoked_refresh_token_names_sf_refresh_token() {
    let emulator = start_emulator(emulator_config()).await;
    emulator.revoke_refresh_tokens();
    let config = salesforce_config(Flow::RefreshToken, &emulator.url());

    let (error, message) = login_error(&config).await;

    assert_eq!(error.advice(), Some(Advice::RefreshTokenRevoked));
    assert_names(
        &message,
        &["expired access/refresh token", "SF_REFRESH_TOKEN"],
    );
}

#[tokio::test]
async fn an_assertion_the_app_cannot_verify_names_the_key_file() {
    let mut emulator_config = emulator_config();
    emulator_config.jwt_public_key = None;
    let emulator = start_emulator(emulator_config).await;
    let config = salesforce_config(Flow::JwtBearer, &emulator.url());

    let (error, message) = login_error(&config).await;

    assert_eq!(error.advice(), Some(Advice::AssertionRejected));
    assert_names(&message, &["invalid assertion", "SF_PRIVATE_KEY_FILE"]);
}

#[tokio::test]
async fn a_wrong_audience_names_sf_jwt_audience() {
    let emulator = start_emulator(emulator_config()).await;
    let mut config = salesforce_config(Flow::JwtBearer, &emulator.url());
    if let LoginFlow::JwtBearer(jwt) = &mut config.flow {
        jwt.audience = "https://acme.example.com".into();
    }

    let (error, message) = login_error(&config).await;

    assert_eq!(error.advice(), Some(Advice::AudienceRejected));
    assert_names(&message, &["SF_JWT_AUDIENCE"]);
}

#[tokio::test]
async fn a_key_file_that_is_not_a_private_key_stops_the_client_at_once() {
    let mut config = salesforce_config(Flow::JwtBearer, "http://127.0.0.1:9");
    config.flow = LoginFlow::JwtBearer(JwtBearer {
        username: "someone@example.com".into(),
        private_key_pem: SecretString::from("-----BEGIN CERTIFICATE-----"),
        audience: "https://login.salesforce.com".into(),
    });

    let error = SalesforceClient::new(&config).unwrap_err();

    assert_names(&error.to_string(), &["SF_PRIVATE_KEY_FILE"]);
}

#[tokio::test]
async fn an_unreachable_token_endpoint_names_sf_login_url() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let config = salesforce_config(Flow::ClientCredentials, &url);

    let (error, message) = login_error(&config).await;

    assert!(error.is_transient());
    assert_names(&message, &["SF_LOGIN_URL"]);
}
