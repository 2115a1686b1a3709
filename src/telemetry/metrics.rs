//! Prometheus metrics: every name this service exports, the one recorder that collects them,
//! and the helpers the code calls where something worth counting happens.
//!
//! The recorder is process-wide (the `metrics` facade has one), installed once; every service
//! started in the same process shares it. `/metrics` renders it in the Prometheus text
//! format. docs/operations.md lists every metric with its labels and meaning.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const FORWARDS_RECEIVED: &str = "strexforce_forwards_received_total";
pub const SYNC_ROWS_FINISHED: &str = "strexforce_sync_rows_finished_total";
pub const SYNC_RETRIES: &str = "strexforce_sync_retries_total";
pub const SYNC_ROWS: &str = "strexforce_sync_rows";
pub const SYNC_OLDEST_OPEN_AGE: &str = "strexforce_sync_oldest_open_age_seconds";
pub const SALESFORCE_REQUESTS: &str = "strexforce_salesforce_requests_total";
pub const SALESFORCE_REQUEST_DURATION: &str = "strexforce_salesforce_request_duration_seconds";
pub const SALESFORCE_API_USED: &str = "strexforce_salesforce_api_requests_used";
pub const SALESFORCE_API_ALLOCATION: &str = "strexforce_salesforce_api_requests_allocation";
pub const SALESFORCE_LOGINS: &str = "strexforce_salesforce_logins_total";
pub const SALESFORCE_LOGGED_IN: &str = "strexforce_salesforce_logged_in";
pub const MAPPING_RELOADS: &str = "strexforce_mapping_reloads_total";

/// Every exported name, for the check that alert rules only use names that exist.
pub const ALL: [&str; 12] = [
    FORWARDS_RECEIVED,
    SYNC_ROWS_FINISHED,
    SYNC_RETRIES,
    SYNC_ROWS,
    SYNC_OLDEST_OPEN_AGE,
    SALESFORCE_REQUESTS,
    SALESFORCE_REQUEST_DURATION,
    SALESFORCE_API_USED,
    SALESFORCE_API_ALLOCATION,
    SALESFORCE_LOGINS,
    SALESFORCE_LOGGED_IN,
    MAPPING_RELOADS,
];

/// Salesforce answers in tens of milliseconds to tens of seconds (a batch of 200 records
/// with triggers); the buckets span that.
const LATENCY_BUCKETS: [f64; 12] = [
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The process's recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(SALESFORCE_REQUEST_DURATION.to_owned()),
                &LATENCY_BUCKETS,
            )
            .expect("the latency buckets are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Another recorder may be in place already (an embedding program's); then ours
        // renders nothing, which /metrics shows, rather than failing the start.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
        }
        describe_all();
        handle
    })
}

/// The exposition text, with histograms brought up to date first.
pub fn render() -> String {
    let handle = handle();
    handle.run_upkeep();
    handle.render()
}

fn describe_all() {
    describe_counter!(FORWARDS_RECEIVED, "Forwards received, by kind and outcome");
    describe_counter!(
        SYNC_ROWS_FINISHED,
        "sync_log rows that reached a final status, by object and status"
    );
    describe_counter!(
        SYNC_RETRIES,
        "Rows scheduled for another attempt, by error code"
    );
    describe_gauge!(
        SYNC_ROWS,
        "sync_log rows per status, read from Postgres at scrape"
    );
    describe_gauge!(
        SYNC_OLDEST_OPEN_AGE,
        Unit::Seconds,
        "Age of the oldest pending or in-flight sync_log row (0 when there is none)"
    );
    describe_counter!(
        SALESFORCE_REQUESTS,
        "Salesforce API requests by resource and status"
    );
    describe_histogram!(
        SALESFORCE_REQUEST_DURATION,
        Unit::Seconds,
        "Salesforce API request latency by resource"
    );
    describe_gauge!(
        SALESFORCE_API_USED,
        "API requests used today, from Sforce-Limit-Info"
    );
    describe_gauge!(
        SALESFORCE_API_ALLOCATION,
        "The org's daily API request allocation"
    );
    describe_counter!(SALESFORCE_LOGINS, "Salesforce logins by result");
    describe_gauge!(
        SALESFORCE_LOGGED_IN,
        "1 while the last Salesforce login worked"
    );
    describe_counter!(MAPPING_RELOADS, "Mapping reloads by result");
}

/// A forward answered: `kind` is `mo` or `dlr`; `outcome` what the answer said.
pub fn forward_received(kind: &'static str, outcome: &'static str) {
    counter!(FORWARDS_RECEIVED, "kind" => kind, "outcome" => outcome).increment(1);
}

/// A row reached a final status (`succeeded`, `failed`, `dead`, `skipped`).
pub fn sync_row_finished(sobject: &str, status: &'static str) {
    counter!(SYNC_ROWS_FINISHED, "sobject" => sobject.to_owned(), "status" => status).increment(1);
}

/// A row will be sent again because of a passing failure with this code.
pub fn sync_retry(code: &str) {
    let code = if code.is_empty() { "unknown" } else { code };
    counter!(SYNC_RETRIES, "code" => code.to_owned()).increment(1);
}

/// The backlog as Postgres holds it: shared by every replica, so each reports the same.
pub fn backlog(by_status: &[(String, i64)], oldest_open_age: Option<chrono::Duration>) {
    for (status, count) in by_status {
        gauge!(SYNC_ROWS, "status" => status.clone()).set(*count as f64);
    }
    let age = oldest_open_age.map_or(0.0, |age| age.num_milliseconds().max(0) as f64 / 1000.0);
    gauge!(SYNC_OLDEST_OPEN_AGE).set(age);
}

/// One request to the Salesforce REST API; `status` is the HTTP status, or `transport` when
/// no answer came.
pub fn salesforce_request(resource: &'static str, status: Option<u16>, took: Duration) {
    let status = status.map_or_else(|| "transport".to_owned(), |code| code.to_string());
    counter!(SALESFORCE_REQUESTS, "resource" => resource, "status" => status).increment(1);
    histogram!(SALESFORCE_REQUEST_DURATION, "resource" => resource).record(took.as_secs_f64());
}

/// The usage Salesforce reported in `Sforce-Limit-Info`.
pub fn api_usage(used: u64, allocation: u64) {
    gauge!(SALESFORCE_API_USED).set(used as f64);
    gauge!(SALESFORCE_API_ALLOCATION).set(allocation as f64);
}

/// A login attempt's result.
pub fn login(succeeded: bool) {
    let result = if succeeded { "succeeded" } else { "failed" };
    counter!(SALESFORCE_LOGINS, "result" => result).increment(1);
    gauge!(SALESFORCE_LOGGED_IN).set(if succeeded { 1.0 } else { 0.0 });
}

/// A mapping reload: `replaced`, `unchanged` or `failed`.
pub fn mapping_reload(result: &'static str) {
    counter!(MAPPING_RELOADS, "result" => result).increment(1);
}

/// The resource a REST path names, as a label with few values: `composite/sobjects` for
/// Collections, `sobjects` for single records and describes, else the first segment.
pub fn resource_of(path: &str) -> &'static str {
    let path = path.trim_start_matches('/');
    if path.starts_with("composite/sobjects") {
        "composite/sobjects"
    } else if path.starts_with("sobjects") {
        "sobjects"
    } else if path.starts_with("limits") {
        "limits"
    } else if path.starts_with("query") {
        "query"
    } else {
        "other"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fold_into_a_few_resources() {
        assert_eq!(
            resource_of("composite/sobjects/Contact/Msisdn__c"),
            "composite/sobjects"
        );
        assert_eq!(resource_of("sobjects/Contact/describe"), "sobjects");
        assert_eq!(resource_of("limits/"), "limits");
        assert_eq!(resource_of("tooling/query?q=1"), "other");
    }
}
