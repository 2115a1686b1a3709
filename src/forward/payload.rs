//! The two bodies StrexConnect forwards, as typed values.
//!
//! Field names and types follow the Target365 InMessage and DeliveryReport models: camelCase
//! at the top level, every field optional on the wire, unknown fields kept rather than
//! rejected (Strex adds fields without notice).

use serde::Deserialize;
use serde_json::{Map, Value};

/// Which of the two forwards a body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ForwardKind {
    /// An incoming SMS (MasterMOForward).
    Mo,
    /// A delivery report (MasterDLRForward).
    Dlr,
}

impl ForwardKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ForwardKind::Mo => "mo",
            ForwardKind::Dlr => "dlr",
        }
    }

    pub fn parse(text: &str) -> Option<ForwardKind> {
        match text {
            "mo" => Some(ForwardKind::Mo),
            "dlr" => Some(ForwardKind::Dlr),
            _ => None,
        }
    }
}

impl std::fmt::Display for ForwardKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An incoming SMS.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InMessage {
    pub transaction_id: Option<String>,
    pub created: Option<String>,
    pub keyword_id: Option<String>,
    pub sender: Option<String>,
    pub recipient: Option<String>,
    pub content: Option<String>,
    pub is_stop_message: Option<bool>,
    pub process_attempts: Option<i64>,
    pub processed: Option<bool>,
    pub tags: Option<Vec<String>>,
    pub properties: Option<Map<String, Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A delivery report for an SMS or a Strex payment.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryReport {
    pub transaction_id: Option<String>,
    pub correlation_id: Option<String>,
    pub session_id: Option<String>,
    pub price: Option<f64>,
    pub sender: Option<String>,
    pub recipient: Option<String>,
    pub operator_id: Option<String>,
    pub status_code: Option<String>,
    pub detailed_status_code: Option<String>,
    pub status_description: Option<String>,
    pub delivered: Option<bool>,
    pub billed: Option<bool>,
    pub smsc_transaction_id: Option<String>,
    pub smsc_status: Option<String>,
    pub smsc_message_parts: Option<i64>,
    pub received: Option<String>,
    pub properties: Option<Map<String, Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What happened in a StrexConnect service, from `properties.SystemAction`.
///
/// Open on purpose: each StrexConnect service has its own actions and new ones appear, so an
/// unknown value is carried as `Other` rather than refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SystemAction {
    Subscribe,
    Unsubscribe,
    Signup,
    Recurring,
    AlterPrice,
    SubscribePreAuthFailed,
    RecurringPreAuthFailed,
    ValidationFailed,
    AlreadyRegistered,
    LookupFailed,
    AlterPriceInvalid,
    Other(String),
}

impl SystemAction {
    const KNOWN: [(&'static str, SystemAction); 11] = [
        ("Subscribe", SystemAction::Subscribe),
        ("Unsubscribe", SystemAction::Unsubscribe),
        ("Signup", SystemAction::Signup),
        ("Recurring", SystemAction::Recurring),
        ("AlterPrice", SystemAction::AlterPrice),
        (
            "SubscribePreAuthFailed",
            SystemAction::SubscribePreAuthFailed,
        ),
        (
            "RecurringPreAuthFailed",
            SystemAction::RecurringPreAuthFailed,
        ),
        ("ValidationFailed", SystemAction::ValidationFailed),
        ("AlreadyRegistered", SystemAction::AlreadyRegistered),
        ("LookupFailed", SystemAction::LookupFailed),
        ("AlterPriceInvalid", SystemAction::AlterPriceInvalid),
    ];

    /// Reads an action case-insensitively; unknown values are kept verbatim.
    pub fn parse(text: &str) -> SystemAction {
        Self::KNOWN
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text))
            .map(|(_, action)| action.clone())
            .unwrap_or_else(|| SystemAction::Other(text.to_owned()))
    }

    /// The canonical spelling of the action.
    pub fn as_str(&self) -> &str {
        match self {
            SystemAction::Other(text) => text,
            known => Self::KNOWN
                .iter()
                .find(|(_, action)| action == known)
                .map(|(name, _)| *name)
                .unwrap_or_default(),
        }
    }
}

/// Looks a platform key up in `properties` case-insensitively.
///
/// Platform keys are PascalCase but customers type their own keys in any case; an exact
/// match wins over a case-insensitive one so that `Keyword` and `keyword` can coexist.
pub fn property<'a>(properties: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a Value> {
    let properties = properties?;
    properties.get(key).or_else(|| {
        properties
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value)
    })
}

/// A property as text: strings as they are, numbers and booleans in their JSON form.
pub fn property_text(properties: Option<&Map<String, Value>>, key: &str) -> Option<String> {
    match property(properties, key)? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn system_action_is_read_case_insensitively_and_unknown_values_are_kept() {
        assert_eq!(SystemAction::parse("subscribe"), SystemAction::Subscribe);
        assert_eq!(SystemAction::parse("Subscribe").as_str(), "Subscribe");
        assert_eq!(
            SystemAction::parse("SfMcSMS"),
            SystemAction::Other("SfMcSMS".into())
        );
        assert_eq!(SystemAction::parse("SfMcSMS").as_str(), "SfMcSMS");
    }

    #[test]
    fn property_lookup_prefers_exact_case_then_ignores_case() {
        let properties = json!({"keyword": "low", "Keyword": "exact", "AccountId": 4828});
        let map = properties.as_object();

        assert_eq!(property_text(map, "Keyword").as_deref(), Some("exact"));
        assert_eq!(property_text(map, "ACCOUNTID").as_deref(), Some("4828"));
        assert_eq!(property_text(map, "missing"), None);
    }
}
