//! Access tokens from the org's OAuth 2.0 token endpoint, cached for all workers.
//!
//! Salesforce's token response has no `expires_in`: a token lives as long as the org's
//! session timeout says, and the only sign of its end is a 401 INVALID_SESSION_ID. So the
//! token is kept until a request is refused, and then replaced once, however many requests
//! saw the refusal at the same time.

use std::sync::Arc;
use std::time::Instant;

use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, Client, ClientId, ClientSecret, EndpointNotSet, EndpointSet, ExtraTokenFields,
    RequestTokenError, StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use url::Url;

use super::SalesforceConfig;

/// The Salesforce-specific fields of a token response.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SalesforceTokenFields {
    /// Where this org's REST API lives; every call goes there.
    pub instance_url: String,
    /// The identity URL `…/id/<org id>/<user id>`.
    pub id: Option<String>,
}

impl ExtraTokenFields for SalesforceTokenFields {}

type TokenBody = StandardTokenResponse<SalesforceTokenFields, BasicTokenType>;
type OAuthClient = Client<
    BasicErrorResponse,
    TokenBody,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// A logged-in session.
pub struct Session {
    pub access_token: SecretString,
    pub instance_url: Url,
    pub obtained_at: Instant,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("instance_url", &self.instance_url.as_str())
            .field("access_token", &"[redacted]")
            .finish()
    }
}

/// Why logging in failed, phrased so that the setting to fix is named.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "Salesforce does not know the client id (invalid_client_id); check SF_CLIENT_ID is the \
         Connected App's consumer key (new apps can take a few minutes to become usable)"
    )]
    UnknownClient,
    #[error("Salesforce refused the client secret (invalid_client); check SF_CLIENT_SECRET")]
    BadClientSecret,
    #[error(
        "Salesforce refused the grant (invalid_grant: {0}); for the client-credentials flow, \
         check that SF_LOGIN_URL is the org's My Domain URL and that the app has a Run As user"
    )]
    InvalidGrant(String),
    #[error("Salesforce refused the login ({code}: {description}); check the SF_* settings")]
    Refused { code: String, description: String },
    #[error("cannot reach the Salesforce token endpoint at {url}: {detail}; check SF_LOGIN_URL")]
    Unreachable { url: String, detail: String },
    #[error("the token endpoint answered something that is not a token response: {0}")]
    BadResponse(String),
}

impl AuthError {
    /// Whether trying again later may succeed without a configuration change.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AuthError::Unreachable { .. } | AuthError::BadResponse(_)
        )
    }
}

/// Logs in and keeps the current session.
pub struct Authenticator {
    oauth: OAuthClient,
    http: reqwest::Client,
    token_url: String,
    current: Mutex<Option<Arc<Session>>>,
}

impl Authenticator {
    pub fn new(
        config: &SalesforceConfig,
        http: reqwest::Client,
    ) -> Result<Authenticator, AuthError> {
        let token_url = config
            .login_url
            .join("/services/oauth2/token")
            .map_err(|error| AuthError::BadResponse(error.to_string()))?;
        let oauth = Client::new(ClientId::new(config.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                config.client_secret.expose_secret().to_owned(),
            ))
            // Salesforce documents the credentials as form fields, not HTTP Basic.
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(TokenUrl::from_url(token_url.clone()));
        Ok(Authenticator {
            oauth,
            http,
            token_url: token_url.to_string(),
            current: Mutex::new(None),
        })
    }

    /// The cached session, logging in first if there is none.
    pub async fn session(&self) -> Result<Arc<Session>, AuthError> {
        let mut current = self.current.lock().await;
        if let Some(session) = current.as_ref() {
            return Ok(session.clone());
        }
        let session = Arc::new(self.log_in().await?);
        *current = Some(session.clone());
        Ok(session)
    }

    /// Replaces a session Salesforce refused. Callers that saw the same refused session
    /// while another caller was already logging in get that caller's new session.
    pub async fn renew(&self, refused: &Arc<Session>) -> Result<Arc<Session>, AuthError> {
        let mut current = self.current.lock().await;
        if let Some(session) = current.as_ref().filter(|s| !Arc::ptr_eq(s, refused)) {
            return Ok(session.clone());
        }
        *current = None;
        let session = Arc::new(self.log_in().await?);
        *current = Some(session.clone());
        Ok(session)
    }

    async fn log_in(&self) -> Result<Session, AuthError> {
        let http = self.http.clone();
        let send = move |request: oauth2::HttpRequest| {
            let http = http.clone();
            async move { send_token_request(&http, request).await }
        };
        let body = self
            .oauth
            .exchange_client_credentials()
            .request_async(&send)
            .await
            .map_err(|error| self.explain(error))?;
        session_from(&body)
    }

    fn explain(&self, error: RequestTokenError<TransportError, BasicErrorResponse>) -> AuthError {
        match error {
            RequestTokenError::ServerResponse(response) => {
                let description = response.error_description().cloned().unwrap_or_default();
                match response.error() {
                    BasicErrorResponseType::InvalidClient => AuthError::BadClientSecret,
                    BasicErrorResponseType::InvalidGrant => AuthError::InvalidGrant(description),
                    BasicErrorResponseType::Extension(code) if code == "invalid_client_id" => {
                        AuthError::UnknownClient
                    }
                    other => AuthError::Refused {
                        code: other.to_string(),
                        description,
                    },
                }
            }
            RequestTokenError::Request(error) => AuthError::Unreachable {
                url: self.token_url.clone(),
                detail: error.to_string(),
            },
            RequestTokenError::Parse(error, _) => AuthError::BadResponse(error.to_string()),
            RequestTokenError::Other(message) => AuthError::BadResponse(message),
        }
    }
}

fn session_from(body: &TokenBody) -> Result<Session, AuthError> {
    let instance_url = Url::parse(&body.extra_fields().instance_url)
        .map_err(|error| AuthError::BadResponse(format!("instance_url: {error}")))?;
    Ok(Session {
        access_token: SecretString::from(body.access_token().secret().to_owned()),
        instance_url,
        obtained_at: Instant::now(),
    })
}

/// Transport failures of the token request.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    #[error("{0}")]
    Response(#[from] http::Error),
}

/// Sends oauth2's request through the shared reqwest client.
async fn send_token_request(
    http: &reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, TransportError> {
    let request = reqwest::Request::try_from(request)?;
    let response = http.execute(request).await?;
    let mut builder = http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response.bytes().await?.to_vec();
    Ok(builder.body(body)?)
}
