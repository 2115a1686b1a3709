//! From the bytes Strex posted to a typed [`Forward`], or a [`PayloadError`] that says what
//! is wrong with them.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::msisdn::{Msisdn, NumberingPlan};
use super::payload::{DeliveryReport, ForwardKind, InMessage, SystemAction, property_text};

/// Why a body is not a forward we can accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("body is not valid JSON: {message} at line {line} column {column}")]
    NotJson {
        message: String,
        line: usize,
        column: usize,
    },
    #[error("body is not UTF-8 JSON text")]
    NotText,
    #[error("body must be a JSON object, found {found}")]
    NotAnObject { found: &'static str },
    #[error("field `{path}` has the wrong type: {message}")]
    WrongType { path: String, message: String },
    #[error("required field `{field}` is missing or null")]
    MissingField { field: &'static str },
    #[error("required field `{field}` is empty")]
    EmptyField { field: &'static str },
    #[error("field `{field}` is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("field `{field}` contains a NUL character, which an identifier cannot hold")]
    NulCharacter { field: &'static str },
}

impl PayloadError {
    /// A stable machine-readable code for HTTP bodies and the event log.
    pub fn code(&self) -> &'static str {
        match self {
            PayloadError::NotJson { .. } | PayloadError::NotText => "invalid_json",
            PayloadError::NotAnObject { .. } => "not_an_object",
            PayloadError::WrongType { .. } => "wrong_type",
            PayloadError::MissingField { .. } | PayloadError::EmptyField { .. } => "missing_field",
            PayloadError::TooLong { .. } | PayloadError::NulCharacter { .. } => "bad_value",
        }
    }
}

/// The typed part of a forward.
#[derive(Debug, Clone)]
pub enum Message {
    Mo(InMessage),
    Dlr(DeliveryReport),
}

/// A forward that passed validation, with the JSON it was parsed from.
#[derive(Debug, Clone)]
pub struct Forward {
    pub kind: ForwardKind,
    pub json: Value,
    pub message: Message,
    pub msisdn: Option<Msisdn>,
}

impl Forward {
    pub fn transaction_id(&self) -> &str {
        let id = match &self.message {
            Message::Mo(mo) => &mo.transaction_id,
            Message::Dlr(dlr) => &dlr.transaction_id,
        };
        id.as_deref().unwrap_or_default()
    }

    pub fn properties(&self) -> Option<&Map<String, Value>> {
        match &self.message {
            Message::Mo(mo) => mo.properties.as_ref(),
            Message::Dlr(dlr) => dlr.properties.as_ref(),
        }
    }

    pub fn system_action(&self) -> Option<SystemAction> {
        property_text(self.properties(), "SystemAction").map(|text| SystemAction::parse(&text))
    }

    /// Identity of the forward across Strex's retries.
    ///
    /// An MO retry may differ in `processAttempts`, so only its transactionId counts. One DLR
    /// transaction legitimately reports several states (Sent, then Ok; a service action), so
    /// the state is part of the key.
    pub fn dedupe_key(&self) -> String {
        match &self.message {
            Message::Mo(mo) => format!("mo:{}", mo.transaction_id.as_deref().unwrap_or_default()),
            Message::Dlr(dlr) => {
                let action = self.system_action();
                let parts = [
                    dlr.transaction_id.as_deref().unwrap_or_default(),
                    dlr.status_code.as_deref().unwrap_or_default(),
                    dlr.detailed_status_code.as_deref().unwrap_or_default(),
                    action
                        .as_ref()
                        .map(SystemAction::as_str)
                        .unwrap_or_default(),
                ];
                // A JSON array keeps the key unambiguous whatever characters the parts hold.
                format!("dlr:{}", Value::from(parts.to_vec()))
            }
        }
    }
}

/// Parses and validates a body of the given kind.
pub fn parse(
    kind: ForwardKind,
    body: &[u8],
    plan: &NumberingPlan,
) -> Result<Forward, PayloadError> {
    let json = parse_json(body)?;
    let message = match kind {
        ForwardKind::Mo => Message::Mo(typed(&json)?),
        ForwardKind::Dlr => Message::Dlr(typed(&json)?),
    };
    require_fields(&message)?;
    check_identifiers(&message)?;
    let msisdn = end_user_number(&message).map(|raw| Msisdn::parse(raw, plan));
    Ok(Forward {
        kind,
        json,
        message,
        msisdn,
    })
}

/// The body as a JSON object. A UTF-8 byte-order mark is tolerated; the stored raw bytes keep
/// it.
fn parse_json(body: &[u8]) -> Result<Value, PayloadError> {
    let text = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let json: Value = serde_json::from_slice(text).map_err(|error| {
        if error.is_data() || error.is_syntax() || error.is_eof() {
            PayloadError::NotJson {
                message: strip_position(&error.to_string()),
                line: error.line(),
                column: error.column(),
            }
        } else {
            PayloadError::NotText
        }
    })?;
    match json {
        Value::Object(_) => Ok(json),
        other => Err(PayloadError::NotAnObject {
            found: json_type_name(&other),
        }),
    }
}

fn typed<T: DeserializeOwned>(json: &Value) -> Result<T, PayloadError> {
    serde_path_to_error::deserialize(json).map_err(|error| PayloadError::WrongType {
        path: error.path().to_string(),
        message: error.inner().to_string(),
    })
}

fn require_fields(message: &Message) -> Result<(), PayloadError> {
    match message {
        Message::Mo(mo) => {
            require("transactionId", &mo.transaction_id, true)?;
            require("sender", &mo.sender, true)?;
            require("recipient", &mo.recipient, true)?;
            // An SMS may be empty, but the field itself is required by the model.
            require("content", &mo.content, false)
        }
        Message::Dlr(dlr) => {
            require("transactionId", &dlr.transaction_id, true)?;
            require("recipient", &dlr.recipient, true)?;
            require("statusCode", &dlr.status_code, true)?;
            require("detailedStatusCode", &dlr.detailed_status_code, true)
        }
    }
}

/// Longest identifier accepted. Strex's ids are GUIDs; these fields key the event and its
/// rows, and an index entry must stay well inside Postgres's limit of about 2,700 bytes.
pub const IDENTIFIER_MAX_CHARS: usize = 255;

/// The fields an event is identified and ordered by: they become indexed text columns, which
/// can hold neither a NUL nor unbounded text. Refusing them here answers 400 at once, instead
/// of a storage error Strex would retry for two days.
fn check_identifiers(message: &Message) -> Result<(), PayloadError> {
    let fields: Vec<(&'static str, Option<String>)> = match message {
        Message::Mo(mo) => vec![
            ("transactionId", mo.transaction_id.clone()),
            ("sender", mo.sender.clone()),
            ("recipient", mo.recipient.clone()),
        ],
        Message::Dlr(dlr) => vec![
            ("transactionId", dlr.transaction_id.clone()),
            ("recipient", dlr.recipient.clone()),
            ("statusCode", dlr.status_code.clone()),
            ("detailedStatusCode", dlr.detailed_status_code.clone()),
            (
                "properties.SystemAction",
                property_text(dlr.properties.as_ref(), "SystemAction"),
            ),
        ],
    };
    for (field, value) in fields {
        let Some(text) = value else { continue };
        if text.contains('\0') {
            return Err(PayloadError::NulCharacter { field });
        }
        if text.chars().count() > IDENTIFIER_MAX_CHARS {
            return Err(PayloadError::TooLong {
                field,
                max: IDENTIFIER_MAX_CHARS,
            });
        }
    }
    Ok(())
}

fn require(
    field: &'static str,
    value: &Option<String>,
    non_empty: bool,
) -> Result<(), PayloadError> {
    match value {
        None => Err(PayloadError::MissingField { field }),
        Some(text) if non_empty && text.trim().is_empty() => {
            Err(PayloadError::EmptyField { field })
        }
        Some(_) => Ok(()),
    }
}

/// The end user's number: the sender of an MO, the recipient of a DLR.
fn end_user_number(message: &Message) -> Option<&str> {
    match message {
        Message::Mo(mo) => mo.sender.as_deref(),
        Message::Dlr(dlr) => dlr.recipient.as_deref(),
    }
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// serde_json appends " at line L column C" to its messages; the position is reported in
/// separate fields.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_mo(body: &str) -> Result<Forward, PayloadError> {
        parse(ForwardKind::Mo, body.as_bytes(), &NumberingPlan::default())
    }

    #[test]
    fn minimal_mo_parses_with_defaults() {
        let body = r#"{"transactionId":"t1","created":"2025-03-12T13:58:40+00:00",
            "sender":"+4700000001","recipient":"2002","content":"HELLO"}"#;

        let forward = parse_mo(body).unwrap();

        assert_eq!(forward.transaction_id(), "t1");
        assert_eq!(forward.dedupe_key(), "mo:t1");
        assert_eq!(forward.msisdn.unwrap().e164(), "+4700000001");
    }

    #[test]
    fn invalid_json_reports_its_position() {
        let error = parse_mo("{\"transactionId\": ").unwrap_err();

        assert_eq!(error.code(), "invalid_json");
        assert!(error.to_string().contains("line 1 column 18"), "{error}");
    }

    #[test]
    fn a_missing_required_field_is_named() {
        let error = parse_mo(r#"{"transactionId":"t1","recipient":"2002","content":""}"#);

        assert_eq!(
            error.unwrap_err(),
            PayloadError::MissingField { field: "sender" }
        );
    }

    #[test]
    fn a_wrong_type_names_the_field_path() {
        let error = parse_mo(r#"{"transactionId":"t","sender":47,"recipient":"2","content":""}"#)
            .unwrap_err();

        assert!(matches!(&error, PayloadError::WrongType { path, .. } if path == "sender"));
    }

    #[test]
    fn dlr_dedupe_key_includes_status_and_system_action() {
        let body = r#"{"transactionId":"t:1","recipient":"+4700000001","statusCode":"Ok",
            "detailedStatusCode":"Delivered","properties":{"SystemAction":"Subscribe"}}"#;

        let forward = parse(ForwardKind::Dlr, body.as_bytes(), &NumberingPlan::default()).unwrap();

        assert_eq!(
            forward.dedupe_key(),
            r#"dlr:["t:1","Ok","Delivered","Subscribe"]"#
        );
    }

    #[test]
    fn identifiers_that_postgres_cannot_index_are_refused() {
        let long = "x".repeat(IDENTIFIER_MAX_CHARS + 1);
        let body = format!(
            r#"{{"transactionId":"{long}","sender":"+4700000001","recipient":"2002","content":""}}"#
        );
        let nul =
            r#"{"transactionId":"t","sender":"+47\u0000","recipient":"2002","content":"a\u0000b"}"#;

        assert_eq!(
            parse_mo(&body).unwrap_err(),
            PayloadError::TooLong {
                field: "transactionId",
                max: IDENTIFIER_MAX_CHARS
            }
        );
        assert_eq!(
            parse_mo(nul).unwrap_err(),
            PayloadError::NulCharacter { field: "sender" }
        );
    }

    #[test]
    fn a_byte_order_mark_is_accepted() {
        let body = "\u{feff}{\"transactionId\":\"t\",\"sender\":\"+4700000001\",\
            \"recipient\":\"2002\",\"content\":\"x\"}";

        assert!(parse_mo(body).is_ok());
    }
}
