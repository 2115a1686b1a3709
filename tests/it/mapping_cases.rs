//! Every shipped mapping test case, run for real: the case's forward is posted to `serve`, and
//! the records that reach the emulated org must hold the values the case expects.

use std::path::Path;

use chrono::DateTime;
use serde_json::{Map, Value};

use crate::common::{TestApp, shipped_mappings};

#[derive(Debug, serde::Deserialize)]
struct CaseFile {
    cases: Vec<Case>,
}

#[derive(Debug, serde::Deserialize)]
struct Case {
    name: String,
    kind: String,
    /// Values derived from this instant are checked by `mappings test` with a fixed clock;
    /// here the forward is received now, so they differ and are not compared.
    received_at: Option<String>,
    forward: Value,
    expect: Expect,
}

#[derive(Debug, serde::Deserialize)]
struct Expect {
    #[serde(default)]
    upserts: Vec<Map<String, Value>>,
}

fn shipped_cases() -> Vec<Case> {
    let dir = shipped_mappings().join("tests");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files.iter().flat_map(|path| read_cases(path)).collect()
}

fn read_cases(path: &Path) -> Vec<Case> {
    let text = std::fs::read_to_string(path).unwrap();
    let file: CaseFile = serde_saphyr::from_str(&text).unwrap();
    file.cases
}

#[tokio::test]
async fn every_shipped_case_reaches_salesforce_with_the_expected_values() {
    let cases = shipped_cases();
    assert!(cases.len() >= 21, "only {} shipped cases", cases.len());

    for case in cases {
        let app = TestApp::spawn().await;
        let response = app
            .post(&case.kind, serde_json::to_vec(&case.forward).unwrap())
            .await;
        assert_eq!(response.status(), 200, "{}", case.name);
        app.wait_for_sync().await;

        let rows = app.sync_log().await;
        assert_eq!(
            rows.len(),
            case.expect.upserts.len(),
            "{}: rows {rows:#?}",
            case.name
        );
        for (row, expected) in rows.iter().zip(&case.expect.upserts) {
            assert_eq!(
                Some(row.sobject.as_str()),
                expected["sobject"].as_str(),
                "{}",
                case.name
            );
            assert_eq!(
                Some(row.external_id.as_str()),
                expected["external_id"].as_str(),
                "{}",
                case.name
            );
            if expected.get("operation").and_then(Value::as_str) == Some("update") {
                // An update-only step finds no record in a fresh org: it is skipped, not failed.
                assert_eq!(row.status, "skipped", "{}: {row:?}", case.name);
                continue;
            }
            assert_eq!(row.status, "succeeded", "{}: {row:?}", case.name);
            let id = row.salesforce_id.as_deref().unwrap();
            assert_record_holds(&app, &case, &row.sobject, id, expected);
        }
    }
}

fn assert_record_holds(
    app: &TestApp,
    case: &Case,
    sobject: &str,
    id: &str,
    expected: &Map<String, Value>,
) {
    let record = app.record(sobject, "Id", id);
    let clock_days = clock_days(case.received_at.as_deref());
    let mut fields = expected["record"].as_object().cloned().unwrap_or_default();
    // A new record gets its create-only values too.
    if let Some(create_only) = expected.get("create_only").and_then(Value::as_object) {
        fields.extend(create_only.clone());
    }
    for (name, value) in fields {
        let from_clock = value
            .as_str()
            .is_some_and(|text| clock_days.iter().any(|day| text.contains(day)));
        match value.as_object() {
            Some(reference) => {
                assert_reference(app, &case.name, sobject, &record, &name, reference)
            }
            None if from_clock => {}
            None => assert_same_value(&case.name, &name, &record[name.as_str()], &value),
        }
    }
}

/// The UTC and Oslo days of a case's fixed clock, as they appear in rendered values.
fn clock_days(received_at: Option<&str>) -> Vec<String> {
    let Some(instant) = received_at.and_then(|text| DateTime::parse_from_rfc3339(text).ok()) else {
        return Vec::new();
    };
    let oslo = instant.with_timezone(&chrono_tz::Europe::Oslo);
    vec![
        instant.format("%Y-%m-%d").to_string(),
        oslo.format("%Y-%m-%d").to_string(),
    ]
}

/// `Contact__r: {Strex_MSISDN__c: X}` must have set the lookup field to that Contact's Id.
fn assert_reference(
    app: &TestApp,
    case: &str,
    sobject: &str,
    record: &Value,
    name: &str,
    reference: &Map<String, Value>,
) {
    let schema = app.emulator.schema();
    let field = schema
        .object(sobject)
        .unwrap()
        .field_by_relationship(name)
        .unwrap();
    let (parent_field, parent_value) = reference.iter().next().unwrap();
    let parent = app.record(
        &field.reference_to[0],
        parent_field,
        parent_value.as_str().unwrap(),
    );
    assert_eq!(
        record[field.name.as_str()],
        parent["Id"],
        "{case}: {sobject}.{name}"
    );
}

/// Equal as Salesforce means it: numbers by value, date-times by instant to the second
/// (Salesforce stores date-times with one-second precision).
fn assert_same_value(case: &str, field: &str, stored: &Value, sent: &Value) {
    let same = match (stored, sent) {
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(a), Value::String(b)) if a != b => {
            instant(a).is_some() && instant(a) == instant(b)
        }
        (a, b) => a == b,
    };
    assert!(same, "{case}: {field} is {stored}, sent {sent}");
}

fn instant(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.3f%z"))
        .ok()
        .map(|instant| instant.timestamp())
}
