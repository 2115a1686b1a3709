//! Salesforce: logging in with OAuth 2.0 and writing records through the REST API.

mod assertion;
mod auth;
mod client;
pub mod describe;
mod flow;
mod limits;
mod login_retry;
mod login_state;
pub mod org_check;
mod org_info;
pub mod schema_file;
mod token_error;
mod token_transport;
mod upsert;

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

pub use assertion::ASSERTION_LIFETIME;
pub use auth::Session;
pub use client::{ApiError, SalesforceClient, SalesforceErrorItem};
pub use flow::{
    JwtBearer, LoginFlow, PRODUCTION_LOGIN_URL, SANDBOX_LOGIN_URL, default_audience,
    parse_login_url,
};
pub use limits::ApiUsage;
pub use login_retry::{LoginRetry, LoginStartup, keep_logging_in};
pub use login_state::{LoginState, LoginStatus};
pub use org_info::{ApiVersionInfo, OrgLimits};
pub use token_error::{Advice, AuthError};
pub use upsert::{RecordError, RecordResult};

/// The largest number of records one sObject Collections request may carry.
pub const COLLECTIONS_LIMIT: usize = 200;

/// Connection settings for one org.
#[derive(Debug, Clone)]
pub struct SalesforceConfig {
    /// Where the token endpoint lives: `https://login.salesforce.com`,
    /// `https://test.salesforce.com`, or the org's My Domain URL (which the
    /// client-credentials flow needs), such as `https://acme.my.salesforce.com`.
    pub login_url: Url,
    /// The app's consumer key.
    pub client_id: String,
    /// The app's consumer secret; empty when the flow does not send one (JWT bearer, or a
    /// refresh token from an app that does not require the secret).
    pub client_secret: SecretString,
    pub flow: LoginFlow,
    /// REST API version without the `v`, such as `66.0`.
    pub api_version: String,
    /// Upper bound for one HTTP request, connection included.
    pub request_timeout: Duration,
}

/// Makes rustls use the ring crypto provider; safe to call more than once.
pub fn install_crypto_provider() {
    // Fails only when a provider is already installed, which is what we want anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
