//! Sending one claimed batch through sObject Collections.
//!
//! A batch holds rows of one object, external-id field and operation, at most 200 (the
//! Collections limit). Results come back in request order and are matched to rows by
//! position; a response with another number of results is a protocol error, retried, never
//! read as a partial success. A batch refused as a whole because of one record is split
//! until that record is alone. What Collections cannot express goes to the single-record
//! resource instead (see `single.rs`).

use std::collections::HashSet;

use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use super::SyncSettings;
use super::api_budget::CallReport;
use super::classify::Disposition;
use super::lease::Lease;
use super::outcome::{self, Answer, RequestFailure, Step};
use crate::salesforce::{ApiError, RecordResult, SalesforceClient};
use crate::store::{ClaimedRow, RowOutcome};

/// Sends the requests of one batch and keeps count of them.
pub struct Sender<'a> {
    pub salesforce: &'a SalesforceClient,
    pub settings: &'a SyncSettings,
    pub lease: &'a mut Lease,
    pub shutdown: &'a CancellationToken,
    pub report: CallReport,
}

impl Sender<'_> {
    /// Sends a batch claimed for one object, external-id field and operation.
    #[tracing::instrument(skip_all, fields(sobject, rows = rows.len()))]
    pub async fn send_batch(&mut self, mut rows: Vec<ClaimedRow>) -> Vec<(ClaimedRow, RowOutcome)> {
        rows.sort_by_key(|row| row.id);
        if let Some(first) = rows.first() {
            tracing::Span::current().record("sobject", first.sobject.as_str());
        }
        let (unique, repeated) = split_repeated_records(rows);
        let mut outcomes: Vec<(ClaimedRow, RowOutcome)> = repeated
            .into_iter()
            .map(|row| (row, RowOutcome::Released))
            .collect();
        let sent = match unique.first().map(|row| row.operation.as_str()) {
            Some("update") => self.send_updates(unique).await,
            Some(_) => self.send_upserts(unique).await,
            None => Vec::new(),
        };
        outcomes.extend(sent);
        outcomes
    }

    /// Makes sure the lease outlasts the next request.
    pub(super) async fn lease_covers_a_request(&mut self) -> bool {
        let timeout = self.salesforce.request_timeout();
        self.lease.cover(timeout).await.is_ok()
    }

    /// Counts a request that Salesforce answered, and notes a refused allocation.
    pub(super) fn note<T>(&mut self, result: &Result<T, ApiError>) {
        match result {
            Ok(_) => self.report.calls += 1,
            Err(ApiError::Transport(_) | ApiError::Auth(_)) => {}
            Err(error) => {
                self.report.calls += 1;
                self.report.limit_exceeded |= error.code() == "REQUEST_LIMIT_EXCEEDED";
            }
        }
    }

    async fn send_upserts(&mut self, rows: Vec<ClaimedRow>) -> Vec<(ClaimedRow, RowOutcome)> {
        let records: Vec<Map<String, Value>> = rows.iter().map(outcome::first_record).collect();
        let answers = self.upsert_many(&rows, records, true).await;
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut again = Vec::new();
        for (row, answer) in rows.into_iter().zip(answers) {
            match outcome::first_round(&row, answer, self.settings) {
                Step::Done(outcome) => outcomes.push((row, outcome)),
                Step::Again {
                    record,
                    created_id,
                    refused,
                } => again.push(SecondRequest {
                    row,
                    record,
                    created_id,
                    refused,
                }),
            }
        }
        outcomes.extend(self.send_create_only(again).await);
        outcomes
    }

    /// The second request of the rows that need one (see [`Step::Again`]).
    async fn send_create_only(
        &mut self,
        pending: Vec<SecondRequest>,
    ) -> Vec<(ClaimedRow, RowOutcome)> {
        if pending.is_empty() {
            return Vec::new();
        }
        let mut rows = Vec::with_capacity(pending.len());
        let mut records = Vec::with_capacity(pending.len());
        let mut followups = Vec::with_capacity(pending.len());
        for request in pending {
            rows.push(request.row);
            records.push(request.record);
            followups.push((request.created_id, request.refused));
        }
        // Not interruptible: a record the first request created must get its create-only
        // fields now, or its next attempt would find it existing and leave them out.
        let answers = self.upsert_many(&rows, records, false).await;
        rows.into_iter()
            .zip(answers)
            .zip(followups)
            .map(|((row, answer), (created_id, refused))| {
                let outcome =
                    outcome::second_round(&row, answer, created_id, &refused, self.settings);
                (row, outcome)
            })
            .collect()
    }

    /// One Collections request for these rows, with its fallbacks; an answer per row.
    async fn upsert_many(
        &mut self,
        rows: &[ClaimedRow],
        records: Vec<Map<String, Value>>,
        interruptible: bool,
    ) -> Vec<Answer> {
        let Some(first) = rows.first() else {
            return Vec::new();
        };
        if !self.lease_covers_a_request().await {
            return rows.iter().map(|_| Answer::NotSent).collect();
        }
        let result = self
            .salesforce
            .upsert_collection(&first.sobject, &first.external_id_field, &records)
            .await;
        self.note(&result);
        match result {
            Ok(results) => self.resolve_several_matches(rows, &records, results).await,
            Err(error) => {
                self.refused_as_a_whole(rows, records, &error, interruptible)
                    .await
            }
        }
    }

    /// A whole-request failure. A passing one settles every row alike. A permanent refusal
    /// that one record can cause (a record Salesforce cannot read) is narrowed down: the
    /// batch is split in halves, and halves that are refused again are split again, until
    /// the faulty records are alone. One bad record among 200 costs about 16 more calls,
    /// and its neighbours are sent.
    async fn refused_as_a_whole(
        &mut self,
        rows: &[ClaimedRow],
        mut records: Vec<Map<String, Value>>,
        error: &ApiError,
        interruptible: bool,
    ) -> Vec<Answer> {
        let failure = RequestFailure::of(error);
        // Salesforce's message can quote record values (a subscriber's number), so only the
        // code goes to the log; the message is kept on the rows.
        tracing::warn!(
            sobject = %rows[0].sobject,
            rows = rows.len(),
            status = error.status(),
            code = %failure.detail.code,
            "collections upsert failed"
        );
        let narrow_down = failure.disposition == Disposition::GiveUp
            && rows.len() > 1
            && may_come_from_one_record(error);
        if !narrow_down {
            return rows
                .iter()
                .map(|_| Answer::Request(failure.clone()))
                .collect();
        }
        if interruptible && self.shutdown.is_cancelled() {
            return rows.iter().map(|_| Answer::NotSent).collect();
        }
        let middle = rows.len() / 2;
        let second_half = records.split_off(middle);
        let mut answers = Box::pin(self.upsert_many(&rows[..middle], records, interruptible)).await;
        let rest = Box::pin(self.upsert_many(&rows[middle..], second_half, interruptible)).await;
        answers.extend(rest);
        answers
    }

    /// Collections says "several records match" without naming them; the single-record
    /// resource answers 300 with the candidates, which the row then keeps.
    async fn resolve_several_matches(
        &mut self,
        rows: &[ClaimedRow],
        records: &[Map<String, Value>],
        results: Vec<RecordResult>,
    ) -> Vec<Answer> {
        let mut answers = Vec::with_capacity(results.len());
        for ((row, record), result) in rows.iter().zip(records).zip(results) {
            let answer = if matches_several(row, &result) {
                self.one(row, record, false).await
            } else {
                Answer::Record(result)
            };
            answers.push(answer);
        }
        answers
    }
}

/// A 400 about the request's content, rather than about the object or the resource as a
/// whole (an unknown object would fail every half the same way).
fn may_come_from_one_record(error: &ApiError) -> bool {
    match error {
        ApiError::Refused {
            status: 400,
            errors,
        } => !errors
            .iter()
            .any(|e| e.error_code == "INVALID_TYPE" || e.error_code == "NOT_FOUND"),
        _ => false,
    }
}

/// DUPLICATE_EXTERNAL_ID about the row's own key (not about a parent's).
fn matches_several(row: &ClaimedRow, result: &RecordResult) -> bool {
    let RecordResult::Failed(errors) = result else {
        return false;
    };
    errors.iter().any(|error| {
        error.status_code == "DUPLICATE_EXTERNAL_ID"
            && error
                .fields
                .iter()
                .any(|field| field.eq_ignore_ascii_case(&row.external_id_field))
    })
}

/// Salesforce fails both copies when one request carries the same external id twice, so
/// only the oldest row per record goes now; the others wait for the next batch. External
/// ids are compared without case, as Salesforce matches them by default.
/// A row that goes out a second time, with what the first answer told about its record.
struct SecondRequest {
    row: ClaimedRow,
    record: Map<String, Value>,
    created_id: Option<String>,
    refused: Vec<String>,
}

fn split_repeated_records(rows: Vec<ClaimedRow>) -> (Vec<ClaimedRow>, Vec<ClaimedRow>) {
    let mut seen = HashSet::new();
    rows.into_iter()
        .partition(|row| seen.insert(row.external_id.to_lowercase()))
}
