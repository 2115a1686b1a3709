//! Salesforce: logging in with OAuth 2.0 and writing records through the REST API.

mod auth;
mod client;
pub mod describe;
mod limits;
pub mod schema_file;
mod upsert;

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

pub use auth::{AuthError, Session};
pub use client::{ApiError, SalesforceClient, SalesforceErrorItem};
pub use limits::ApiUsage;
pub use upsert::{RecordError, RecordResult};

/// The largest number of records one sObject Collections request may carry.
pub const COLLECTIONS_LIMIT: usize = 200;

/// Connection settings for one org.
#[derive(Debug, Clone)]
pub struct SalesforceConfig {
    /// Where the token endpoint lives: the org's My Domain URL for the client-credentials
    /// flow, such as `https://acme.my.salesforce.com`.
    pub login_url: Url,
    pub client_id: String,
    pub client_secret: SecretString,
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
