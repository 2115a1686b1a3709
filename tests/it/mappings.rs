//! The mapping tools and the mapping lifecycle: check, preview, test, hot reload, replay.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use strexforce::forward::NumberingPlan;
use strexforce::mapping::cases::run_dir;
use strexforce::mapping::{MappingSet, MappingSettings};
use strexforce::salesforce::org_check::{self, Described, Severity};
use strexforce::salesforce::schema_file;

use crate::common::{
    TestApp, copy_shipped_mappings, fixture, query_json, shipped_mappings, wait_until,
};

fn strexforce(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_strexforce"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("STREXFORCE_MAPPINGS_DIR")
        .output()
        .expect("the strexforce binary runs")
}

#[test]
fn the_shipped_mappings_pass_check_against_the_emulator_schema_and_their_cases() {
    let set = MappingSet::load_dir(&shipped_mappings(), &MappingSettings::default()).unwrap();

    let described = Described::from_descriptions(schema_file::builtin());
    let findings = org_check::check(&set.targets(), |name| described.lookup(name));
    let results = run_dir(
        &set,
        &shipped_mappings().join("tests"),
        &NumberingPlan::default(),
    )
    .unwrap();

    let errors: Vec<String> = findings
        .iter()
        .filter(|f| f.severity() == Severity::Error)
        .map(ToString::to_string)
        .collect();
    assert_eq!(errors, Vec::<String>::new());
    let failures: Vec<_> = results.iter().filter(|r| r.failure.is_some()).collect();
    assert_eq!(
        failures,
        Vec::<&strexforce::mapping::cases::CaseResult>::new()
    );
    let names: Vec<&str> = results.iter().map(|r| r.name.as_str()).collect();
    for action in [
        "Subscribe",
        "Unsubscribe",
        "Signup",
        "Recurring",
        "AlterPrice",
        "SubscribePreAuthFailed",
        "RecurringPreAuthFailed",
        "ValidationFailed",
        "AlreadyRegistered",
        "LookupFailed",
        "AlterPriceInvalid",
    ] {
        assert!(
            names.iter().any(|name| name.contains(action)),
            "no case for {action}"
        );
    }
}

#[test]
fn mappings_check_prints_each_problem_with_its_position_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.yaml"),
        "rules:\n  - name: r\n    upserts:\n      - object: Contact\n        external_id: Strex_MSISDN__c\n        fields:\n          Strex_MSISDN__c: \"{{ msisdn }}\"\n          Strex_Subscription_Status__c: Sleeping\n          Shoe_Size__c: 44\n          Strex_Gender__c: { value: \"{{ lookup.gender }}\", map: { M: Male } }\n      - object: Spaceship__c\n        external_id: Name\n        fields: { Name: x }\n",
    )
    .unwrap();

    let output = strexforce(&[
        "mappings",
        "check",
        "--mappings",
        dir.path().to_str().unwrap(),
    ]);

    assert!(!output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let file = dir.path().join("broken.yaml").display().to_string();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "{file}:4:17: warning: Contact.LastName: required when a record is created, and no step writing this record sets it"
            ),
            format!(
                "{file}:8:41: error: Contact.Strex_Subscription_Status__c: \"Sleeping\" is not an active value of this picklist"
            ),
            format!(
                "{file}:9:25: error: Contact.Shoe_Size__c: no such field, or the user cannot see it (field-level security)"
            ),
            format!(
                "{file}:10:28: warning: Contact.Strex_Gender__c: \"Male\" is not an active value of this picklist (unrestricted, so Salesforce stores it as an inactive value)"
            ),
            format!(
                "{file}:11:17: error: Spaceship__c: the org has no such object, or the user cannot see it"
            ),
        ]
    );
}

#[test]
fn mappings_preview_prints_the_plan_as_json() {
    let output = strexforce(&[
        "mappings",
        "preview",
        "--kind",
        "dlr",
        "--received-at",
        "2025-03-31T22:30:00Z",
        "tests/fixtures/strex/dlr-recurring.json",
    ]);

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let preview: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(preview["status"], "planned");
    assert_eq!(preview["subject"], "+4700000001");
    let upserts: Vec<(&str, &str)> = preview["upserts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["sobject"].as_str().unwrap(), u["rule"].as_str().unwrap()))
        .collect();
    assert_eq!(
        upserts,
        [
            ("Contact", "contact+charged"),
            ("Opportunity", "donation"),
            ("Strex_Event__c", "event")
        ]
    );
    assert_eq!(preview["upserts"][1]["record"]["CloseDate"], "2025-04-01");
    assert_eq!(preview["upserts"][1]["record"]["Amount"], 200);
}

/// A report the shipped subscription mapping turns into an Unsubscribed contact.
const UNSUBSCRIBE: &str = "{ transactionId: t, recipient: \"+4700000001\", statusCode: Ok, \
    detailedStatusCode: Delivered, properties: { ServiceType: Subscription, SystemAction: \
    Unsubscribe } }";

/// Runs `strexforce mappings test` on the shipped mappings with these case files instead of
/// the shipped cases; returns whether it passed, its stdout and its stderr.
fn run_mapping_cases(case_files: &[(&str, String)]) -> (bool, String, String) {
    let dir = tempfile::tempdir().unwrap();
    copy_shipped_mappings(dir.path());
    std::fs::create_dir(dir.path().join("tests")).unwrap();
    for (name, text) in case_files {
        std::fs::write(dir.path().join("tests").join(name), text).unwrap();
    }
    let output = strexforce(&[
        "mappings",
        "test",
        "--mappings",
        dir.path().to_str().unwrap(),
    ]);
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn mappings_test_prints_a_diff_for_a_failing_case() {
    let case = format!(
        "cases:\n  - name: expects the wrong status\n    kind: dlr\n    forward: {UNSUBSCRIBE}\n    \
         expect:\n      upserts:\n        - sobject: Contact\n          \
         record: {{ Strex_Subscription_Status__c: Active }}\n        - sobject: Strex_Event__c\n"
    );

    let (passed, stdout, _) = run_mapping_cases(&[("wrong.yaml", case)]);

    assert!(!passed);
    assert!(stdout.contains("FAIL  "), "{stdout}");
    assert!(
        stdout.contains("-      \"Strex_Subscription_Status__c\": \"Active\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("+      \"Strex_Subscription_Status__c\": \"Unsubscribed\""),
        "{stdout}"
    );
    assert!(stdout.contains("0 passed, 1 failed"), "{stdout}");
}

#[test]
fn mappings_test_reports_a_broken_case_file_and_still_runs_the_others() {
    let broken = "cases:\n  - name: misspelt key\n    kind: dlr\n    forwrd: {}\n    expect: {}\n";
    let unmapped = format!(
        "cases:\n  - name: wrongly expects nothing\n    kind: dlr\n    forward: {UNSUBSCRIBE}\n    \
         expect: {{ unmapped: true }}\n"
    );

    let (passed, stdout, _) = run_mapping_cases(&[
        ("a-broken.yaml", broken.to_owned()),
        ("b-unmapped.yaml", unmapped),
    ]);

    assert!(!passed);
    assert!(
        stdout.contains("a-broken.yaml: (the file itself)"),
        "{stdout}"
    );
    assert!(stdout.contains("unknown field `forwrd`"), "{stdout}");
    assert!(
        stdout.contains("expected unmapped, but the forward was planned as:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\"Strex_Subscription_Status__c\": \"Unsubscribed\""),
        "{stdout}"
    );
    assert!(stdout.contains("0 passed, 2 failed"), "{stdout}");
}

#[test]
fn mappings_test_without_cases_says_where_it_looked() {
    let (passed, _, stderr) = run_mapping_cases(&[]);

    assert!(!passed);
    assert!(stderr.contains("holds no cases"), "{stderr}");
}

#[tokio::test]
async fn a_donation_charge_becomes_a_won_opportunity_and_its_reversal_closes_it() {
    let app = TestApp::spawn().await;

    app.post_fixture("dlr-recurring.json").await;
    app.wait_for_sync().await;
    let won = app.record(
        "Opportunity",
        "Strex_Transaction_Id__c",
        "0af061b9-665f-4700-93a3-fe8d723c80c8",
    );
    app.post_fixture("dlr-reversed.json").await;
    app.wait_for_sync().await;

    let contact = app.record("Contact", "Strex_MSISDN__c", "+4700000001");
    assert_eq!(won["StageName"], "Closed Won");
    assert_eq!(won["Amount"], json!(200));
    assert_eq!(won["ContactId"], contact["Id"]);
    let reversed = app.record("Opportunity", "Id", won["Id"].as_str().unwrap());
    assert_eq!(reversed["StageName"], "Closed Lost");
    let statuses: Vec<String> = app
        .sync_log()
        .await
        .iter()
        .map(|r| r.status.clone())
        .collect();
    assert_eq!(statuses, vec!["succeeded"; 6]);
}

#[tokio::test]
async fn an_update_only_step_for_a_record_salesforce_does_not_have_is_skipped() {
    let app = TestApp::spawn().await;

    app.post_fixture("dlr-reversed.json").await;
    app.wait_for_sync().await;

    let rows = query_json(
        app.store(),
        "SELECT sobject, operation, status, error_code FROM sync_log ORDER BY id",
    )
    .await;
    assert_eq!(
        rows[1],
        json!({"sobject": "Opportunity", "operation": "update", "status": "skipped", "error_code": "NOT_FOUND"})
    );
    assert_eq!(rows[2]["status"], "succeeded");
    assert!(app.emulator.records("Opportunity").is_empty());
}

#[tokio::test]
async fn serve_reloads_changed_mappings_and_keeps_the_old_ones_when_an_edit_is_broken() {
    let dir = tempfile::tempdir().unwrap();
    copy_shipped_mappings(dir.path());
    let app = TestApp::spawn_with(dir.path().to_owned()).await;
    let first = planned_version(&app, 1).await;

    std::fs::write(
        dir.path().join("zz-broken.yaml"),
        "rules: [ { name: x, upserts: [ { object: A } ] } ]\n",
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let after_broken_edit = planned_version(&app, 2).await;
    std::fs::remove_file(dir.path().join("zz-broken.yaml")).unwrap();
    let edited = std::fs::read_to_string(dir.path().join("mo.yaml"))
        .unwrap()
        .replace("Kind__c: MO", "Kind__c: DLR");
    std::fs::write(dir.path().join("mo.yaml"), edited).unwrap();

    assert_eq!(after_broken_edit, first);
    let mut attempt = 3;
    wait_until(
        "the edited mappings to be in force",
        Duration::from_secs(10),
        || {
            attempt += 1;
            let app = &app;
            let first = first.clone();
            async move { planned_version(app, attempt).await != first }
        },
    )
    .await;
}

/// Posts a fresh MO and returns the mapping version its rows were planned with.
async fn planned_version(app: &TestApp, n: u32) -> String {
    let mut mo: Value = serde_json::from_slice(&fixture("mo-minimal.json")).unwrap();
    mo["transactionId"] = json!(format!("reload-{n}"));
    let response = app.post("mo", serde_json::to_vec(&mo).unwrap()).await;
    let event_id = response.json::<Value>().await.unwrap()["event_id"]
        .as_i64()
        .unwrap();
    let sql = format!("SELECT DISTINCT mapping_version FROM sync_log WHERE event_id = {event_id}");
    let rows = query_json(app.store(), &sql).await;
    rows[0]["mapping_version"].as_str().unwrap().to_owned()
}

fn json_schema(path: &Path) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

fn yaml_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_shipped_files_follow_their_json_schemas() {
    let mappings = json_schema(&shipped_mappings().join("schema.json"));
    let cases = json_schema(&shipped_mappings().join("tests/schema.json"));
    let pairs = yaml_files(&shipped_mappings())
        .into_iter()
        .map(|file| (file, &mappings))
        .chain(
            yaml_files(&shipped_mappings().join("tests"))
                .into_iter()
                .map(|file| (file, &cases)),
        );

    for (file, validator) in pairs {
        let document: Value =
            serde_saphyr::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(&document)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", file.display());
    }
}

#[test]
fn the_json_schema_refuses_a_misspelled_key_as_the_loader_does() {
    let validator = json_schema(&shipped_mappings().join("schema.json"));
    let typo: Value = serde_saphyr::from_str(
        "rules:\n  - name: r\n    upserts:\n      - object: A\n        external_id: K\n        feilds: { K: 1 }\n",
    )
    .unwrap();

    assert!(!validator.is_valid(&typo));
}

#[tokio::test]
async fn mappings_check_can_describe_the_org_itself() {
    strexforce::salesforce::install_crypto_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emulator = sf_emulator::start(sf_emulator::EmulatorConfig::default(), listener)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("m.yaml"),
        "rules:\n  - name: r\n    upserts:\n      - object: Contact\n        external_id: Strex_MSISDN__c\n        fields: { Strex_MSISDN__c: x, LastName: y, Shoe_Size__c: 44 }\n",
    )
    .unwrap();
    let mappings = dir.path().to_str().unwrap().to_owned();
    let url = emulator.url();

    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_strexforce"))
            .args([
                "mappings",
                "check",
                "--describe-from-salesforce",
                "--mappings",
                &mappings,
            ])
            .env("SF_LOGIN_URL", url)
            .env("SF_CLIENT_ID", sf_emulator::DEFAULT_CLIENT_ID)
            .env("SF_CLIENT_SECRET", sf_emulator::DEFAULT_CLIENT_SECRET)
            .env_remove("SF_AUTH_FLOW")
            .output()
            .unwrap()
    })
    .await
    .unwrap();

    assert!(!output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("m.yaml:6:66: error: Contact.Shoe_Size__c: no such field"),
        "{stdout}"
    );
    assert!(emulator.stats().calls_of(sf_emulator::CallKind::Describe) >= 1);
}

#[tokio::test]
async fn sighup_reloads_a_mappings_folder_swapped_behind_a_symlink() {
    // The way Kubernetes updates a mounted ConfigMap: a symlink is pointed at a new folder,
    // which a watcher on the old folder does not see.
    let root = tempfile::tempdir().unwrap();
    let (old, new) = (root.path().join("v1"), root.path().join("v2"));
    for dir in [&old, &new] {
        std::fs::create_dir(dir).unwrap();
        copy_shipped_mappings(dir);
    }
    let edited = std::fs::read_to_string(new.join("mo.yaml"))
        .unwrap()
        .replace("Kind__c: MO", "Kind__c: DLR");
    std::fs::write(new.join("mo.yaml"), edited).unwrap();
    let link = root.path().join("current");
    std::os::unix::fs::symlink(&old, &link).unwrap();
    let app = TestApp::spawn_with(link.clone()).await;
    let first = planned_version(&app, 1).await;

    let staged = root.path().join("staged");
    std::os::unix::fs::symlink(&new, &staged).unwrap();
    std::fs::rename(&staged, &link).unwrap();
    // SAFETY: signalling our own process; serve installed its SIGHUP handler at start.
    unsafe { libc::kill(std::process::id() as i32, libc::SIGHUP) };

    let mut attempt = 1;
    wait_until(
        "SIGHUP to load the swapped folder",
        Duration::from_secs(10),
        || {
            attempt += 1;
            let (app, first) = (&app, first.clone());
            async move { planned_version(app, attempt + 100).await != first }
        },
    )
    .await;
}
