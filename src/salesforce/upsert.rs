//! Upserts by external id: many records through sObject Collections, one record through the
//! sObject resource.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::client::{ApiError, SalesforceClient};

/// The outcome for one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordResult {
    Saved { id: String, created: bool },
    Failed(Vec<RecordError>),
}

/// One per-record error, as Salesforce reports it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordError {
    /// Collections results name the code `statusCode`; top-level errors `errorCode`.
    #[serde(alias = "errorCode")]
    pub status_code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct UpsertResultItem {
    id: Option<String>,
    success: bool,
    #[serde(default)]
    created: bool,
    #[serde(default)]
    errors: Vec<RecordError>,
}

impl From<UpsertResultItem> for RecordResult {
    fn from(item: UpsertResultItem) -> RecordResult {
        match (item.success, item.id) {
            (true, Some(id)) => RecordResult::Saved {
                id,
                created: item.created,
            },
            (_, _) if !item.errors.is_empty() => RecordResult::Failed(item.errors),
            _ => RecordResult::Failed(vec![RecordError {
                status_code: "UNKNOWN_RESULT".to_owned(),
                message: "Salesforce reported neither an id nor an error".to_owned(),
                fields: Vec::new(),
            }]),
        }
    }
}

/// Characters left as they are in a path segment; everything else is percent-encoded, so
/// that `+47…`, `/` and non-ASCII external ids reach Salesforce intact.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

impl SalesforceClient {
    /// Upserts up to 200 records of one object, matched by one external-id field.
    ///
    /// `allOrNone` is false so that one bad record never fails its neighbours. Results come
    /// back in request order; a response with a different number of results is a protocol
    /// error rather than a partial success.
    pub async fn upsert_collection(
        &self,
        sobject: &str,
        external_id_field: &str,
        records: &[Map<String, Value>],
    ) -> Result<Vec<RecordResult>, ApiError> {
        let typed: Vec<Value> = records
            .iter()
            .map(|record| {
                let mut body = record.clone();
                body.insert("attributes".to_owned(), json!({ "type": sobject }));
                Value::Object(body)
            })
            .collect();
        let body = json!({ "allOrNone": false, "records": typed });
        let path = format!(
            "composite/sobjects/{}/{}",
            segment(sobject),
            segment(external_id_field)
        );
        let reply = self.send(Method::PATCH, &path, Some(&body)).await?;
        let items: Vec<UpsertResultItem> = serde_json::from_slice(&reply.body)
            .map_err(|error| ApiError::Protocol(format!("collections result: {error}")))?;
        if items.len() != records.len() {
            return Err(ApiError::Protocol(format!(
                "sent {} records, got {} results",
                records.len(),
                items.len()
            )));
        }
        Ok(items.into_iter().map(RecordResult::from).collect())
    }

    /// Upserts one record through `sobjects/{object}/{field}/{value}`. With `update_only`,
    /// a record that does not exist is not created (API 61.0 and later) and the result is a
    /// NOT_FOUND error.
    pub async fn upsert_record(
        &self,
        sobject: &str,
        external_id_field: &str,
        external_id: &str,
        record: &Map<String, Value>,
        update_only: bool,
    ) -> Result<RecordResult, ApiError> {
        let mut body = record.clone();
        // The value travels in the URL; Salesforce's examples never repeat it in the body.
        body.remove(external_id_field);
        let query = if update_only { "?updateOnly=true" } else { "" };
        let path = format!(
            "sobjects/{}/{}/{}{query}",
            segment(sobject),
            segment(external_id_field),
            segment(external_id)
        );
        match self
            .send(Method::PATCH, &path, Some(&Value::Object(body)))
            .await
        {
            Ok(reply) if reply.status == StatusCode::MULTIPLE_CHOICES => {
                Ok(multiple_matches(&reply.body))
            }
            Ok(reply) => single_result(reply.status, &reply.body),
            Err(ApiError::Refused { status, errors }) if status == 400 || status == 404 => Ok(
                RecordResult::Failed(errors.into_iter().map(record_error).collect()),
            ),
            Err(other) => Err(other),
        }
    }
}

fn single_result(status: StatusCode, body: &[u8]) -> Result<RecordResult, ApiError> {
    // Before API 46.0 an update answered 204 with no body.
    if status == StatusCode::NO_CONTENT {
        return Err(ApiError::Protocol(
            "204 without a record id: use API version 46.0 or later".to_owned(),
        ));
    }
    let item: UpsertResultItem = serde_json::from_slice(body)
        .map_err(|error| ApiError::Protocol(format!("upsert result: {error}")))?;
    Ok(RecordResult::from(item))
}

/// HTTP 300: the external id matches several records; Salesforce lists them.
fn multiple_matches(body: &[u8]) -> RecordResult {
    let candidates: Vec<String> = serde_json::from_slice::<Vec<Value>>(body)
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_str)
        .map(|url| url.rsplit('/').next().unwrap_or(url).to_owned())
        .collect();
    RecordResult::Failed(vec![RecordError {
        status_code: "DUPLICATE_EXTERNAL_ID".to_owned(),
        message: format!(
            "the external id matches several records: {}",
            candidates.join(", ")
        ),
        fields: Vec::new(),
    }])
}

fn record_error(item: super::client::SalesforceErrorItem) -> RecordError {
    RecordError {
        status_code: item.error_code,
        message: item.message,
        fields: item.fields,
    }
}

fn segment(text: &str) -> String {
    utf8_percent_encode(text, PATH_SEGMENT).to_string()
}
