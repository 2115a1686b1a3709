//! How an emulator instance is set up.

use std::time::Duration;

use crate::schema::Schema;

/// Client id accepted when none is configured; for local use only.
pub const DEFAULT_CLIENT_ID: &str = "strexforce-local";
/// Client secret accepted when none is configured; for local use only.
pub const DEFAULT_CLIENT_SECRET: &str = "local-secret";
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
