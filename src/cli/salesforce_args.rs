//! Settings of the Salesforce login and of what `serve` does when the login fails at start.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use secrecy::SecretString;
use url::Url;

use super::args::secret;
use crate::salesforce::{
    JwtBearer, LoginFlow, LoginRetry, LoginStartup, SalesforceConfig, default_audience,
};

#[derive(Debug, Clone, Args)]
pub struct SalesforceArgs {
    /// How to log in: client_credentials, jwt_bearer, refresh_token or password (legacy).
    #[arg(long, env = "SF_AUTH_FLOW", value_enum,
          default_value_t = AuthFlowName::ClientCredentials)]
    pub sf_auth_flow: AuthFlowName,
    /// Where to log in: production, sandbox, or a URL such as the org's My Domain URL
    /// (which the client-credentials flow needs).
    #[arg(long, env = "SF_LOGIN_URL", value_parser = crate::salesforce::parse_login_url)]
    pub sf_login_url: Url,
    /// The app's consumer key.
    #[arg(long, env = "SF_CLIENT_ID")]
    pub sf_client_id: String,
    /// The app's consumer secret (client_credentials and password; refresh_token when the
    /// app requires it; jwt_bearer does not use it).
    #[arg(long, env = "SF_CLIENT_SECRET", hide_env_values = true, value_parser = secret)]
    pub sf_client_secret: Option<SecretString>,
    /// The Salesforce username (jwt_bearer and password).
    #[arg(long, env = "SF_USERNAME")]
    pub sf_username: Option<String>,
    /// PEM file with the RSA private key whose certificate is uploaded to the app
    /// (jwt_bearer).
    #[arg(long, env = "SF_PRIVATE_KEY_FILE")]
    pub sf_private_key_file: Option<PathBuf>,
    /// The JWT audience; by default https://test.salesforce.com for sandbox login URLs and
    /// https://login.salesforce.com otherwise (jwt_bearer).
    #[arg(long, env = "SF_JWT_AUDIENCE")]
    pub sf_jwt_audience: Option<String>,
    /// A refresh token from an earlier approval of the app (refresh_token).
    #[arg(long, env = "SF_REFRESH_TOKEN", hide_env_values = true, value_parser = secret)]
    pub sf_refresh_token: Option<SecretString>,
    /// The user's password (password).
    #[arg(long, env = "SF_PASSWORD", hide_env_values = true, value_parser = secret)]
    pub sf_password: Option<SecretString>,
    /// The user's security token, appended to the password (password).
    #[arg(long, env = "SF_SECURITY_TOKEN", hide_env_values = true, value_parser = secret)]
    pub sf_security_token: Option<SecretString>,
    /// REST API version, such as 66.0.
    #[arg(long, env = "SF_API_VERSION", default_value = "66.0", value_parser = api_version)]
    pub sf_api_version: String,
    /// Timeout of one Salesforce request, in seconds.
    #[arg(long, env = "SF_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
    pub sf_request_timeout_secs: u64,
}

/// The values of `SF_AUTH_FLOW`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum AuthFlowName {
    ClientCredentials,
    JwtBearer,
    RefreshToken,
    Password,
}

/// What `serve` does when it cannot log in to Salesforce at start.
#[derive(Debug, Clone, Args)]
pub struct StartupArgs {
    /// Start even when the Salesforce login fails: accept forwards, pause sync, and keep
    /// trying to log in with backoff.
    #[arg(long, env = "STREXFORCE_START_WITHOUT_SALESFORCE", default_value_t = false,
          action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub start_without_salesforce: bool,
    /// Longest wait between two login attempts, in seconds.
    #[arg(long, env = "SF_LOGIN_RETRY_MAX_SECS", default_value_t = 300)]
    pub sf_login_retry_max_secs: u64,
}

/// A setting a flow needs is missing or unreadable.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("SF_AUTH_FLOW={flow} needs {setting}")]
    Missing {
        flow: &'static str,
        setting: &'static str,
    },
    #[error("cannot read SF_PRIVATE_KEY_FILE {path}: {source}")]
    PrivateKey {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `66.0` or `v66.0`: Salesforce answers NOT_FOUND for `66`, and every row would fail.
/// sObject Collections upsert needs 46.0 and update-only steps 61.0.
fn api_version(text: &str) -> Result<String, String> {
    const OLDEST: u32 = 61;
    let version = text.trim().trim_start_matches('v');
    let major = version
        .split_once('.')
        .filter(|(_, minor)| *minor == "0")
        .and_then(|(major, _)| major.parse::<u32>().ok());
    match major {
        Some(major) if major >= OLDEST => Ok(version.to_owned()),
        Some(_) => Err(format!(
            "API {version} is too old: strexforce needs {OLDEST}.0 or later"
        )),
        None => Err(format!("`{text}` is not an API version such as 66.0")),
    }
}

impl StartupArgs {
    pub fn settings(&self) -> LoginStartup {
        LoginStartup {
            start_without_salesforce: self.start_without_salesforce,
            retry: LoginRetry {
                max_delay: Duration::from_secs(self.sf_login_retry_max_secs.max(1)),
                ..LoginRetry::default()
            },
        }
    }
}

impl SalesforceArgs {
    /// The connection settings, with the flow's required settings checked.
    pub fn config(&self) -> Result<SalesforceConfig, SettingsError> {
        Ok(SalesforceConfig {
            login_url: self.sf_login_url.clone(),
            client_id: self.sf_client_id.clone(),
            client_secret: self.sf_client_secret.clone().unwrap_or_default(),
            flow: self.flow()?,
            api_version: self.sf_api_version.trim_start_matches('v').to_owned(),
            request_timeout: Duration::from_secs(self.sf_request_timeout_secs),
        })
    }

    fn flow(&self) -> Result<LoginFlow, SettingsError> {
        let flow = match self.sf_auth_flow {
            AuthFlowName::ClientCredentials => {
                self.require(
                    "client_credentials",
                    "SF_CLIENT_SECRET",
                    &self.sf_client_secret,
                )?;
                LoginFlow::ClientCredentials
            }
            AuthFlowName::JwtBearer => LoginFlow::JwtBearer(self.jwt_bearer()?),
            AuthFlowName::RefreshToken => LoginFlow::RefreshToken {
                refresh_token: self.require(
                    "refresh_token",
                    "SF_REFRESH_TOKEN",
                    &self.sf_refresh_token,
                )?,
            },
            AuthFlowName::Password => LoginFlow::Password {
                username: self.require("password", "SF_USERNAME", &self.sf_username)?,
                password: self.require("password", "SF_PASSWORD", &self.sf_password)?,
                security_token: self.sf_security_token.clone().unwrap_or_default(),
            },
        };
        if self.sf_auth_flow == AuthFlowName::Password {
            self.require("password", "SF_CLIENT_SECRET", &self.sf_client_secret)?;
        }
        Ok(flow)
    }

    fn jwt_bearer(&self) -> Result<JwtBearer, SettingsError> {
        let username = self.require("jwt_bearer", "SF_USERNAME", &self.sf_username)?;
        let path = self.require(
            "jwt_bearer",
            "SF_PRIVATE_KEY_FILE",
            &self.sf_private_key_file,
        )?;
        let pem = std::fs::read_to_string(&path)
            .map_err(|source| SettingsError::PrivateKey { path, source })?;
        let audience = self
            .sf_jwt_audience
            .clone()
            .unwrap_or_else(|| default_audience(&self.sf_login_url).to_owned());
        Ok(JwtBearer {
            username,
            private_key_pem: SecretString::from(pem),
            audience,
        })
    }

    fn require<T: Clone>(
        &self,
        flow: &'static str,
        setting: &'static str,
        value: &Option<T>,
    ) -> Result<T, SettingsError> {
        value
            .clone()
            .ok_or(SettingsError::Missing { flow, setting })
    }
}

#[cfg(test)]
#[path = "salesforce_args_tests.rs"]
mod tests;
