//! Forwards made up for tests: MOs and Subscription delivery reports with chosen numbers,
//! transaction ids and states.

use serde_json::{Value, json};

/// A made-up Norwegian mobile number, different for every `n` below a million.
pub fn msisdn(n: usize) -> String {
    format!("+4790{n:06}")
}

/// An incoming SMS.
pub fn mo(transaction_id: &str, sender: &str, content: &str) -> (&'static str, Vec<u8>) {
    let body = json!({
        "transactionId": transaction_id,
        "sender": sender,
        "recipient": "2002",
        "content": content,
        "isStopMessage": false,
        "created": "2025-03-12T13:59:58+00:00",
        "properties": {"Keyword": "GIVE"}
    });
    ("mo", serde_json::to_vec(&body).unwrap())
}

/// A delivery report of the Subscription service.
#[derive(Debug, Clone)]
pub struct Report {
    pub transaction_id: String,
    pub recipient: String,
    pub status: &'static str,
    pub action: &'static str,
    pub keyword: String,
    pub price: Option<f64>,
    /// Seconds after 2025-03-12T14:00:00Z.
    pub received_after: u32,
}

impl Report {
    pub fn new(transaction_id: &str, recipient: &str, action: &'static str) -> Report {
        Report {
            transaction_id: transaction_id.to_owned(),
            recipient: recipient.to_owned(),
            status: "Ok",
            action,
            keyword: "GIVE".to_owned(),
            price: None,
            received_after: 0,
        }
    }

    pub fn status(mut self, status: &'static str) -> Report {
        self.status = status;
        self
    }

    pub fn body(&self) -> Value {
        let received = chrono::DateTime::parse_from_rfc3339("2025-03-12T14:00:00+00:00").unwrap()
            + chrono::Duration::seconds(i64::from(self.received_after));
        json!({
            "transactionId": self.transaction_id,
            "price": self.price,
            "sender": "2002",
            "recipient": self.recipient,
            "operatorId": "no.telenor",
            "statusCode": self.status,
            "detailedStatusCode": if self.status == "Ok" { "Delivered" } else { "None" },
            "delivered": self.status == "Ok",
            "billed": self.price.is_some(),
            "received": received.to_rfc3339(),
            "properties": {
                "ServiceType": "Subscription",
                "ServiceId": "b589e9bd-ec86-4a74-886f-2e89ad37d34f",
                "Keyword": self.keyword,
                "SystemAction": self.action,
                "SubscriberTransactionId": format!("sub-{}", self.recipient),
                "ServiceSubType": "Donation"
            }
        })
    }

    pub fn forward(&self) -> (&'static str, Vec<u8>) {
        ("dlr", serde_json::to_vec(&self.body()).unwrap())
    }
}
