//! How an emulator instance is set up.

use std::time::Duration;

use crate::schema::Schema;

/// Client id accepted when none is configured; for local use only.
pub const DEFAULT_CLIENT_ID: &str = "strexforce-local";
/// Client secret accepted when none is configured; for local use only.
pub const DEFAULT_CLIENT_SECRET: &str = "local-secret";
/// The org's one user, whom the JWT bearer and password flows name.
pub const DEFAULT_USERNAME: &str = "integration@strexforce.local";
/// That user's password; for local use only.
pub const DEFAULT_PASSWORD: &str = "local-password";
/// That user's security token, appended to the password in the password flow.
pub const DEFAULT_SECURITY_TOKEN: &str = "localtoken";
/// Developer and production orgs start at 100,000 calls per 24 hours.
pub const DEFAULT_API_ALLOCATION: u64 = 100_000;

#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub client_id: String,
    /// The connected app's consumer secret; also the key of the token signature.
    pub client_secret: String,
    pub schema: Schema,
    /// Daily API requests before REQUEST_LIMIT_EXCEEDED.
    pub api_allocation: u64,
    /// Delay added to every data API call.
    pub latency: Duration,
    /// `instance_url` handed out by the token endpoint; defaults to the listen URL.
    pub instance_url: Option<String>,
    /// The org's user: the JWT `sub` and the password flow's username.
    pub username: String,
    pub password: String,
    pub security_token: String,
    /// PEM of the certificate (or bare public key) uploaded to the app for the JWT bearer
    /// flow; without one, every assertion is refused.
    pub jwt_public_key: Option<String>,
    /// The one JWT audience accepted; by default `https://login.salesforce.com`,
    /// `https://test.salesforce.com` and the emulator's own URL.
    pub jwt_audience: Option<String>,
    /// A refresh token that is valid from the start, as if the user had approved the app
    /// in an interactive flow before.
    pub refresh_token: Option<String>,
    /// Answer every refresh with a new refresh token and invalidate the one used.
    pub rotate_refresh_tokens: bool,
}

impl Default for EmulatorConfig {
    fn default() -> EmulatorConfig {
        EmulatorConfig {
            client_id: DEFAULT_CLIENT_ID.to_string(),
            client_secret: DEFAULT_CLIENT_SECRET.to_string(),
            schema: Schema::builtin(),
            api_allocation: DEFAULT_API_ALLOCATION,
            latency: Duration::ZERO,
            instance_url: None,
            username: DEFAULT_USERNAME.to_string(),
            password: DEFAULT_PASSWORD.to_string(),
            security_token: DEFAULT_SECURITY_TOKEN.to_string(),
            jwt_public_key: None,
            jwt_audience: None,
            refresh_token: None,
            rotate_refresh_tokens: false,
        }
    }
}

impl EmulatorConfig {
    /// The built-in schema and defaults, with the given app credentials.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> EmulatorConfig {
        EmulatorConfig {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            ..EmulatorConfig::default()
        }
    }
}
