//! Histories several tests start from, played over HTTP against a running app.

use sf_emulator::Faults;

use super::forwards::Report;
use super::{TestApp, post_all};

/// A subscriber whose Subscribe (`t-old`) failed for good in Salesforce and whose later
/// Unsubscribe (`t-new`) succeeded: the record holds newer data than the failed row.
pub async fn failed_subscribe_then_newer_unsubscribe(app: &TestApp, subscriber: &str) {
    app.emulator
        .faults()
        .set(Faults {
            poison_external_id: Some(subscriber.to_owned()),
            ..Faults::default()
        })
        .unwrap();
    let subscribe = Report::new("t-old", subscriber, "Subscribe").forward();
    post_all(&app.service.url(), vec![subscribe], 1).await;
    app.wait_for_sync().await;
    app.emulator.faults().clear();
    let unsubscribe = Report::new("t-new", subscriber, "Unsubscribe").forward();
    post_all(&app.service.url(), vec![unsubscribe], 1).await;
    app.wait_for_sync().await;
}
