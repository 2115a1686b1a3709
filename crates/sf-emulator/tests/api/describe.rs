use reqwest::Method;
use serde_json::{Value, json};

use crate::support::spawn;

fn field<'a>(describe: &'a Value, name: &str) -> &'a Value {
    describe["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|field| field["name"] == name)
        .unwrap_or_else(|| panic!("no field {name}"))
}

#[tokio::test]
async fn global_describe_lists_every_object_with_its_key_prefix() {
    let org = spawn().await;

    let reply = org.get(&org.data("/sobjects/")).await;

    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["encoding"], "UTF-8");
    assert_eq!(reply.body["maxBatchSize"], 200);
    let event = reply.body["sobjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|object| object["name"] == "Strex_Event__c")
        .unwrap();
    assert_eq!(event["keyPrefix"], "a01");
    assert_eq!(event["custom"], true);
    assert_eq!(
        event["urls"]["describe"],
        "/services/data/v62.0/sobjects/Strex_Event__c/describe"
    );
}

#[tokio::test]
async fn contact_describe_reports_the_properties_a_mapping_needs() {
    let org = spawn().await;

    let reply = org.get(&org.data("/sobjects/Contact/describe/")).await;

    assert_eq!(reply.status, 200);
    let describe = &reply.body;
    assert_eq!(describe["name"], "Contact");
    assert_eq!(describe["keyPrefix"], "003");
    let msisdn = field(describe, "Strex_MSISDN__c");
    assert_eq!(msisdn["type"], "string");
    assert_eq!(msisdn["length"], 20);
    assert_eq!(msisdn["externalId"], true);
    assert_eq!(msisdn["idLookup"], true);
    assert_eq!(msisdn["unique"], true);
    assert_eq!(msisdn["custom"], true);
    let last_name = field(describe, "LastName");
    assert_eq!(last_name["nillable"], false);
    assert_eq!(last_name["createable"], true);
    let status = field(describe, "Strex_Subscription_Status__c");
    assert_eq!(status["type"], "picklist");
    assert_eq!(status["restrictedPicklist"], true);
    assert_eq!(
        status["picklistValues"][0],
        json!({
            "active": true,
            "defaultValue": false,
            "label": "Active",
            "value": "Active",
            "validFor": null,
        })
    );
    let account = field(describe, "AccountId");
    assert_eq!(account["type"], "reference");
    assert_eq!(account["referenceTo"], json!(["Account"]));
    assert_eq!(account["relationshipName"], "Account");
    let amount = field(describe, "Strex_Recurring_Amount__c");
    assert_eq!(
        (amount["precision"].clone(), amount["scale"].clone()),
        (json!(16), json!(2))
    );
    let opted_out = field(describe, "HasOptedOutOfEmail");
    assert_eq!(opted_out["defaultedOnCreate"], true);
    assert_eq!(opted_out["nillable"], false);
}

#[tokio::test]
async fn system_fields_are_described_as_read_only() {
    let org = spawn().await;

    let reply = org
        .get(&org.data("/sobjects/Strex_Event__c/describe"))
        .await;

    for name in ["Id", "CreatedDate", "LastModifiedDate", "SystemModstamp"] {
        let system = field(&reply.body, name);
        assert_eq!(system["createable"], false, "{name}");
        assert_eq!(system["updateable"], false, "{name}");
    }
    assert_eq!(field(&reply.body, "Id")["type"], "id");
    assert_eq!(
        field(&reply.body, "Contact__c")["relationshipName"],
        "Contact__r"
    );
    assert_eq!(field(&reply.body, "Name")["nillable"], true);
}

#[tokio::test]
async fn opportunity_contact_can_be_set_on_create_only() {
    let org = spawn().await;

    let reply = org.get(&org.data("/sobjects/Opportunity/describe")).await;

    let contact = field(&reply.body, "ContactId");
    assert_eq!(contact["createable"], true);
    assert_eq!(contact["updateable"], false);
    assert_eq!(field(&reply.body, "StageName")["nillable"], false);
}

#[tokio::test]
async fn describe_is_not_modified_since_start_up() {
    let org = spawn().await;
    let first = org.get(&org.data("/sobjects/Contact/describe")).await;
    let last_modified = first.header("last-modified").unwrap().to_string();

    let response = org
        .http
        .get(org.data("/sobjects/Contact/describe"))
        .bearer_auth(&org.token)
        .header("if-modified-since", &last_modified)
        .send()
        .await
        .unwrap();
    let older = org
        .http
        .get(org.data("/sobjects/Contact/describe"))
        .bearer_auth(&org.token)
        .header("if-modified-since", "Tue, 01 Jan 2019 00:00:00 GMT")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 304);
    assert_eq!(older.status(), 200);
}

#[tokio::test]
async fn describe_of_an_unknown_object_is_not_found() {
    let org = spawn().await;

    let reply = org
        .send(
            Method::GET,
            &org.data("/sobjects/Donation__c/describe"),
            None,
        )
        .await;

    assert_eq!(reply.status, 404);
    assert_eq!(reply.error_code(), "NOT_FOUND");
}
