use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support::{CLIENT_ID, CLIENT_SECRET, spawn};

/// Exit status the script uses when simple-salesforce cannot be imported.
const IMPORT_FAILED: i32 = 3;

#[tokio::test]
async fn simple_salesforce_logs_in_and_upserts_a_contact_by_external_id() {
    let org = spawn().await;
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/simple_salesforce_upsert.py");

    let url = org.emulator.url();

    // The script blocks on HTTP calls to this test's emulator, so it runs off the runtime.
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(&script)
            .args([url.as_str(), CLIENT_ID, CLIENT_SECRET])
            .stdin(Stdio::null())
            .output()
    })
    .await
    .unwrap()
    .expect("python3 must be installed to run the interoperability test");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(
        output.status.code(),
        Some(IMPORT_FAILED),
        "simple-salesforce is not importable ({stderr}); \
         install it with `pip install simple-salesforce`"
    );
    assert!(
        output.status.success(),
        "the Python client failed: {stderr}"
    );
    let seen: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(seen["created_status"], 201);
    assert_eq!(seen["updated_status"], 200);
    assert_eq!(seen["first_name"], "Kari");
    assert_eq!(seen["api_usage"], serde_json::json!([3, 100000]));
    let stored = org
        .emulator
        .find("Contact", "Strex_MSISDN__c", "+4799000001");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0]["Id"], seen["id"]);
    assert_eq!(stored[0]["LastName"], "Nordmann");
}
