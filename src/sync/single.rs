//! The sObject resource (`sobjects/{object}/{field}/{value}`), one record per request, for
//! what a Collections upsert cannot express:
//!
//! - update-only steps: `updateOnly=true` exists only here; a record that does not exist
//!   makes the row `skipped`;
//! - a record Collections reports as matching several records: this resource answers 300
//!   with the candidates' ids, which the failed row keeps in its error message.
//!
//! Between two update-only requests the worker stops when shutdown begins; the rows not sent
//! yet go back to pending untouched.

use serde_json::{Map, Value};

use super::outcome::{self, Answer, RequestFailure};
use super::send::Sender;
use crate::salesforce::RecordResult;
use crate::store::{ClaimedRow, RowOutcome};

impl Sender<'_> {
    /// Update-only rows, one request each.
    pub(super) async fn send_updates(
        &mut self,
        rows: Vec<ClaimedRow>,
    ) -> Vec<(ClaimedRow, RowOutcome)> {
        let mut outcomes = Vec::with_capacity(rows.len());
        for row in rows {
            let answer = if self.shutdown.is_cancelled() {
                Answer::NotSent
            } else {
                self.one(&row, &row.record.0, true).await
            };
            let outcome = match answer {
                Answer::Record(RecordResult::Failed(errors))
                    if errors.iter().any(|e| e.status_code == "NOT_FOUND") =>
                {
                    RowOutcome::Skipped(outcome::detail(&errors))
                }
                other => outcome::settle_answer(&row, other, self.settings, None),
            };
            outcomes.push((row, outcome));
        }
        outcomes
    }

    /// One record through the sObject resource.
    pub(super) async fn one(
        &mut self,
        row: &ClaimedRow,
        record: &Map<String, Value>,
        update_only: bool,
    ) -> Answer {
        if !self.lease_covers_a_request().await {
            return Answer::NotSent;
        }
        let result = self
            .salesforce
            .upsert_record(
                &row.sobject,
                &row.external_id_field,
                &row.external_id,
                record,
                update_only,
            )
            .await;
        self.note(&result);
        match result {
            Ok(result) => Answer::Record(result),
            Err(error) => Answer::Request(RequestFailure::of(&error)),
        }
    }
}
