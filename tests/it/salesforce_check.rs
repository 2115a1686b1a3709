//! `strexforce salesforce check` run as a program against the emulator.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::shipped_mappings;
use crate::org::{CLIENT_ID, CLIENT_SECRET, emulator_config, start_emulator};

/// Runs the check with only the given settings in its environment, from an empty folder
/// (so that no `.env` file is read).
async fn run_check(settings: Vec<(&'static str, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        let folder = tempfile::tempdir().unwrap();
        Command::new(env!("CARGO_BIN_EXE_strexforce"))
            .args(["salesforce", "check"])
            .current_dir(folder.path())
            .env_clear()
            .envs(settings)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn settings(url: &str, mappings: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("SF_LOGIN_URL", url.to_owned()),
        ("SF_CLIENT_ID", CLIENT_ID.to_owned()),
        ("SF_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
        ("STREXFORCE_MAPPINGS_DIR", mappings.display().to_string()),
    ]
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn the_shipped_mappings_pass_against_the_emulated_org() {
    let emulator = start_emulator(emulator_config()).await;

    let output = run_check(settings(&emulator.url(), &shipped_mappings())).await;

    let text = stdout(&output);
    assert!(
        output.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.contains(&format!(
            "logged in with client_credentials to {}",
            emulator.url()
        )),
        "{text}"
    );
    assert!(text.contains("API version  66.0 ("), "{text}");
    assert!(text.contains("API usage"), "{text}");
    // Opportunity.ContactId can be set only on create: a warning, not an error.
    assert!(text.contains("0 error(s)"), "{text}");
}

/// One step per kind of problem, against the emulator's built-in schema.
const BROKEN: &str = r#"name: broken
match:
  kind: mo
rules:
  - name: everything wrong
    upserts:
      - object: Strex_Missing__c
        external_id: Key__c
        fields:
          Key__c: "{{ msisdn }}"
      - object: Contact
        external_id: LastName
        fields:
          LastName: "{{ msisdn }}"
          Name: Someone
          FirstNmae: "{{ sender }}"
          Strex_Subscription_Status__c: Subscribed
          Strex_Keyword__c: "😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀"
      - object: Opportunity
        external_id: Strex_Transaction_Id__c
        fields:
          Strex_Transaction_Id__c: "{{ transactionId }}"
          Name: SMS donation
          StageName: Pledged
          CloseDate: "{{ received | datetime }}"
          Contact: { Strex_MSISDN__c: "{{ msisdn }}" }
      - object: Strex_Event__c
        external_id: Strex_Transaction_Id__c
        fields:
          Strex_Transaction_Id__c: "{{ transactionId }}"
          Contact__r: { LastName: "{{ msisdn }}" }
          Parent__r: { Strex_MSISDN__c: "{{ msisdn }}" }
"#;

#[tokio::test]
async fn a_broken_mapping_gets_a_finding_for_each_problem_and_a_failing_exit() {
    let emulator = start_emulator(emulator_config()).await;
    let mappings = tempfile::tempdir().unwrap();
    std::fs::write(mappings.path().join("broken.yaml"), BROKEN).unwrap();

    let output = run_check(settings(&emulator.url(), mappings.path())).await;

    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    let expected = [
        "broken.yaml:7:",
        "the org has no such object",
        "Contact.LastName",
        "not an External ID field",
        "Contact.Name",
        "cannot be set when a record is created",
        "did you mean FirstName?",
        "\"Subscribed\" is not an active value",
        "42 UTF-16 units long; the field holds 40",
        "Opportunity.Contact",
        "can be set only when a record is created",
        "LastName is not an External ID field of Contact",
        "no lookup or master-detail relationship",
    ];
    for needle in expected {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

#[tokio::test]
async fn a_refused_login_is_reported_with_its_own_exit_code() {
    let emulator = start_emulator(emulator_config()).await;
    let mut wrong = settings(&emulator.url(), &shipped_mappings());
    wrong[2].1 = "wrong".into();

    let output = run_check(wrong).await;

    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("SF_CLIENT_SECRET"), "{text}");
}

#[tokio::test]
async fn a_flow_without_its_settings_is_refused_before_any_login() {
    let emulator = start_emulator(emulator_config()).await;
    let mut jwt = settings(&emulator.url(), &shipped_mappings());
    jwt.push(("SF_AUTH_FLOW", "jwt_bearer".into()));

    let output = run_check(jwt).await;

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("SF_AUTH_FLOW=jwt_bearer needs SF_USERNAME"),
        "{stderr}"
    );
}
