//! A fresh emulator per test on port 0, an HTTP client, and request helpers.

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sf_emulator::{EmulatorConfig, RunningEmulator};

pub const VERSION: &str = "v62.0";
pub const CLIENT_ID: &str = "test-app";
pub const CLIENT_SECRET: &str = "test-secret";

pub struct TestOrg {
    pub emulator: RunningEmulator,
    pub http: reqwest::Client,
    pub token: String,
}

/// An answer with its body parsed as JSON where it is JSON (`Null` otherwise).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// `errorCode` of the first top-level error.
    pub fn error_code(&self) -> &str {
        self.body[0]["errorCode"].as_str().unwrap_or_default()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

pub fn config() -> EmulatorConfig {
    EmulatorConfig::new(CLIENT_ID, CLIENT_SECRET)
}

pub async fn spawn() -> TestOrg {
    spawn_with(config()).await
}

/// Starts an emulator and logs in with client credentials.
pub async fn spawn_with(config: EmulatorConfig) -> TestOrg {
    // reqwest is built without a bundled TLS provider; plain HTTP still needs one set.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emulator = sf_emulator::start(config, listener).await.unwrap();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let mut org = TestOrg {
        emulator,
        http,
        token: String::new(),
    };
    org.token = org.login().await;
    org
}

impl TestOrg {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.url())
    }

    /// A data API path under the default version.
    pub fn data(&self, path: &str) -> String {
        self.url(&format!("/services/data/{VERSION}{path}"))
    }

    pub async fn token_request(&self, form: &[(&str, &str)]) -> Reply {
        let body = form_body(form);
        let request = self
            .http
            .post(self.url("/services/oauth2/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        reply(request.send().await.unwrap()).await
    }

    pub async fn login(&self) -> String {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
        ];
        let reply = self.token_request(&form).await;
        assert_eq!(reply.status, 200, "login failed: {}", reply.text);
        reply.body["access_token"].as_str().unwrap().to_string()
    }

    pub async fn get(&self, url: &str) -> Reply {
        self.send(Method::GET, url, None).await
    }

    pub async fn patch(&self, url: &str, body: Value) -> Reply {
        self.send(Method::PATCH, url, Some(body)).await
    }

    pub async fn post(&self, url: &str, body: Value) -> Reply {
        self.send(Method::POST, url, Some(body)).await
    }

    /// Sends with the org's session token.
    pub async fn send(&self, method: Method, url: &str, body: Option<Value>) -> Reply {
        self.send_as(method, url, body, Some(&format!("Bearer {}", self.token)))
            .await
    }

    pub async fn send_as(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
        authorization: Option<&str>,
    ) -> Reply {
        let mut request = self.http.request(method, url);
        if let Some(authorization) = authorization {
            request = request.header("authorization", authorization);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        reply(request.send().await.unwrap()).await
    }

    /// Upserts one Contact by MSISDN with the single-record form.
    pub async fn upsert_contact(&self, msisdn: &str, body: Value) -> Reply {
        let url = self.data(&format!(
            "/sobjects/Contact/Strex_MSISDN__c/{}",
            encode(msisdn)
        ));
        self.patch(&url, body).await
    }

    /// Upserts Contacts by MSISDN with sObject Collections.
    pub async fn upsert_contacts(&self, records: Vec<Value>, all_or_none: bool) -> Reply {
        let url = self.data("/composite/sobjects/Contact/Strex_MSISDN__c");
        let body = json!({"allOrNone": all_or_none, "records": records});
        self.patch(&url, body).await
    }
}

pub async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

/// A Contact record for a collections body.
pub fn contact(msisdn: &str, last_name: &str) -> Value {
    json!({"attributes": {"type": "Contact"}, "Strex_MSISDN__c": msisdn, "LastName": last_name})
}

/// Percent-encodes a path segment (enough for the values tests use).
pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn form_body(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}
