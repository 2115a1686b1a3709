//! The YAML mapping format as it is written, before compilation.
//!
//! Every struct refuses unknown keys so that a typo (`feilds`) is an error when the file
//! loads instead of a silently ignored setting.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_saphyr::Spanned;

/// One mapping file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// Shown in the sync log; defaults to the file name without extension.
    pub name: Option<String>,
    pub description: Option<String>,
    /// Conditions every rule of the file shares, such as `kind: dlr`.
    #[serde(rename = "match", default)]
    pub match_conditions: BTreeMap<String, Spanned<Value>>,
    /// Template naming whose events must reach Salesforce in arrival order.
    pub subject: Option<Spanned<String>>,
    pub rules: Vec<RuleDef>,
}

/// A rule: when its conditions hold, its upserts are planned.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    pub name: Spanned<String>,
    #[serde(default)]
    pub when: BTreeMap<String, Spanned<Value>>,
    /// A template expression that must be true, for conditions `when` cannot express.
    #[serde(rename = "if")]
    pub if_expression: Option<Spanned<String>>,
    /// When this rule applies, no later rule or file is considered.
    #[serde(default)]
    pub stop: bool,
    pub upserts: Vec<StepDef>,
}

/// Whether a step may create records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// Create the record, or update it if the external id matches one.
    #[default]
    Upsert,
    /// Update an existing record only; skip when none matches.
    Update,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Upsert => "upsert",
            Operation::Update => "update",
        }
    }
}

/// One upsert of one record.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    pub object: Spanned<String>,
    pub external_id: Spanned<String>,
    #[serde(default)]
    pub operation: Operation,
    pub fields: BTreeMap<String, Spanned<Value>>,
}
