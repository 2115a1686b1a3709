//! Opt-in checks against a real Salesforce sandbox. They run only when SF_SANDBOX_LOGIN_URL
//! is set, with the other SF_SANDBOX_* settings named like strexforce's SF_* ones
//! (SF_SANDBOX_AUTH_FLOW, SF_SANDBOX_CLIENT_ID, SF_SANDBOX_CLIENT_SECRET,
//! SF_SANDBOX_USERNAME, SF_SANDBOX_PRIVATE_KEY_FILE, SF_SANDBOX_JWT_AUDIENCE,
//! SF_SANDBOX_REFRESH_TOKEN, SF_SANDBOX_PASSWORD, SF_SANDBOX_SECURITY_TOKEN,
//! SF_SANDBOX_API_VERSION). Without it they pass after saying why they did nothing.

use std::io::Write;

use clap::{CommandFactory, FromArgMatches, Parser};
use strexforce::cli::SalesforceArgs;
use strexforce::mapping::{MappingSet, MappingSettings};
use strexforce::salesforce::{SalesforceClient, SalesforceConfig, org_check};

use crate::common::shipped_mappings;

/// The settings a sandbox run reads, as `SF_SANDBOX_<NAME>` → `--sf-<name>`.
const SETTINGS: [&str; 10] = [
    "AUTH_FLOW",
    "LOGIN_URL",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "USERNAME",
    "PRIVATE_KEY_FILE",
    "JWT_AUDIENCE",
    "REFRESH_TOKEN",
    "PASSWORD",
    "SECURITY_TOKEN",
];

#[derive(Parser)]
struct SandboxArgs {
    #[command(flatten)]
    salesforce: SalesforceArgs,
}

/// The sandbox's settings, or `None` (saying so) when none are given.
fn sandbox_config(test: &str) -> Option<SalesforceConfig> {
    if std::env::var_os("SF_SANDBOX_LOGIN_URL").is_none() {
        // Straight to stderr: the test harness hides what println! prints in passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "{test}: skipped, SF_SANDBOX_LOGIN_URL is not set (no sandbox to test against)"
        );
        return None;
    }
    let mut args = vec!["sandbox".to_owned()];
    for name in SETTINGS.iter().chain(&["API_VERSION"]) {
        if let Ok(value) = std::env::var(format!("SF_SANDBOX_{name}")) {
            let flag = name.to_ascii_lowercase().replace('_', "-");
            args.push(format!("--sf-{flag}={value}"));
        }
    }
    // Only the SF_SANDBOX_* settings count, not SF_* ones that happen to be set.
    let command = SandboxArgs::command().mut_args(|arg| arg.env(None));
    let matches = command
        .try_get_matches_from(args)
        .unwrap_or_else(|error| panic!("{error}"));
    let parsed = SandboxArgs::from_arg_matches(&matches).unwrap();
    let config = parsed.salesforce.config();
    Some(config.expect("the SF_SANDBOX_* settings are complete"))
}

#[tokio::test]
async fn the_sandbox_accepts_the_configured_login_and_shows_its_api() {
    let Some(config) = sandbox_config("sandbox login") else {
        return;
    };
    let client = SalesforceClient::new(&config).unwrap();

    let versions = client
        .versions()
        .await
        .expect("the versions resource answers");
    let limits = client.limits().await;

    assert!(
        versions.iter().any(|v| v.version == config.api_version),
        "{versions:?}"
    );
    println!(
        "sandbox API usage: {:?}",
        limits.map(|l| l.daily_api_usage())
    );
    assert!(client.login_status().get().is_logged_in());
}

#[tokio::test]
async fn the_shipped_mappings_are_checked_against_the_sandbox() {
    let Some(config) = sandbox_config("sandbox org check") else {
        return;
    };
    let client = SalesforceClient::new(&config).unwrap();
    let mappings = MappingSet::load_dir(&shipped_mappings(), &MappingSettings::default()).unwrap();
    let targets = mappings.targets();
    let mut described = std::collections::HashMap::new();

    for object in org_check::objects_written(&targets) {
        let description = client.describe(&object).await.expect("describe answers");
        described.insert(object, description);
    }
    let findings = org_check::check(&targets, |name| described.get(name).cloned().flatten());

    // A sandbox without the Strex fields has findings; they are shown, not failed on.
    assert!(
        described.get("Contact").is_some_and(Option::is_some),
        "Contact is described"
    );
    for finding in findings {
        println!("{finding}");
    }
}
