//! Mapping test cases: a forward and the upserts it must become, kept in YAML beside the
//! mappings (`mappings/tests/*.yaml`) and run by `strexforce mappings test`.
//!
//! ```yaml
//! cases:
//!   - name: a subscribe report makes the contact active
//!     kind: dlr
//!     forward: { transactionId: t1, recipient: "+4700000001", statusCode: Ok, … }
//!     expect:
//!       subject: "+4700000001"
//!       upserts:
//!         - sobject: Contact
//!           external_id: "+4700000001"
//!           record: { Strex_Subscription_Status__c: Active, … }
//! ```
//!
//! Only the keys an expected upsert lists are compared, but the number of upserts must match.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::MappingSet;
use super::preview::{Preview, preview};
use crate::forward::{ForwardKind, NumberingPlan};

/// A file of cases.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    cases: Vec<Case>,
}

/// One case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub kind: String,
    /// The forward as YAML, turned into JSON before it is planned.
    pub forward: Option<Value>,
    /// Or the body as raw text, for bodies whose exact bytes matter (escapes, odd JSON).
    pub body: Option<String>,
    /// When strexforce received the forward (the `received_at` variable); a fixed instant,
    /// 1970-01-01T00:00:00Z, when not given, so that cases never depend on the clock.
    pub received_at: Option<DateTime<Utc>>,
    pub expect: Expectation,
}

/// What the forward must become.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    #[serde(default)]
    pub unmapped: bool,
    /// Text the plan error must contain.
    pub error: Option<String>,
    pub subject: Option<String>,
    pub upserts: Option<Vec<Map<String, Value>>>,
}

/// A case's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    pub file: PathBuf,
    pub name: String,
    /// `None` when the case passed; otherwise what went wrong, with a diff where it helps.
    pub failure: Option<String>,
}

/// Runs every case in `*.yaml` files directly inside `dir`.
pub fn run_dir(
    mappings: &MappingSet,
    dir: &Path,
    plan: &NumberingPlan,
) -> Result<Vec<CaseResult>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|error| format!("cannot read {}: {error}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            )
        })
        .collect();
    files.sort();
    Ok(files
        .iter()
        .flat_map(|file| run_file(mappings, file, plan))
        .collect())
}

/// Runs the cases of one file. A file that cannot be read is one failed result, so that the
/// other files still run.
fn run_file(mappings: &MappingSet, file: &Path, plan: &NumberingPlan) -> Vec<CaseResult> {
    let cases = match read_cases(file) {
        Ok(cases) => cases,
        Err(failure) => {
            return vec![CaseResult {
                file: file.to_owned(),
                name: "(the file itself)".to_owned(),
                failure: Some(failure),
            }];
        }
    };
    cases
        .iter()
        .map(|case| CaseResult {
            file: file.to_owned(),
            name: case.name.clone(),
            failure: run_case(mappings, case, plan).err(),
        })
        .collect()
}

fn read_cases(file: &Path) -> Result<Vec<Case>, String> {
    let text = std::fs::read_to_string(file).map_err(|error| format!("cannot read it: {error}"))?;
    let cases: CaseFile = serde_saphyr::from_str_with_options(&text, super::yaml_options())
        .map_err(|error| {
            // The message names the line and column itself; later lines quote the source.
            let text = error.to_string();
            let first_line = text.lines().next().unwrap_or_default();
            first_line.trim_start_matches("error: ").to_owned()
        })?;
    Ok(cases.cases)
}

/// Runs one case; `Err` describes the failure.
pub fn run_case(mappings: &MappingSet, case: &Case, plan: &NumberingPlan) -> Result<(), String> {
    let kind = ForwardKind::parse(&case.kind)
        .ok_or_else(|| format!("kind must be mo or dlr, not `{}`", case.kind))?;
    let body = match (&case.forward, &case.body) {
        (Some(forward), None) => serde_json::to_vec(forward).map_err(|e| e.to_string())?,
        (None, Some(body)) => body.clone().into_bytes(),
        _ => return Err("give exactly one of `forward` and `body`".to_owned()),
    };
    let received_at = case.received_at.unwrap_or(DateTime::UNIX_EPOCH);
    let actual = preview(mappings, kind, &body, plan, received_at)
        .map_err(|error| format!("the forward is not valid: {error}"))?;
    check(&case.expect, &actual)
}

fn check(expect: &Expectation, actual: &Preview) -> Result<(), String> {
    if let Some(wanted) = &expect.error {
        return match &actual.error {
            Some(error) if error.contains(wanted.as_str()) => Ok(()),
            Some(error) => Err(format!(
                "expected an error containing `{wanted}`, got: {error}"
            )),
            None => Err(format!(
                "expected an error containing `{wanted}`, but the plan succeeded"
            )),
        };
    }
    if let Some(error) = &actual.error {
        return Err(format!("the plan failed: {error}"));
    }
    if expect.unmapped && actual.status != "unmapped" {
        return Err(format!(
            "expected unmapped, but the forward was planned as:\n{}",
            planned_text(actual)
        ));
    }
    if !expect.unmapped && actual.status == "unmapped" {
        return Err("expected upserts, but no mapping matched the forward".to_owned());
    }
    if let Some(subject) = &expect.subject
        && actual.subject.as_ref() != Some(subject)
    {
        return Err(format!(
            "expected subject {subject}, got {:?}",
            actual.subject
        ));
    }
    match &expect.upserts {
        Some(wanted) => compare_upserts(wanted, actual),
        None => Ok(()),
    }
}

fn compare_upserts(wanted: &[Map<String, Value>], actual: &Preview) -> Result<(), String> {
    let actual: Vec<Value> = actual
        .upserts
        .iter()
        .map(|u| serde_json::to_value(u).unwrap_or_default())
        .collect();
    let trimmed: Vec<Value> = actual
        .iter()
        .enumerate()
        .map(|(index, upsert)| match wanted.get(index) {
            Some(keys) => only_keys(upsert, keys),
            None => upsert.clone(),
        })
        .collect();
    let expected = Value::Array(wanted.iter().cloned().map(Value::Object).collect());
    let got = Value::Array(trimmed);
    if expected == got {
        return Ok(());
    }
    Err(diff(&expected, &got))
}

fn planned_text(actual: &Preview) -> String {
    serde_json::to_string_pretty(&actual.upserts).unwrap_or_default()
}

/// The upsert reduced to the keys the expectation lists, so unlisted keys are not compared.
fn only_keys(upsert: &Value, keys: &Map<String, Value>) -> Value {
    let Value::Object(fields) = upsert else {
        return upsert.clone();
    };
    let kept = fields.iter().filter(|(key, _)| keys.contains_key(*key));
    let mut trimmed: Map<String, Value> = kept.map(|(k, v)| (k.clone(), v.clone())).collect();
    // A listed key the plan does not have shows up as null in the diff.
    for key in keys.keys() {
        trimmed.entry(key.clone()).or_insert(Value::Null);
    }
    Value::Object(trimmed)
}

fn diff(expected: &Value, actual: &Value) -> String {
    let expected = serde_json::to_string_pretty(expected).unwrap_or_default() + "\n";
    let actual = serde_json::to_string_pretty(actual).unwrap_or_default() + "\n";
    similar::TextDiff::from_lines(&expected, &actual)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}
