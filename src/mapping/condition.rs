//! Conditions on dotted paths of a forward, as written under `match:` and `when:`.
//!
//! A condition is a scalar (equality), a list (any of), or `{present: true|false}`. Text is
//! compared case-insensitively on Unicode-normalised (NFC) text, so a keyword typed as
//! `gåve`, `GÅVE` or with a combining ring above the A is one keyword. Numbers compare by
//! their text, so `AccountId: 4828` matches both `4828` and `"4828"`.

use serde_json::Value;
use unicode_normalization::UnicodeNormalization;

/// What a path's value must be.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    /// Equal to one value; `null` means absent or null.
    Equals(Value),
    /// Equal to any of the values.
    AnyOf(Vec<Value>),
    /// Present (not absent and not null) or absent.
    Present(bool),
}

/// One compiled condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub path: String,
    segments: Vec<String>,
    pub expected: Expected,
}

/// Why a condition could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConditionError {
    #[error("condition path `{0}` is empty or has an empty segment")]
    BadPath(String),
    #[error("condition on `{path}` must be a value, a list of values or {{present: true|false}}")]
    BadValue { path: String },
}

impl Condition {
    pub fn compile(path: &str, expected: &Value) -> Result<Condition, ConditionError> {
        let segments: Vec<String> = path.split('.').map(str::to_owned).collect();
        if segments.iter().any(String::is_empty) {
            return Err(ConditionError::BadPath(path.to_owned()));
        }
        let bad_value = || ConditionError::BadValue {
            path: path.to_owned(),
        };
        let expected = match expected {
            Value::Array(items) if items.iter().all(is_scalar) => Expected::AnyOf(items.clone()),
            Value::Object(map) => match (map.len(), map.get("present")) {
                (1, Some(Value::Bool(present))) => Expected::Present(*present),
                _ => return Err(bad_value()),
            },
            scalar if is_scalar(scalar) => Expected::Equals(scalar.clone()),
            _ => return Err(bad_value()),
        };
        Ok(Condition {
            path: path.to_owned(),
            segments,
            expected,
        })
    }

    /// Whether the condition holds for an event's context.
    pub fn holds(&self, context: &Value) -> bool {
        let actual = resolve(context, &self.segments);
        match &self.expected {
            Expected::Present(present) => actual.is_some() == *present,
            Expected::Equals(expected) => equals(actual, expected),
            Expected::AnyOf(options) => options.iter().any(|option| equals(actual, option)),
        }
    }
}

/// The value at a dotted path; absent and null both give `None`. Object keys match exactly
/// first and then case-insensitively, as Strex property keys come in any case.
pub fn resolve<'a>(context: &'a Value, segments: &[String]) -> Option<&'a Value> {
    let mut current = context;
    for segment in segments {
        current = match current {
            Value::Object(map) => map.get(segment).or_else(|| {
                map.iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(segment))
                    .map(|(_, value)| value)
            })?,
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    (!current.is_null()).then_some(current)
}

fn equals(actual: Option<&Value>, expected: &Value) -> bool {
    match (actual, expected) {
        (None, Value::Null) => true,
        (None, _) | (Some(_), Value::Null) => false,
        (Some(actual), expected) => match (comparable_text(actual), comparable_text(expected)) {
            (Some(left), Some(right)) => left == right,
            _ => false,
        },
    }
}

/// Lower-cased NFC text of a scalar; `None` for objects and arrays.
pub fn comparable_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        _ => return None,
    };
    Some(text.nfc().collect::<String>().to_lowercase())
}

fn is_scalar(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn holds(path: &str, expected: Value, context: Value) -> bool {
        Condition::compile(path, &expected).unwrap().holds(&context)
    }

    #[test]
    fn equality_ignores_case_and_unicode_composition() {
        let context = json!({"properties": {"Keyword": "GA\u{30a}VE"}});

        assert!(holds("properties.Keyword", json!("gåve"), context.clone()));
        assert!(holds("properties.keyword", json!("GÅVE"), context.clone()));
        assert!(!holds("properties.Keyword", json!("GIVE"), context));
    }

    #[test]
    fn any_of_matches_one_of_several_values() {
        let context = json!({"properties": {"SystemAction": "Signup"}});

        assert!(holds(
            "properties.SystemAction",
            json!(["Subscribe", "Signup"]),
            context.clone()
        ));
        assert!(!holds(
            "properties.SystemAction",
            json!(["Recurring"]),
            context
        ));
    }

    #[test]
    fn presence_treats_null_as_absent() {
        let context = json!({"properties": {"SystemAction": null, "AccountId": 4828}});

        assert!(holds(
            "properties.SystemAction",
            json!({"present": false}),
            context.clone()
        ));
        assert!(holds(
            "properties.AccountId",
            json!({"present": true}),
            context.clone()
        ));
        assert!(holds("properties.Missing", json!(null), context));
    }

    #[test]
    fn numbers_and_numeric_text_compare_equal() {
        let context = json!({"properties": {"AccountId": 4828}});

        assert!(holds("properties.AccountId", json!("4828"), context));
    }

    #[test]
    fn malformed_conditions_are_refused() {
        assert!(Condition::compile("properties..x", &json!(1)).is_err());
        assert!(Condition::compile("kind", &json!({"present": 1})).is_err());
        assert!(Condition::compile("kind", &json!([["nested"]])).is_err());
    }
}
