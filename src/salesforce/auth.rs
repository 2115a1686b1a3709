//! Access tokens from the org's OAuth 2.0 token endpoint, cached for all workers.
//!
//! Salesforce's token response has no `expires_in`: a token lives as long as the org's
//! session timeout says, and the only sign of its end is a 401 INVALID_SESSION_ID. So the
//! token is kept until a request is refused, and then replaced once, however many requests
//! saw the refusal at the same time. Every flow goes through the same cache.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, Client, ClientId, ClientSecret, EndpointNotSet, EndpointSet, ExtraTokenFields,
    RefreshToken, RequestTokenError, ResourceOwnerPassword, ResourceOwnerUsername,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use url::Url;

use super::SalesforceConfig;
use super::assertion::AssertionSigner;
use super::flow::LoginFlow;
use super::login_state::LoginStatus;
use super::token_error::AuthError;
use super::token_transport::{TokenTransport, TransportError};

/// The grant type of the JWT bearer flow (RFC 7523), which the oauth2 crate does not build.
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The Salesforce-specific fields of a token response.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SalesforceTokenFields {
    /// Where this org's REST API lives; every call goes there.
    pub instance_url: String,
    /// The identity URL `…/id/<org id>/<user id>`.
    pub id: Option<String>,
}

impl ExtraTokenFields for SalesforceTokenFields {}

pub(super) type TokenBody = StandardTokenResponse<SalesforceTokenFields, BasicTokenType>;
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

/// How one flow asks for a token.
enum Grant {
    ClientCredentials,
    Jwt(AssertionSigner),
    /// The refresh token in use; rotation replaces it here, and only here.
    Refresh(std::sync::Mutex<SecretString>),
    Password {
        username: ResourceOwnerUsername,
        password: SecretString,
    },
}

/// Logs in and keeps the current session.
pub struct Authenticator {
    flow: LoginFlow,
    grant: Grant,
    oauth: OAuthClient,
    transport: TokenTransport,
    token_url: Url,
    current: Mutex<Option<Arc<Session>>>,
    status: LoginStatus,
}

impl Authenticator {
    pub fn new(
        config: &SalesforceConfig,
        http: reqwest::Client,
    ) -> Result<Authenticator, AuthError> {
        let token_url = config
            .login_url
            .join("/services/oauth2/token")
            .map_err(|_| AuthError::BadLoginUrl(config.login_url.to_string()))?;
        let mut oauth = Client::new(ClientId::new(config.client_id.clone()))
            // Salesforce documents the credentials as form fields, not HTTP Basic.
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(TokenUrl::from_url(token_url.clone()));
        let secret = config.client_secret.expose_secret();
        if !secret.is_empty() {
            oauth = oauth.set_client_secret(ClientSecret::new(secret.to_owned()));
        }
        Ok(Authenticator {
            grant: grant_for(config)?,
            flow: config.flow.clone(),
            oauth,
            transport: TokenTransport::new(http),
            token_url,
            current: Mutex::new(None),
            status: LoginStatus::default(),
        })
    }

    /// The login state every attempt updates.
    pub fn status(&self) -> &LoginStatus {
        &self.status
    }

    pub fn flow(&self) -> &LoginFlow {
        &self.flow
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
        let result = self
            .request_token()
            .await
            .and_then(|body| session_from(&body));
        match &result {
            Ok(session) => self
                .status
                .logged_in(self.flow.name(), session.instance_url.as_str()),
            Err(error) => self.status.failed(self.flow.name(), &error.to_string()),
        }
        result
    }

    async fn request_token(&self) -> Result<TokenBody, AuthError> {
        let transport = &self.transport;
        let answer = match &self.grant {
            Grant::ClientCredentials => {
                let request = self.oauth.exchange_client_credentials();
                request.request_async(transport).await
            }
            Grant::Password { username, password } => {
                let password = ResourceOwnerPassword::new(password.expose_secret().to_owned());
                let request = self.oauth.exchange_password(username, &password);
                request.request_async(transport).await
            }
            Grant::Refresh(token) => return self.refresh(token).await,
            Grant::Jwt(signer) => return self.exchange_assertion(signer).await,
        };
        answer.map_err(|error| self.explain(error))
    }

    /// The refresh token flow; a rotated refresh token replaces the one in use.
    async fn refresh(
        &self,
        token: &std::sync::Mutex<SecretString>,
    ) -> Result<TokenBody, AuthError> {
        let current = RefreshToken::new(lock(token).expose_secret().to_owned());
        let body = self
            .oauth
            .exchange_refresh_token(&current)
            .request_async(&self.transport)
            .await
            .map_err(|error| self.explain(error))?;
        if let Some(rotated) = body.refresh_token() {
            // Kept in memory only: after a restart SF_REFRESH_TOKEN is used again, which
            // rotation has invalidated, so rotation needs the setting updated by hand.
            *lock(token) = SecretString::from(rotated.secret().to_owned());
            tracing::info!("Salesforce rotated the refresh token; the new one is used from now on");
        }
        Ok(body)
    }

    /// The JWT bearer flow: a fresh assertion for every login, no client secret.
    async fn exchange_assertion(&self, signer: &AssertionSigner) -> Result<TokenBody, AuthError> {
        let assertion = signer.sign(SystemTime::now())?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", JWT_BEARER_GRANT)
            .append_pair("assertion", assertion.expose_secret())
            .finish();
        let response = self
            .transport
            .post_form(&self.token_url, form)
            .await
            .map_err(|error| self.unreachable(&error))?;
        let body = response.body();
        if response.status().is_success() {
            return serde_json::from_slice(body)
                .map_err(|error| AuthError::BadResponse(error.to_string()));
        }
        match serde_json::from_slice::<BasicErrorResponse>(body) {
            Ok(refusal) => Err(self.refusal(&refusal)),
            Err(error) => Err(AuthError::BadResponse(format!(
                "HTTP {}: {error}",
                response.status()
            ))),
        }
    }

    fn explain(&self, error: RequestTokenError<TransportError, BasicErrorResponse>) -> AuthError {
        match error {
            RequestTokenError::ServerResponse(response) => self.refusal(&response),
            RequestTokenError::Request(error) => self.unreachable(&error),
            RequestTokenError::Parse(error, _) => AuthError::BadResponse(error.to_string()),
            RequestTokenError::Other(message) => AuthError::BadResponse(message),
        }
    }

    fn refusal(&self, response: &BasicErrorResponse) -> AuthError {
        let description = response.error_description().map_or("", String::as_str);
        AuthError::refused(&self.flow, response.error().as_ref(), description)
    }

    fn unreachable(&self, error: &TransportError) -> AuthError {
        AuthError::Unreachable {
            url: self.token_url.to_string(),
            detail: error.to_string(),
        }
    }
}

fn grant_for(config: &SalesforceConfig) -> Result<Grant, AuthError> {
    Ok(match &config.flow {
        LoginFlow::ClientCredentials => Grant::ClientCredentials,
        LoginFlow::JwtBearer(settings) => {
            Grant::Jwt(AssertionSigner::new(settings, &config.client_id)?)
        }
        LoginFlow::RefreshToken { refresh_token } => {
            Grant::Refresh(std::sync::Mutex::new(refresh_token.clone()))
        }
        LoginFlow::Password {
            username,
            password,
            security_token,
        } => Grant::Password {
            username: ResourceOwnerUsername::new(username.clone()),
            // Salesforce wants the security token appended to the password.
            password: SecretString::from(format!(
                "{}{}",
                password.expose_secret(),
                security_token.expose_secret()
            )),
        },
    })
}

fn lock(token: &std::sync::Mutex<SecretString>) -> std::sync::MutexGuard<'_, SecretString> {
    token
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
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
