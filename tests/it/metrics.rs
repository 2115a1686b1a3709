//! `/metrics` after real traffic: forwards over HTTP, a sync against the emulator with
//! passing failures, and mapping reloads. Each value is checked against what Postgres and
//! the emulator say happened. The service runs as a child process, so that its recorder
//! holds its own traffic only.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use sf_emulator::{CallKind, EmulatorConfig, Faults, ServerErrorKind};
use strexforce::signature::SIGNATURE_HEADER;

use crate::common::process::{ServeCommand, ServeProcess};
use crate::common::{TestDb, copy_shipped_mappings, fixture, sign_for, wait_until};

/// One sample: a name and its labels, sorted.
type Sample = (String, BTreeMap<String, String>);

/// The samples of an exposition text, by name and labels.
pub fn parse_exposition(text: &str) -> BTreeMap<Sample, f64> {
    let mut samples = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, parse_labels(rest.trim_end_matches('}'))),
            None => (series, BTreeMap::new()),
        };
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("a number in {line:?}"));
        samples.insert((name.to_owned(), labels), value);
    }
    samples
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    text.split("\",")
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').expect("label=value");
            (key.to_owned(), value.trim_matches('"').to_owned())
        })
        .collect()
}

/// The value of one series, 0 when it is absent.
fn value(samples: &BTreeMap<Sample, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    let labels = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples
        .get(&(name.to_owned(), labels))
        .copied()
        .unwrap_or(0.0)
}

/// The sum over every series of `name` whose labels include `labels`.
fn total(samples: &BTreeMap<Sample, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|((n, l), _)| {
            n == name
                && labels
                    .iter()
                    .all(|(k, v)| l.get(*k) == Some(&v.to_string()))
        })
        .map(|(_, v)| v)
        .sum()
}

pub async fn scrape(url: &str) -> (String, String) {
    let response = reqwest::get(format!("{url}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (content_type, response.text().await.unwrap())
}

async fn post_signed(url: &str, kind: &str, body: Vec<u8>) -> u16 {
    let url = format!("{url}/forward/{kind}");
    reqwest::Client::new()
        .post(&url)
        .header("content-type", "application/json")
        .header(SIGNATURE_HEADER, sign_for(&url, &body))
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn post_unsigned(url: &str, kind: &str, body: Vec<u8>) -> u16 {
    reqwest::Client::new()
        .post(format!("{url}/forward/{kind}"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn scalar(db: &TestDb, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(db.store.pool())
        .await
        .unwrap()
}

struct Run {
    db: TestDb,
    emulator: sf_emulator::RunningEmulator,
    serve: ServeProcess,
    mappings: tempfile::TempDir,
}

/// Forwards of every outcome, a sync whose first attempts meet 503s, then two reloads.
async fn traffic() -> Run {
    strexforce::salesforce::install_crypto_provider();
    let db = TestDb::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emulator = sf_emulator::start(EmulatorConfig::default(), listener)
        .await
        .unwrap();
    let mappings = tempfile::tempdir().unwrap();
    copy_shipped_mappings(mappings.path());
    let mut command = ServeCommand::new(&db.url, &emulator.url());
    command.mappings_dir = mappings.path().to_owned();
    let serve = command.start().await;
    emulator
        .faults()
        .set(Faults {
            server_error_share: 1.0,
            server_error_kind: ServerErrorKind::Unavailable,
            ..Faults::default()
        })
        .unwrap();
    let url = serve.url.clone();

    assert_eq!(post_signed(&url, "mo", fixture("mo-plain.json")).await, 200);
    assert_eq!(
        post_signed(&url, "dlr", fixture("dlr-subscribe.json")).await,
        200
    );
    assert_eq!(
        post_signed(&url, "dlr", fixture("dlr-subscribe.json")).await,
        200
    );
    assert_eq!(post_signed(&url, "dlr", b"{not json".to_vec()).await, 400);
    assert_eq!(
        post_unsigned(&url, "mo", fixture("mo-plain.json")).await,
        401
    );
    wait_until("a failed attempt", Duration::from_secs(20), || async {
        scalar(&db, "SELECT count(*) FROM sync_log WHERE attempts > 0").await > 0
    })
    .await;
    emulator.faults().clear();
    wait_until("the sync to settle", Duration::from_secs(30), || async {
        scalar(
            &db,
            "SELECT count(*) FROM sync_log WHERE status IN ('pending', 'in_flight')",
        )
        .await
            == 0
    })
    .await;
    Run {
        db,
        emulator,
        serve,
        mappings,
    }
}

#[tokio::test]
async fn every_metric_tells_what_happened() {
    let run = traffic().await;
    let url = run.serve.url.clone();
    let mo = run.mappings.path().join("mo.yaml");
    let original = std::fs::read_to_string(&mo).unwrap();
    std::fs::write(&mo, format!("{original}\n# edited\n")).unwrap();
    wait_until("a reload", Duration::from_secs(20), || async {
        scrape(&url).await.1.contains("result=\"replaced\"")
    })
    .await;
    std::fs::write(run.mappings.path().join("broken.yaml"), "name: [").unwrap();
    wait_until("a failed reload", Duration::from_secs(20), || async {
        scrape(&url).await.1.contains("result=\"failed\"")
    })
    .await;

    let (content_type, text) = scrape(&url).await;
    let samples = parse_exposition(&text);

    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let forwards = "strexforce_forwards_received_total";
    assert_eq!(
        value(
            &samples,
            forwards,
            &[("kind", "mo"), ("outcome", "accepted")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            forwards,
            &[("kind", "dlr"), ("outcome", "accepted")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            forwards,
            &[("kind", "dlr"), ("outcome", "duplicate")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            forwards,
            &[("kind", "dlr"), ("outcome", "rejected")]
        ),
        1.0
    );
    assert_eq!(
        value(
            &samples,
            forwards,
            &[("kind", "mo"), ("outcome", "unauthorized")]
        ),
        1.0
    );
    check_sync_metrics(&run, &samples).await;
    check_salesforce_metrics(&run, &samples);
    let reloads = "strexforce_mapping_reloads_total";
    assert_eq!(value(&samples, reloads, &[("result", "replaced")]), 1.0);
    assert!(value(&samples, reloads, &[("result", "failed")]) >= 1.0);
}

async fn check_sync_metrics(run: &Run, samples: &BTreeMap<Sample, f64>) {
    let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
        "SELECT sobject, status, count(*), sum(attempts)::int8 FROM sync_log
         GROUP BY sobject, status",
    )
    .fetch_all(run.db.store.pool())
    .await
    .unwrap();
    assert!(!rows.is_empty());
    for (sobject, status, count, _) in &rows {
        let finished = value(
            samples,
            "strexforce_sync_rows_finished_total",
            &[("sobject", sobject), ("status", status)],
        );
        assert_eq!(finished, *count as f64, "{sobject} {status}");
    }
    // Every attempt but each row's last met the injected 503.
    let attempts: i64 = rows.iter().map(|(_, _, _, attempts)| attempts).sum();
    let sent: i64 = rows.iter().map(|(_, _, count, _)| count).sum();
    let retries = total(samples, "strexforce_sync_retries_total", &[]);
    assert!(retries >= 1.0);
    assert_eq!(retries, (attempts - sent) as f64, "{rows:?}");
    let succeeded = scalar(
        &run.db,
        "SELECT count(*) FROM sync_log WHERE status = 'succeeded'",
    );
    let succeeded = succeeded.await as f64;
    assert_eq!(
        value(samples, "strexforce_sync_rows", &[("status", "succeeded")]),
        succeeded
    );
    assert_eq!(
        value(samples, "strexforce_sync_rows", &[("status", "pending")]),
        0.0
    );
    assert_eq!(
        value(samples, "strexforce_sync_oldest_open_age_seconds", &[]),
        0.0
    );
}

fn check_salesforce_metrics(run: &Run, samples: &BTreeMap<Sample, f64>) {
    let stats = run.emulator.stats();
    let requests = "strexforce_salesforce_requests_total";
    let collections = [("resource", "composite/sobjects")];
    assert_eq!(
        total(samples, requests, &collections),
        stats.calls_of(CallKind::CollectionsUpsert) as f64
    );
    let refused = [("resource", "composite/sobjects"), ("status", "503")];
    assert!(value(samples, requests, &refused) >= 1.0);
    assert_eq!(
        value(
            samples,
            "strexforce_salesforce_request_duration_seconds_count",
            &collections
        ),
        total(samples, requests, &collections)
    );
    let used = value(samples, "strexforce_salesforce_api_requests_used", &[]);
    let allocation = value(
        samples,
        "strexforce_salesforce_api_requests_allocation",
        &[],
    );
    assert_eq!(
        (used, allocation),
        (stats.api_usage as f64, stats.api_allocation as f64)
    );
    let logins = value(
        samples,
        "strexforce_salesforce_logins_total",
        &[("result", "succeeded")],
    );
    assert!(logins >= 1.0);
    assert_eq!(value(samples, "strexforce_salesforce_logged_in", &[]), 1.0);
}

#[tokio::test]
async fn the_alert_rules_use_only_metrics_that_are_exported() {
    let rules = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus/alerts.yml"),
    )
    .unwrap();
    let rules: Value = serde_saphyr::from_str(&rules).unwrap();

    let exprs: Vec<&str> = rules["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|group| group["rules"].as_array().unwrap())
        .map(|rule| rule["expr"].as_str().unwrap())
        .collect();

    assert!(exprs.len() >= 4, "{exprs:?}");
    let exported: Vec<&str> = strexforce::telemetry::metrics::ALL.to_vec();
    for expr in exprs {
        let names = metric_names(expr);
        assert!(!names.is_empty(), "no metric in {expr}");
        for name in names {
            let known = exported
                .iter()
                .any(|metric| name == *metric || is_histogram_series(&name, metric));
            assert!(known, "{name} in {expr:?} is not exported");
        }
    }
}

/// Words of an expression that name strexforce metrics.
fn metric_names(expr: &str) -> Vec<String> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("strexforce_"))
        .map(str::to_owned)
        .collect()
}

fn is_histogram_series(name: &str, metric: &str) -> bool {
    ["_bucket", "_sum", "_count"]
        .iter()
        .any(|suffix| name == format!("{metric}{suffix}"))
}

#[tokio::test]
async fn every_exported_metric_appears_after_traffic() {
    let run = traffic().await;

    let (_, text) = scrape(&run.serve.url).await;

    let samples = parse_exposition(&text);
    for metric in strexforce::telemetry::metrics::ALL {
        // Reloads happen only when the mappings change; the other test covers them.
        if metric == strexforce::telemetry::metrics::MAPPING_RELOADS {
            continue;
        }
        let present = samples
            .keys()
            .any(|(name, _)| name == metric || is_histogram_series(name, metric));
        assert!(present, "{metric} missing from:\n{text}");
        assert!(
            text.contains(&format!("# HELP {metric} ")),
            "{metric} has no HELP"
        );
    }
}
