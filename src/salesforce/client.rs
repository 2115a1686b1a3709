//! The REST client: every data call goes through [`SalesforceClient::send`], which adds the
//! session, renews it once on 401 INVALID_SESSION_ID, and records the API usage header.

use std::sync::{Arc, Mutex};

use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::Value;

use super::SalesforceConfig;
use super::auth::{Authenticator, Session};
use super::flow::LoginFlow;
use super::limits::ApiUsage;
use super::login_state::LoginStatus;
use super::token_error::AuthError;
use crate::telemetry::metrics;

/// One entry of Salesforce's top-level error array.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SalesforceErrorItem {
    #[serde(default)]
    pub error_code: String,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub fields: Vec<String>,
}

/// A failed REST call, as a whole (per-record failures are results, not errors).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("cannot reach Salesforce: {0}")]
    Transport(#[source] reqwest::Error),
    #[error("Salesforce answered HTTP {status}: {}", describe(.errors))]
    Refused {
        status: u16,
        errors: Vec<SalesforceErrorItem>,
    },
    #[error("Salesforce answered HTTP {status} with an unexpected body: {excerpt}")]
    Unexpected { status: u16, excerpt: String },
    #[error("Salesforce refused a freshly renewed session (INVALID_SESSION_ID)")]
    SessionRefused,
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("Salesforce's response does not match the request: {0}")]
    Protocol(String),
}

impl ApiError {
    /// The Salesforce error code, when there is one.
    pub fn code(&self) -> &str {
        match self {
            ApiError::Refused { errors, .. } => errors
                .first()
                .map_or("HTTP_ERROR", |e| e.error_code.as_str()),
            ApiError::Transport(error) if error.is_timeout() => "TIMEOUT",
            ApiError::Transport(_) => "CONNECTION_ERROR",
            ApiError::Unexpected { .. } => "UNEXPECTED_RESPONSE",
            ApiError::SessionRefused => "INVALID_SESSION_ID",
            ApiError::Auth(_) => "LOGIN_FAILED",
            ApiError::Protocol(_) => "PROTOCOL_ERROR",
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Refused { status, .. } | ApiError::Unexpected { status, .. } => Some(*status),
            _ => None,
        }
    }
}

fn describe(errors: &[SalesforceErrorItem]) -> String {
    let parts: Vec<String> = errors
        .iter()
        .map(|e| format!("{}: {}", e.error_code, e.message))
        .collect();
    parts.join("; ")
}

/// A successful response (any status below 400), with its body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: bytes::Bytes,
}

/// A Salesforce org's REST API.
pub struct SalesforceClient {
    http: reqwest::Client,
    auth: Authenticator,
    api_version: String,
    request_timeout: std::time::Duration,
    usage: Mutex<Option<ApiUsage>>,
}

impl std::fmt::Debug for SalesforceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceClient")
            .field("api_version", &self.api_version)
            .finish_non_exhaustive()
    }
}

impl SalesforceClient {
    pub fn new(config: &SalesforceConfig) -> Result<Arc<SalesforceClient>, ApiError> {
        super::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(
                config
                    .request_timeout
                    .min(std::time::Duration::from_secs(10)),
            )
            // A token endpoint or API that redirects is misconfigured; never follow it with
            // credentials attached.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("strexforce/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ApiError::Transport)?;
        let auth = Authenticator::new(config, http.clone())?;
        Ok(Arc::new(SalesforceClient {
            http,
            auth,
            api_version: config.api_version.clone(),
            request_timeout: config.request_timeout,
            usage: Mutex::new(None),
        }))
    }

    /// Logs in now, so that a wrong setting is reported at startup.
    pub async fn log_in(&self) -> Result<(), AuthError> {
        self.auth.session().await.map(|_| ())
    }

    /// The login state, shared with `/readyz` and status output.
    pub fn login_status(&self) -> LoginStatus {
        self.auth.status().clone()
    }

    pub fn flow(&self) -> &LoginFlow {
        self.auth.flow()
    }

    /// The REST API version in use, without the `v`.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }

    /// Where the current session's REST API lives, from the last token response.
    pub async fn instance_url(&self) -> Result<url::Url, AuthError> {
        Ok(self.auth.session().await?.instance_url.clone())
    }

    /// GETs a path of the instance without a session; the versions resource needs none.
    pub(super) async fn get_without_session(&self, path: &str) -> Result<Reply, ApiError> {
        let base = self.instance_url().await?;
        let url = format!("{}{path}", base.as_str().trim_end_matches('/'));
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(ApiError::Transport)?;
        self.finish(response).await
    }

    /// The longest one request may take, connection included.
    pub fn request_timeout(&self) -> std::time::Duration {
        self.request_timeout
    }

    /// The latest API usage Salesforce reported.
    pub fn api_usage(&self) -> Option<ApiUsage> {
        *self
            .usage
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sends a request to `/services/data/vXX.X/{path}` and returns a successful reply, or the
    /// error Salesforce gave. A refused session is renewed and the request sent once more.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, ApiError> {
        let session = self.auth.session().await?;
        let response = self.send_once(&session, &method, path, body).await?;
        if !is_invalid_session(&response) {
            return self.finish(response).await;
        }
        let renewed = self.auth.renew(&session).await?;
        let retried = self.send_once(&renewed, &method, path, body).await?;
        if is_invalid_session(&retried) {
            return Err(ApiError::SessionRefused);
        }
        self.finish(retried).await
    }

    async fn send_once(
        &self,
        session: &Session,
        method: &Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<reqwest::Response, ApiError> {
        let url = format!(
            "{}/services/data/v{}/{path}",
            session.instance_url.as_str().trim_end_matches('/'),
            self.api_version
        );
        let mut request = self
            .http
            .request(method.clone(), url)
            .bearer_auth(session.access_token.expose_secret());
        if let Some(body) = body {
            request = request.json(body);
        }
        let started = std::time::Instant::now();
        let sent = request.send().await;
        let status = sent
            .as_ref()
            .ok()
            .map(|response| response.status().as_u16());
        metrics::salesforce_request(metrics::resource_of(path), status, started.elapsed());
        sent.map_err(ApiError::Transport)
    }

    async fn finish(&self, response: reqwest::Response) -> Result<Reply, ApiError> {
        self.note_usage(&response);
        let status = response.status();
        let body = response.bytes().await.map_err(ApiError::Transport)?;
        if status.as_u16() < 400 {
            return Ok(Reply { status, body });
        }
        Err(
            match serde_json::from_slice::<Vec<SalesforceErrorItem>>(&body) {
                Ok(errors) if !errors.is_empty() => ApiError::Refused {
                    status: status.as_u16(),
                    errors,
                },
                // A maintenance page or a proxy's error page: HTML, not Salesforce's JSON.
                _ => ApiError::Unexpected {
                    status: status.as_u16(),
                    excerpt: excerpt(&body),
                },
            },
        )
    }

    fn note_usage(&self, response: &reqwest::Response) {
        let header = response.headers().get("sforce-limit-info");
        if let Some(usage) = header
            .and_then(|v| v.to_str().ok())
            .and_then(ApiUsage::parse)
        {
            metrics::api_usage(usage.used, usage.max);
            *self
                .usage
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(usage);
        }
    }
}

/// A 401 means the session is gone; Salesforce names it INVALID_SESSION_ID.
fn is_invalid_session(response: &reqwest::Response) -> bool {
    response.status() == StatusCode::UNAUTHORIZED
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    flat.chars().take(200).collect()
}
