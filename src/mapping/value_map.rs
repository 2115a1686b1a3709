//! Value maps: turning upstream values into the values a Salesforce picklist allows.
//!
//! ```yaml
//! Strex_Gender__c:
//!   value: "{{ lookup.gender }}"
//!   map: { M: Male, F: Female }
//!   map_default: Unknown      # for values the map does not know; or
//!   unmapped: drop            # drop (the default), keep or fail
//! ```
//!
//! Keys match case-insensitively on Unicode-normalised text, like conditions do.

use serde_json::{Map, Value};

use super::condition::comparable_text;

/// What to do with a value the map does not know.
#[derive(Debug, Clone, PartialEq)]
pub enum Unmapped {
    /// Leave the field out of the record.
    Drop,
    /// Send the value unchanged.
    Keep,
    /// Fail the event's plan.
    Fail,
    /// Send this value instead.
    Default(Value),
}

/// A compiled value map.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueMap {
    entries: Vec<(String, Value)>,
    unmapped: Unmapped,
}

impl ValueMap {
    /// Builds the map from a field's `map`, `map_default` and `unmapped` options.
    pub fn compile(options: &Map<String, Value>) -> Result<Option<ValueMap>, String> {
        let Some(map) = options.get("map") else {
            if options.contains_key("map_default") || options.contains_key("unmapped") {
                return Err("`map_default` and `unmapped` need a `map`".to_owned());
            }
            return Ok(None);
        };
        let Value::Object(map) = map else {
            return Err(
                "`map` must be a mapping from upstream values to Salesforce values".to_owned(),
            );
        };
        let entries = map
            .iter()
            .map(|(from, to)| (key(from), to.clone()))
            .collect();
        let unmapped = match (options.get("map_default"), options.get("unmapped")) {
            (Some(_), Some(_)) => {
                return Err("give either `map_default` or `unmapped`, not both".to_owned());
            }
            (Some(default), None) => Unmapped::Default(default.clone()),
            (None, None) => Unmapped::Drop,
            (None, Some(Value::String(how))) => match how.as_str() {
                "drop" => Unmapped::Drop,
                "keep" => Unmapped::Keep,
                "fail" => Unmapped::Fail,
                other => return Err(format!("`unmapped` is drop, keep or fail, not `{other}`")),
            },
            (None, Some(_)) => return Err("`unmapped` is drop, keep or fail".to_owned()),
        };
        Ok(Some(ValueMap { entries, unmapped }))
    }

    /// The mapped value; `Ok(None)` leaves the field out.
    pub fn apply(&self, value: Value) -> Result<Option<Value>, String> {
        let wanted = comparable_text(&value);
        let found = self
            .entries
            .iter()
            .find(|(from, _)| Some(from) == wanted.as_ref());
        if let Some((_, to)) = found {
            return Ok(Some(to.clone()));
        }
        match &self.unmapped {
            Unmapped::Drop => Ok(None),
            Unmapped::Keep => Ok(Some(value)),
            Unmapped::Default(default) => Ok(Some(default.clone())),
            Unmapped::Fail => Err(format!("the value map has no entry for {value}")),
        }
    }

    /// The values this map can produce, for checking them against a picklist.
    pub fn outputs(&self) -> impl Iterator<Item = &Value> {
        let default = match &self.unmapped {
            Unmapped::Default(value) => Some(value),
            _ => None,
        };
        self.entries.iter().map(|(_, to)| to).chain(default)
    }
}

fn key(text: &str) -> String {
    comparable_text(&Value::from(text)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn value_map(options: Value) -> ValueMap {
        ValueMap::compile(options.as_object().unwrap())
            .unwrap()
            .unwrap()
    }

    #[test]
    fn known_values_are_mapped_case_insensitively() {
        let map = value_map(json!({"map": {"M": "Male", "F": "Female"}}));

        assert_eq!(map.apply(json!("f")), Ok(Some(json!("Female"))));
    }

    #[test]
    fn unknown_values_follow_the_unmapped_rule() {
        let options = |extra: Value| {
            let mut options = json!({"map": {"M": "Male"}});
            options
                .as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            value_map(options)
        };

        assert_eq!(options(json!({})).apply(json!("U")), Ok(None));
        assert_eq!(
            options(json!({"unmapped": "keep"})).apply(json!("U")),
            Ok(Some(json!("U")))
        );
        assert_eq!(
            options(json!({"map_default": "Unknown"})).apply(json!("U")),
            Ok(Some(json!("Unknown")))
        );
        assert!(
            options(json!({"unmapped": "fail"}))
                .apply(json!("U"))
                .is_err()
        );
    }

    #[test]
    fn contradictory_options_are_refused() {
        let options = json!({"map": {"M": "Male"}, "map_default": "x", "unmapped": "keep"});

        assert!(ValueMap::compile(options.as_object().unwrap()).is_err());
        assert!(ValueMap::compile(json!({"unmapped": "keep"}).as_object().unwrap()).is_err());
    }
}
