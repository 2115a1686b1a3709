//! Planning semantics, on small mapping sets written inline.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{MappingSet, MappingSettings, MappingSource, Plan, PlanError};
use crate::forward::{ForwardKind, NumberingPlan, parse};

fn set(files: &[(&str, &str)]) -> MappingSet {
    try_set(files).unwrap_or_else(|error| panic!("mappings load: {error}"))
}

fn try_set(files: &[(&str, &str)]) -> Result<MappingSet, super::LoadError> {
    let sources = files
        .iter()
        .map(|(name, text)| MappingSource {
            path: (*name).into(),
            text: (*text).to_owned(),
        })
        .collect();
    MappingSet::from_sources(sources, &MappingSettings::default())
}

fn dlr(properties: Value) -> Value {
    json!({"transactionId": "t1", "recipient": "+4700000001", "statusCode": "Ok",
           "detailedStatusCode": "Delivered", "price": 10.5, "properties": properties})
}

fn plan(set: &MappingSet, body: &Value) -> Result<Plan, PlanError> {
    let bytes = serde_json::to_vec(body).unwrap();
    let forward = parse(ForwardKind::Dlr, &bytes, &NumberingPlan::default()).unwrap();
    set.plan_at(&forward, DateTime::<Utc>::UNIX_EPOCH)
}

fn rules(plan: &Plan) -> Vec<String> {
    plan.upserts
        .iter()
        .map(|u| format!("{}/{}", u.mapping, u.rule))
        .collect()
}

const CONTACT_STEP: &str = r#"
      - object: Contact
        external_id: Strex_MSISDN__c
        fields: { Strex_MSISDN__c: "{{ msisdn }}", Note__c: "{{ rule_note }}" }"#;

fn step(object: &str, key: &str) -> String {
    format!(
        "\n      - object: {object}\n        external_id: Key__c\n        fields: {{ Key__c: \"{key}\" }}"
    )
}

#[test]
fn all_matching_rules_of_all_files_apply_in_file_name_then_written_order() {
    let b = format!("rules:\n  - name: b1\n    upserts:{}", step("B", "1"));
    let a = format!(
        "rules:\n  - name: a1\n    upserts:{}\n  - name: a2\n    upserts:{}",
        step("A", "1"),
        step("A", "2")
    );
    let set = set(&[("b.yaml", &b), ("a.yaml", &a)]);

    let plan = plan(&set, &dlr(json!({}))).unwrap();

    assert_eq!(rules(&plan), ["a/a1", "a/a2", "b/b1"]);
}

#[test]
fn a_rule_with_stop_ends_planning_for_every_later_rule_and_file() {
    let a = format!(
        "rules:\n  - name: first\n    stop: true\n    when: {{ properties.Keyword: GIVE }}\n    upserts:{}\n  - name: second\n    upserts:{}",
        step("A", "1"),
        step("A", "2")
    );
    let b = format!("rules:\n  - name: later\n    upserts:{}", step("B", "1"));
    let set = set(&[("a.yaml", &a), ("b.yaml", &b)]);

    let stopped = plan(&set, &dlr(json!({"Keyword": "give"}))).unwrap();
    let not_stopped = plan(&set, &dlr(json!({"Keyword": "STOP"}))).unwrap();

    assert_eq!(rules(&stopped), ["a/first"]);
    assert_eq!(rules(&not_stopped), ["a/second", "b/later"]);
}

#[test]
fn file_match_and_rule_conditions_select_by_any_dotted_path() {
    let text = format!(
        "match: {{ kind: dlr, properties.ServiceType: Subscription }}\nrules:\n  - name: r\n    when:\n      properties.SystemAction: [Subscribe, Signup]\n      properties.AccountId: 4828\n      correlationId: {{ present: false }}\n    upserts:{}",
        step("A", "1")
    );
    let set = set(&[("m.yaml", &text)]);
    let matching =
        json!({"ServiceType": "subscription", "SystemAction": "signup", "AccountId": "4828"});

    assert_eq!(plan(&set, &dlr(matching.clone())).unwrap().upserts.len(), 1);
    let mut other_service = matching.clone();
    other_service["ServiceType"] = json!("Voting");
    assert!(plan(&set, &dlr(other_service)).unwrap().upserts.is_empty());
    let mut other_action = matching;
    other_action["SystemAction"] = json!("Recurring");
    assert!(plan(&set, &dlr(other_action)).unwrap().upserts.is_empty());
}

#[test]
fn an_if_expression_selects_what_when_cannot_express() {
    let text = format!(
        "rules:\n  - name: big\n    if: \"statusCode == 'Ok' and price > 10\"\n    upserts:{}",
        step("A", "1")
    );
    let set = set(&[("m.yaml", &text)]);

    assert_eq!(plan(&set, &dlr(json!({}))).unwrap().upserts.len(), 1);
    let mut small = dlr(json!({}));
    small["price"] = json!(5);
    assert!(plan(&set, &small).unwrap().upserts.is_empty());
}

#[test]
fn values_keep_their_types_and_missing_values_leave_fields_out() {
    let text = r#"
rules:
  - name: r
    upserts:
      - object: A
        external_id: Key__c
        fields:
          Key__c: "{{ transactionId }}"
          Amount__c: "{{ price }}"
          Billed__c: "{{ properties.billed }}"
          Zip__c: "{{ properties.zip }}"
          Absent__c: "{{ properties.nothing }}"
          Null__c: "{{ properties.null_value }}"
          Cleared__c: null
          Literal__c: 42
          Text__c: "Amount {{ price }} NOK{{ properties.nothing }}"
"#;
    let set = set(&[("m.yaml", text)]);
    let body = dlr(json!({"billed": true, "zip": "0150", "null_value": null}));

    let record = &plan(&set, &body).unwrap().upserts[0].record;

    assert_eq!(
        Value::Object(record.clone()),
        json!({"Key__c": "t1", "Amount__c": 10.5, "Billed__c": true, "Zip__c": "0150",
               "Cleared__c": null, "Literal__c": 42, "Text__c": "Amount 10.5 NOK"})
    );
}

#[test]
fn a_template_error_fails_the_whole_plan_and_names_where() {
    let text = r#"
rules:
  - name: r
    upserts:
      - object: A
        external_id: Key__c
        fields:
          Key__c: "{{ transactionId }}"
          When__c: "{{ properties.when | datetime }}"
"#;
    let set = set(&[("m.yaml", text)]);

    let error = plan(&set, &dlr(json!({"when": "2025-03-12T10:00:00"}))).unwrap_err();

    assert_eq!(error.mapping, "m");
    assert_eq!(error.rule, "r");
    assert_eq!(error.field.as_deref(), Some("When__c"));
    assert!(error.message.contains("with an offset"), "{error}");
}

#[test]
fn upserts_of_one_record_from_several_rules_are_merged() {
    let text = format!(
        "rules:\n  - name: base\n    upserts:{CONTACT_STEP}\n  - name: status\n    upserts:\n      - object: Contact\n        external_id: Strex_MSISDN__c\n        fields: {{ Strex_MSISDN__c: \"{{{{ msisdn }}}}\", Status__c: Active, LastName: {{ create_default: x }} }}"
    )
    .replace("{{ rule_note }}", "base");
    let set = set(&[("m.yaml", &text)]);

    let plan = plan(&set, &dlr(json!({}))).unwrap();

    assert_eq!(plan.upserts.len(), 1);
    assert_eq!(plan.upserts[0].rule, "base+status");
    assert_eq!(plan.upserts[0].record["Status__c"], "Active");
    assert_eq!(plan.upserts[0].record["Note__c"], "base");
    assert_eq!(plan.upserts[0].create_only["LastName"], "x");
}

#[test]
fn a_lookup_to_a_record_planned_earlier_depends_on_it() {
    let text = format!(
        "rules:\n  - name: contact\n    upserts:{CONTACT_STEP}\n  - name: event\n    upserts:\n      - object: E\n        external_id: Key__c\n        fields: {{ Key__c: k, Contact__r: {{ Strex_MSISDN__c: \"{{{{ msisdn }}}}\" }} }}"
    )
    .replace("{{ rule_note }}", "");
    let set = set(&[("m.yaml", &text)]);

    let plan = plan(&set, &dlr(json!({}))).unwrap();

    assert_eq!(plan.upserts[1].depends_on, Some(0));
    assert_eq!(
        plan.upserts[1].record["Contact__r"],
        json!({"Strex_MSISDN__c": "+4700000001"})
    );
}

#[test]
fn a_lookup_to_a_record_planned_later_is_a_plan_error() {
    let text = format!(
        "rules:\n  - name: event\n    upserts:\n      - object: E\n        external_id: Key__c\n        fields: {{ Key__c: k, Contact__r: {{ Strex_MSISDN__c: \"{{{{ msisdn }}}}\" }} }}\n  - name: contact\n    upserts:{CONTACT_STEP}"
    )
    .replace("{{ rule_note }}", "");
    let set = set(&[("m.yaml", &text)]);

    let error = plan(&set, &dlr(json!({}))).unwrap_err();

    assert!(error.message.contains("upserts later"), "{error}");
}

#[test]
fn the_subject_defaults_to_the_msisdn_and_a_mapping_can_name_another() {
    let text = format!(
        "subject: \"{{{{ properties.SubscriberTransactionId }}}}\"\nrules:\n  - name: r\n    upserts:{}",
        step("A", "1")
    );
    let default = set(&[(
        "m.yaml",
        &format!("rules:\n  - name: r\n    upserts:{}", step("A", "1")),
    )]);
    let named = set(&[("m.yaml", &text)]);
    let body = dlr(json!({"SubscriberTransactionId": "sub-1"}));

    assert_eq!(
        plan(&default, &body).unwrap().subject.as_deref(),
        Some("+4700000001")
    );
    assert_eq!(
        plan(&named, &body).unwrap().subject.as_deref(),
        Some("sub-1")
    );
}

#[test]
fn an_event_no_rule_matches_plans_nothing_but_keeps_its_subject() {
    let text = format!(
        "match: {{ kind: mo }}\nrules:\n  - name: r\n    upserts:{}",
        step("A", "1")
    );
    let set = set(&[("m.yaml", &text)]);

    let plan = plan(&set, &dlr(json!({}))).unwrap();

    assert!(plan.upserts.is_empty());
    assert_eq!(plan.subject.as_deref(), Some("+4700000001"));
}

#[test]
fn load_errors_are_reported_at_their_file_line_and_column() {
    let typo = "rules:\n  - name: r\n    upserts:\n      - object: A\n        external_id: K\n        feilds: { K: 1 }\n";
    let unknown_variable = "rules:\n  - name: r\n    upserts:\n      - object: A\n        external_id: K\n        fields: { K: \"{{ msisdnn }}\" }\n";
    let missing_key = "rules:\n  - name: r\n    upserts:\n      - object: A\n        external_id: K\n        fields: { Other: 1 }\n";

    let messages = [typo, unknown_variable, missing_key]
        .map(|text| try_set(&[("m.yaml", text)]).unwrap_err().to_string());

    assert_eq!(
        messages[0],
        "m.yaml:6:9: unknown key `feilds`; did you mean `fields`? (expected one of object, external_id, operation, fields)"
    );
    assert_eq!(
        messages[1],
        "m.yaml:6:22: unknown variable `msisdnn`; did you mean `msisdn`?"
    );
    assert_eq!(
        messages[2],
        "m.yaml:5:22: external id field `K` must also be set under `fields`"
    );
}

#[test]
fn yaml_1_1_words_stay_text_so_norway_is_no_not_false() {
    let text = "rules:\n  - name: r\n    when: { properties.Keyword: ON }\n    upserts:\n      - object: A\n        external_id: Key__c\n        fields: { Key__c: k, Country__c: NO, Answer__c: yes, Flag__c: true }\n";
    let set = set(&[("m.yaml", text)]);

    let plan = plan(&set, &dlr(json!({"Keyword": "on"}))).unwrap();

    let record = &plan.upserts[0].record;
    assert_eq!(record["Country__c"], "NO");
    assert_eq!(record["Answer__c"], "yes");
    assert_eq!(record["Flag__c"], true);
}

#[test]
fn names_minijinja_resolves_only_when_running_are_checked_when_the_file_loads() {
    let step = |fields: &str| {
        format!(
            "rules:\n  - name: r\n    upserts:\n      - object: A\n        external_id: K\n        fields: {{ K: k, {fields} }}\n"
        )
    };
    let filter = step("X: \"{{ price | decimal(2) | nosuchfilter }}\"");
    let function = step("X: \"{{ range(3) | join(',') }}\"");

    let error = try_set(&[("m.yaml", &filter)]).unwrap_err().to_string();

    assert!(error.contains("filter nosuchfilter is unknown"), "{error}");
    assert!(try_set(&[("m.yaml", &function)]).is_ok());
}

#[test]
fn a_condition_that_could_never_hold_as_meant_is_a_load_error() {
    let rule = |when: &str| {
        format!(
            "rules:\n  - name: r\n    when: {{ {when} }}\n    upserts:\n      - object: A\n        external_id: K\n        fields: {{ K: k }}\n"
        )
    };

    let typo = try_set(&[("m.yaml", &rule("propertes.SystemAction: Subscribe"))]).unwrap_err();
    let kind = try_set(&[("m.yaml", &rule("kind: sms"))]).unwrap_err();

    assert!(
        typo.to_string().contains("did you mean `properties`?"),
        "{typo}"
    );
    assert!(kind.to_string().contains("`kind` is mo or dlr"), "{kind}");
}

#[test]
fn a_misspelled_operation_and_a_repeated_key_get_plain_messages() {
    let step = |extra: &str| {
        format!(
            "rules:\n  - name: r\n    upserts:\n      - object: A\n        external_id: K\n{extra}        fields: {{ K: k }}\n"
        )
    };

    let operation = try_set(&[("m.yaml", &step("        operation: updat\n"))]).unwrap_err();
    let repeated = try_set(&[("m.yaml", &step("        object: B\n"))]).unwrap_err();

    assert!(
        operation.to_string().contains("did you mean `update`?"),
        "{operation}"
    );
    assert!(
        repeated
            .to_string()
            .contains("key `object` is written twice"),
        "{repeated}"
    );
}

#[test]
fn a_broken_if_expression_and_a_repeated_rule_name_are_reported_as_written() {
    let rule = |name: &str, extra: &str| {
        format!(
            "  - name: {name}\n{extra}    upserts:\n      - object: A\n        external_id: K\n        fields: {{ K: k }}\n"
        )
    };
    let broken_if = format!("rules:\n{}", rule("r", "    if: \"price >\"\n"));
    let repeated = format!("rules:\n{}{}", rule("r", ""), rule("r", ""));

    let if_error = try_set(&[("m.yaml", &broken_if)]).unwrap_err().to_string();
    let name_error = try_set(&[("m.yaml", &repeated)]).unwrap_err().to_string();

    assert!(if_error.contains("`if` expression:"), "{if_error}");
    assert!(!if_error.contains("unexpected `)`"), "{if_error}");
    assert!(
        name_error.contains("rule name `r` is used twice"),
        "{name_error}"
    );
}
