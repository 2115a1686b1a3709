//! The variables a mapping sees for one forward.
//!
//! Every top-level field of the body is a variable under its camelCase name (`transactionId`,
//! `statusCode`, …), including fields Strex adds later. On top of those:
//! `properties` (always an object, empty when the forward had none), `kind` (`mo` or `dlr`),
//! `msisdn` (the end user's number in E.164 form), `lookup` (number-lookup data), `forward`
//! (the whole body) and `received_at` (when strexforce received it, UTC).

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::forward::Forward;

/// Platform property keys, in their documented spelling. A forward that spells one in another
/// case also gets it under this spelling, so templates can rely on `properties.SystemAction`.
const PLATFORM_KEYS: [&str; 8] = [
    "ServiceType",
    "ServiceId",
    "Keyword",
    "SystemAction",
    "SubscriberTransactionId",
    "ServiceSubType",
    "AccountId",
    "preAuthorization",
];

/// Variable names a mapping may use in addition to the body's own field names.
pub const DERIVED_VARIABLES: [&str; 6] = [
    "properties",
    "kind",
    "msisdn",
    "forward",
    "lookup",
    "received_at",
];

/// Fields of the Target365 number-lookup result, in their documented spelling.
const LOOKUP_FIELDS: [&str; 16] = [
    "firstName",
    "middleName",
    "lastName",
    "companyName",
    "companyOrgNo",
    "streetName",
    "streetNumber",
    "streetLetter",
    "zipCode",
    "city",
    "gender",
    "dateOfBirth",
    "age",
    "deceasedDate",
    "landline",
    "msisdn",
];

/// Keys under which a nested lookup result may travel in `properties`.
const LOOKUP_CONTAINERS: [&str; 2] = ["Lookup", "LookupResult"];

/// Every field name of the InMessage and DeliveryReport models.
pub const FORWARD_FIELDS: [&str; 26] = [
    "transactionId",
    "created",
    "keywordId",
    "sender",
    "recipient",
    "content",
    "isStopMessage",
    "processAttempts",
    "processed",
    "tags",
    "messageId",
    "correlationId",
    "sessionId",
    "price",
    "operatorId",
    "statusCode",
    "detailedStatusCode",
    "statusDescription",
    "delivered",
    "billed",
    "smscTransactionId",
    "smscStatus",
    "smscMessageParts",
    "received",
    "properties",
    "kind",
];

/// Builds the context object for conditions and templates. `received_at` is when strexforce
/// received the forward (a charge report may carry no time of its own).
pub fn build(forward: &Forward, received_at: DateTime<Utc>) -> Value {
    let mut context = match &forward.json {
        Value::Object(body) => body.clone(),
        _ => Map::new(),
    };
    context.insert("properties".into(), Value::Object(properties(forward)));
    context.insert("kind".into(), Value::from(forward.kind.as_str()));
    // Only a recognisable number is the end user's MSISDN; a short number or a sender name
    // leaves `msisdn` undefined, so no Contact is keyed by it.
    let msisdn = forward
        .msisdn
        .as_ref()
        .filter(|number| number.is_international())
        .map(|number| number.e164());
    context.insert("msisdn".into(), msisdn.map_or(Value::Null, Value::from));
    context.insert("forward".into(), forward.json.clone());
    let lookup = lookup(context.get("properties").and_then(Value::as_object));
    context.insert("lookup".into(), Value::Object(lookup));
    let received_at = received_at.to_rfc3339_opts(SecondsFormat::Millis, true);
    context.insert("received_at".into(), Value::from(received_at));
    Value::Object(context)
}

/// Number-lookup data about the subscriber, wherever it travels.
///
/// How Strex includes lookup data in a forward is not documented, so both plausible shapes
/// are read: a nested object under `Lookup` (or `LookupResult`, any case), or the lookup's
/// field names directly in `properties` (any case, optionally prefixed with `lookup` and a
/// separator). The result uses the lookup resource's own field names.
fn lookup(properties: Option<&Map<String, Value>>) -> Map<String, Value> {
    let Some(properties) = properties else {
        return Map::new();
    };
    let nested = properties.iter().find_map(|(key, value)| {
        let is_container = LOOKUP_CONTAINERS
            .iter()
            .any(|c| c.eq_ignore_ascii_case(key));
        value.as_object().filter(|_| is_container)
    });
    canonical_lookup_fields(nested.unwrap_or(properties))
}

fn canonical_lookup_fields(source: &Map<String, Value>) -> Map<String, Value> {
    let mut fields = Map::new();
    for (key, value) in source {
        let bare = strip_lookup_prefix(key);
        if let Some(name) = LOOKUP_FIELDS.iter().find(|f| f.eq_ignore_ascii_case(bare)) {
            fields
                .entry((*name).to_owned())
                .or_insert_with(|| value.clone());
        }
    }
    fields
}

fn strip_lookup_prefix(key: &str) -> &str {
    let lower = key.to_ascii_lowercase();
    for prefix in ["lookupresult", "lookup"] {
        if lower.starts_with(prefix) && key.len() > prefix.len() {
            return key[prefix.len()..].trim_start_matches(['.', '_', '-', ':']);
        }
    }
    key
}

fn properties(forward: &Forward) -> Map<String, Value> {
    let mut properties = forward.properties().cloned().unwrap_or_default();
    for key in PLATFORM_KEYS {
        if properties.contains_key(key) {
            continue;
        }
        let other_case = properties
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value.clone());
        if let Some(value) = other_case {
            properties.insert(key.to_owned(), value);
        }
    }
    properties
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forward::{ForwardKind, NumberingPlan, parse};

    #[test]
    fn platform_keys_get_their_documented_spelling() {
        let body = br#"{"transactionId":"t","recipient":"+4700000001","statusCode":"Ok",
            "detailedStatusCode":"Delivered","properties":{"systemaction":"Subscribe"}}"#;
        let forward = parse(ForwardKind::Dlr, body, &NumberingPlan::default()).unwrap();

        let context = build(&forward, Utc::now());

        assert_eq!(context["properties"]["SystemAction"], "Subscribe");
        assert_eq!(context["properties"]["systemaction"], "Subscribe");
        assert_eq!(context["msisdn"], "+4700000001");
        assert_eq!(context["kind"], "dlr");
    }

    #[test]
    fn lookup_data_is_found_flat_or_nested() {
        let flat = br#"{"transactionId":"t","sender":"+4700000001","recipient":"2002",
            "content":"GIVE","properties":{"firstName":"Kari","ZIPCODE":"0150","Keyword":"GIVE"}}"#;
        let nested = br#"{"transactionId":"t","sender":"+4700000001","recipient":"2002",
            "content":"GIVE","properties":{"lookup":{"firstName":"Kari","zipCode":"0150"}}}"#;
        let prefixed = br#"{"transactionId":"t","sender":"+4700000001","recipient":"2002",
            "content":"GIVE","properties":{"Lookup_FirstName":"Kari","lookup.zipCode":"0150"}}"#;

        for body in [&flat[..], &nested[..], &prefixed[..]] {
            let forward = parse(ForwardKind::Mo, body, &NumberingPlan::default()).unwrap();
            let lookup = &build(&forward, Utc::now())["lookup"];
            assert_eq!(
                lookup,
                &serde_json::json!({"firstName": "Kari", "zipCode": "0150"})
            );
        }
    }

    #[test]
    fn absent_or_null_properties_become_an_empty_object() {
        let body = br#"{"transactionId":"t","recipient":"+4700000001","statusCode":"Ok",
            "detailedStatusCode":"Delivered","properties":null}"#;
        let forward = parse(ForwardKind::Dlr, body, &NumberingPlan::default()).unwrap();

        assert_eq!(
            build(&forward, Utc::now())["properties"],
            serde_json::json!({})
        );
    }
}
