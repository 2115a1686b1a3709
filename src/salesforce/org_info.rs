//! What `salesforce check` reads about an org: its API versions (reference §10), its
//! limits (§7) and the describe of each object the mappings write (§8).

use std::collections::BTreeMap;

use reqwest::Method;
use serde::Deserialize;

use super::client::{ApiError, SalesforceClient};
use super::describe::ObjectDescription;
use super::limits::ApiUsage;

/// One entry of `GET /services/data/`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ApiVersionInfo {
    /// Such as `66.0`.
    pub version: String,
    /// The release name, such as `Spring '26`.
    pub label: String,
    pub url: String,
}

/// One limit of `GET …/limits/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct LimitValue {
    #[serde(rename = "Max")]
    pub max: u64,
    #[serde(rename = "Remaining")]
    pub remaining: u64,
}

/// The org's limits by name; nested sub-limits are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct OrgLimits(BTreeMap<String, LimitValue>);

impl OrgLimits {
    pub fn get(&self, name: &str) -> Option<LimitValue> {
        self.0.get(name).copied()
    }

    /// Daily API requests used against the allocation (the limits lag by minutes).
    pub fn daily_api_usage(&self) -> Option<ApiUsage> {
        let value = self.get("DailyApiRequests")?;
        Some(ApiUsage {
            used: value.max.saturating_sub(value.remaining),
            max: value.max,
        })
    }
}

impl SalesforceClient {
    /// The API versions the org serves, oldest first. Not counted against the allocation.
    pub async fn versions(&self) -> Result<Vec<ApiVersionInfo>, ApiError> {
        let reply = self.get_without_session("/services/data/").await?;
        parse(&reply.body)
    }

    /// The org's limits; the user needs "View Setup and Configuration".
    pub async fn limits(&self) -> Result<OrgLimits, ApiError> {
        let reply = self.send(Method::GET, "limits/", None).await?;
        let all: BTreeMap<String, serde_json::Value> = parse(&reply.body)?;
        let flat = all
            .into_iter()
            .filter_map(|(name, value)| Some((name, serde_json::from_value(value).ok()?)))
            .collect();
        Ok(OrgLimits(flat))
    }

    /// An object's describe, or `None` when the org has no such object (or the user cannot
    /// see it, which Salesforce answers the same way).
    pub async fn describe(&self, object: &str) -> Result<Option<ObjectDescription>, ApiError> {
        let path = format!("sobjects/{}/describe/", path_segment(object));
        match self.send(Method::GET, &path, None).await {
            Ok(reply) => ObjectDescription::from_describe_json(&reply.body)
                .map(Some)
                .map_err(|error| ApiError::Protocol(format!("describe of {object}: {error}"))),
            Err(error) if error.status() == Some(404) => Ok(None),
            Err(error) => Err(error),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| ApiError::Protocol(error.to_string()))
}

/// API names are letters, digits and underscores; anything else is escaped.
const PATH_SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'_');

fn path_segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, PATH_SEGMENT).to_string()
}
