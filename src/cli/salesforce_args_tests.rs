//! Salesforce and startup settings: which flows need what.

use clap::{CommandFactory, FromArgMatches, Parser};

use super::*;

#[derive(Parser)]
struct Settings {
    #[command(flatten)]
    salesforce: SalesforceArgs,
    #[command(flatten)]
    startup: StartupArgs,
}

/// Parses flags only: the environment of the test run is ignored.
fn parse(args: &[&str]) -> Settings {
    let all = ["strexforce", "--sf-login-url=sandbox", "--sf-client-id=app"];
    let command = Settings::command().mut_args(|arg| arg.env(None));
    let matches = command
        .try_get_matches_from(all.iter().chain(args))
        .unwrap();
    Settings::from_arg_matches(&matches).unwrap()
}

#[test]
fn client_credentials_is_the_default_flow_and_needs_the_secret() {
    let without = parse(&[]).salesforce.config().unwrap_err();
    let with = parse(&["--sf-client-secret=s"])
        .salesforce
        .config()
        .unwrap();

    assert_eq!(
        without.to_string(),
        "SF_AUTH_FLOW=client_credentials needs SF_CLIENT_SECRET"
    );
    assert!(matches!(with.flow, LoginFlow::ClientCredentials));
    assert_eq!(with.login_url.as_str(), "https://test.salesforce.com/");
}

#[test]
fn each_flow_names_the_first_setting_it_lacks() {
    let cases = [
        ("jwt_bearer", "SF_USERNAME"),
        ("refresh_token", "SF_REFRESH_TOKEN"),
        ("password", "SF_USERNAME"),
    ];

    for (flow, setting) in cases {
        let flag = format!("--sf-auth-flow={flow}");

        let error = parse(&[&flag]).salesforce.config().unwrap_err();

        assert_eq!(
            error.to_string(),
            format!("SF_AUTH_FLOW={flow} needs {setting}")
        );
    }
}

#[test]
fn the_jwt_audience_follows_the_login_url_unless_set() {
    let key = tempfile::NamedTempFile::new().unwrap();
    let key_flag = format!("--sf-private-key-file={}", key.path().display());
    let base = [
        "--sf-auth-flow=jwt_bearer",
        "--sf-username=u",
        key_flag.as_str(),
    ];
    let custom: Vec<&str> = base
        .iter()
        .copied()
        .chain(["--sf-jwt-audience=https://x.my.site.com"])
        .collect();

    let derived = parse(&base).salesforce.config().unwrap();
    let configured = parse(&custom).salesforce.config().unwrap();

    let audience = |config: &SalesforceConfig| match &config.flow {
        LoginFlow::JwtBearer(jwt) => jwt.audience.clone(),
        _ => unreachable!(),
    };
    assert_eq!(audience(&derived), "https://test.salesforce.com");
    assert_eq!(audience(&configured), "https://x.my.site.com");
}

#[test]
fn starting_without_salesforce_is_a_flag_that_also_takes_a_value() {
    assert!(!parse(&[]).startup.start_without_salesforce);
    assert!(
        parse(&["--start-without-salesforce"])
            .startup
            .start_without_salesforce
    );
    assert!(
        !parse(&["--start-without-salesforce=false"])
            .startup
            .start_without_salesforce
    );
}

#[test]
fn an_api_version_must_be_written_in_full_and_recent_enough() {
    assert_eq!(super::api_version("v66.0").unwrap(), "66.0");
    assert!(
        super::api_version("66")
            .unwrap_err()
            .contains("such as 66.0")
    );
    assert!(super::api_version("45.0").unwrap_err().contains("too old"));
}
