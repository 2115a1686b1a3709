//! Turning a JSON value from a request body into the value stored for a field,
//! following Salesforce's data formats (reference §9).

use chrono::{DateTime, NaiveDate, SecondsFormat, Timelike, Utc};
use serde_json::Value;

use crate::record_error::RecordError;
use crate::record_id;
use crate::schema::{Field, FieldType};

/// Converts `raw` to the stored form, or explains why the field rejects it.
/// JSON `null` clears the field; an empty string counts as null, as in Salesforce.
pub(crate) fn coerce(field: &Field, raw: &Value) -> Result<Value, RecordError> {
    if raw.is_null() {
        return Ok(empty_value(field));
    }
    match field.field_type {
        FieldType::Boolean => coerce_boolean(field, raw),
        FieldType::Int => coerce_int(field, raw),
        FieldType::Date => coerce_date(field, raw),
        FieldType::Datetime => coerce_datetime(field, raw),
        FieldType::Reference | FieldType::Id => coerce_id(field, raw),
        kind if kind.is_decimal() => coerce_decimal(field, raw),
        _ => coerce_text(field, raw),
    }
}

/// What a field holds when cleared: checkboxes are false, everything else null.
pub(crate) fn empty_value(field: &Field) -> Value {
    if field.is_boolean() {
        Value::Bool(false)
    } else {
        Value::Null
    }
}

/// Converts the external-id value from an upsert URL, which is always text.
pub(crate) fn coerce_key(field: &Field, text: &str) -> Result<Value, RecordError> {
    let raw = match field.field_type {
        FieldType::Int => text.parse::<i64>().map(Value::from).ok(),
        FieldType::Double => text.parse::<f64>().ok().map(Value::from),
        _ => None,
    };
    coerce(
        field,
        &raw.unwrap_or_else(|| Value::String(text.to_string())),
    )
}

/// The form used to compare values of unique and external-id fields.
pub(crate) fn index_key(field: &Field, value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) if field.case_sensitive => Some(text.clone()),
        Value::String(text) => Some(text.to_lowercase()),
        Value::Number(number) => number.as_f64().map(|n| n.to_string()),
        other => Some(other.to_string()),
    }
}

pub(crate) fn display(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn coerce_text(field: &Field, raw: &Value) -> Result<Value, RecordError> {
    let text = match raw {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        other => return Err(wrong_type(field, "String", other)),
    };
    if text.is_empty() {
        return Ok(Value::Null);
    }
    check_length(field, &text)?;
    match field.field_type {
        FieldType::Email => check_email(field, &text)?,
        FieldType::Picklist => check_picklist(field, &text)?,
        FieldType::Multipicklist => {
            for choice in text.split(';') {
                check_picklist(field, choice)?;
            }
        }
        _ => {}
    }
    Ok(Value::String(text))
}

/// Salesforce measures text length in UTF-16 code units (Apex strings are UTF-16).
fn check_length(field: &Field, text: &str) -> Result<(), RecordError> {
    let max = field.length.unwrap_or(u32::MAX);
    if text.encode_utf16().count() > max as usize {
        return Err(RecordError::StringTooLong {
            label: field.label.clone(),
            field: field.name.clone(),
            value: text.to_string(),
            max,
        });
    }
    Ok(())
}

fn check_email(field: &Field, text: &str) -> Result<(), RecordError> {
    if is_plausible_email(text) {
        return Ok(());
    }
    Err(RecordError::InvalidEmail {
        label: field.label.clone(),
        field: field.name.clone(),
        value: text.to_string(),
    })
}

/// One `@`, a non-empty local part, a dotted domain, no blanks or empty labels.
fn is_plausible_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    let labels_ok = domain.split('.').count() >= 2 && domain.split('.').all(|l| !l.is_empty());
    !local.is_empty()
        && !domain.contains('@')
        && !text.chars().any(char::is_whitespace)
        && labels_ok
}

fn check_picklist(field: &Field, value: &str) -> Result<(), RecordError> {
    if !field.restricted || field.allows_picklist_value(value) {
        return Ok(());
    }
    Err(RecordError::BadRestrictedPicklist {
        label: field.label.clone(),
        field: field.name.clone(),
        value: value.to_string(),
    })
}

fn coerce_boolean(field: &Field, raw: &Value) -> Result<Value, RecordError> {
    match raw {
        Value::Bool(_) => Ok(raw.clone()),
        other => Err(wrong_type(field, "boolean", other)),
    }
}

fn coerce_int(field: &Field, raw: &Value) -> Result<Value, RecordError> {
    let whole = match raw {
        Value::Number(number) => number.as_i64().or_else(|| {
            number
                .as_f64()
                .filter(|n| n.fract() == 0.0)
                .map(|n| n as i64)
        }),
        _ => None,
    };
    let Some(whole) = whole else {
        return Err(wrong_type(field, "int", raw));
    };
    if whole.unsigned_abs().to_string().len() > field.digits() as usize {
        return Err(out_of_range(field, raw));
    }
    Ok(Value::from(whole))
}

/// Too many integer digits is an error; extra fractional digits are cut off.
fn coerce_decimal(field: &Field, raw: &Value) -> Result<Value, RecordError> {
    let Some(number) = raw.as_f64().filter(|_| raw.is_number()) else {
        return Err(wrong_type(field, "double", raw));
    };
    let scale = field.scale.unwrap_or(0) as usize;
    let integer_digits_allowed = field.precision.unwrap_or(18) as usize - scale;
    // f64's Display never uses an exponent, so the digits can be counted as text.
    let text = number.abs().to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if whole.trim_start_matches('0').len() > integer_digits_allowed {
        return Err(out_of_range(field, raw));
    }
    if fraction.len() <= scale {
        return Ok(raw.clone());
    }
    let sign = if number < 0.0 { "-" } else { "" };
    let truncated: f64 = format!("{sign}{whole}.{}", &fraction[..scale])
        .parse()
        .expect("digits taken from a formatted f64 parse back");
    Ok(Value::from(truncated))
}

fn coerce_date(field: &Field, raw: &Value) -> Result<Value, RecordError> {
    let parsed = raw
        .as_str()
        .filter(|text| text.len() == 10)
        .and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok());
    match parsed {
        Some(date) => Ok(Value::String(date.format("%Y-%m-%d").to_string())),
        None => Err(wrong_type(field, "date", raw)),
    }
}

fn coerce_datetime(field: &Field, raw: &Value) -> Result<Value, RecordError> {
    match raw.as_str().and_then(parse_datetime) {
        Some(instant) => Ok(Value::String(format_datetime(instant))),
        None => Err(wrong_type(field, "datetime", raw)),
    }
}

/// Accepts `Z`, `+HH:MM` and `+HHMM` offsets, with or without milliseconds. Values are
/// kept with one-second precision, as Salesforce stores them.
pub(crate) fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    let parsed = DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%z"))
        .ok()?;
    parsed.with_timezone(&Utc).with_nanosecond(0)
}

/// Salesforce's output form: UTC, milliseconds, and an offset without a colon.
pub(crate) fn format_datetime(instant: DateTime<Utc>) -> String {
    let text = instant.to_rfc3339_opts(SecondsFormat::Millis, true);
    format!("{}+0000", text.trim_end_matches('Z'))
}

fn coerce_id(field: &Field, raw: &Value) -> Result<Value, RecordError> {
    let Some(text) = raw.as_str() else {
        return Err(wrong_type(field, "id", raw));
    };
    match record_id::normalise(text) {
        Some(id) => Ok(Value::String(id)),
        None => Err(RecordError::MalformedId {
            label: field.label.clone(),
            field: field.name.clone(),
            value: text.to_string(),
        }),
    }
}

fn out_of_range(field: &Field, raw: &Value) -> RecordError {
    RecordError::NumberOutsideRange {
        label: field.label.clone(),
        field: field.name.clone(),
        value: display(raw),
    }
}

/// Salesforce's parser names the JSON token it found, in Jackson's terms.
pub(crate) fn wrong_type(field: &Field, expected: &'static str, raw: &Value) -> RecordError {
    let token = match raw {
        Value::String(_) => "VALUE_STRING",
        Value::Number(number) if number.is_f64() => "VALUE_NUMBER_FLOAT",
        Value::Number(_) => "VALUE_NUMBER_INT",
        Value::Bool(true) => "VALUE_TRUE",
        Value::Bool(false) => "VALUE_FALSE",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        Value::Null => "VALUE_NULL",
    };
    RecordError::WrongJsonType {
        field: field.name.clone(),
        expected,
        token,
        value: display(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Schema;
    use serde_json::json;

    fn contact_field(name: &str) -> Field {
        let schema = Schema::builtin();
        schema
            .object("Contact")
            .unwrap()
            .field(name)
            .unwrap()
            .clone()
    }

    #[test]
    fn datetime_with_an_offset_is_stored_in_utc_without_a_colon() {
        let field = contact_field("Strex_Subscribed_At__c");

        let stored = coerce(&field, &json!("2024-11-06T19:38:40.123+02:00")).unwrap();

        assert_eq!(stored, json!("2024-11-06T17:38:40.000+0000"));
    }

    #[test]
    fn salesforce_output_form_is_accepted_back() {
        let field = contact_field("Strex_Subscribed_At__c");

        let stored = coerce(&field, &json!("2024-11-06T17:38:40.000+0000")).unwrap();

        assert_eq!(stored, json!("2024-11-06T17:38:40.000+0000"));
    }

    #[test]
    fn currency_keeps_two_decimals_and_rejects_too_many_integer_digits() {
        let field = contact_field("Strex_Recurring_Amount__c");

        let cut = coerce(&field, &json!(12.3456)).unwrap();
        let too_big = coerce(&field, &json!(123_456_789_012_345u64)).unwrap_err();

        assert_eq!(cut, json!(12.34));
        assert_eq!(too_big.status_code(), "NUMBER_OUTSIDE_VALID_RANGE");
    }

    #[test]
    fn length_is_counted_in_utf16_units() {
        let field = contact_field("Strex_MSISDN__c");
        let eleven_emoji = "😀".repeat(11);

        let error = coerce(&field, &json!(eleven_emoji)).unwrap_err();

        assert_eq!(error.status_code(), "STRING_TOO_LONG");
    }
}
