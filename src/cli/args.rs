//! Settings shared by the commands. Every setting can also come from the environment (or a
//! `.env` file); `.env.example` lists them with their defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use secrecy::SecretString;
use url::Url;

use crate::forward::NumberingPlan;
use crate::mapping::MappingSettings;
use crate::salesforce::{
    JwtBearer, LoginFlow, LoginRetry, LoginStartup, SalesforceConfig, default_audience,
};
use crate::server::{DEFAULT_BODY_LIMIT, ServeConfig};
use crate::store::PoolSettings;
use crate::sync::{Backoff, SyncSettings};

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Postgres connection URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// Largest number of connections in the pool.
    #[arg(long, env = "STREXFORCE_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address to listen on for forwards.
    #[arg(long, env = "STREXFORCE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub mappings: MappingArgs,
    #[command(flatten)]
    pub salesforce: SalesforceArgs,
    #[command(flatten)]
    pub sync: SyncArgs,
    #[command(flatten)]
    pub startup: StartupArgs,
    /// Largest forward body accepted, in bytes.
    #[arg(long, env = "STREXFORCE_BODY_LIMIT", default_value_t = DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
}

#[derive(Debug, Clone, Args)]
pub struct MappingArgs {
    /// Folder holding the mapping files.
    #[arg(
        long = "mappings",
        env = "STREXFORCE_MAPPINGS_DIR",
        default_value = "mappings"
    )]
    pub mappings_dir: PathBuf,
    /// Country calling code given to national numbers without one.
    #[arg(long, env = "STREXFORCE_DEFAULT_COUNTRY_CODE", default_value = "47")]
    pub default_country_code: String,
    /// IANA time zone whose calendar the `date` filter uses.
    #[arg(long, env = "STREXFORCE_TIME_ZONE", default_value = "Europe/Oslo")]
    pub time_zone: chrono_tz::Tz,
}

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
    /// REST API version.
    #[arg(long, env = "SF_API_VERSION", default_value = "66.0")]
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

#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// Sync workers in this process.
    #[arg(long, env = "STREXFORCE_SYNC_WORKERS", default_value_t = 2)]
    pub sync_workers: usize,
    /// Records per sObject Collections request (at most 200).
    #[arg(long, env = "STREXFORCE_SYNC_BATCH_SIZE", default_value_t = 200,
          value_parser = clap::value_parser!(u16).range(1..=200))]
    pub sync_batch_size: u16,
    /// How often idle workers look for rows that became due, in milliseconds.
    #[arg(long, env = "STREXFORCE_SYNC_POLL_INTERVAL_MS", default_value_t = 500)]
    pub sync_poll_interval_ms: u64,
    /// How long a worker's claim on a row lasts, in seconds.
    #[arg(long, env = "STREXFORCE_SYNC_LEASE_SECS", default_value_t = 120)]
    pub sync_lease_secs: u64,
    /// Rows still failing transiently after this many hours become dead.
    #[arg(long, env = "STREXFORCE_SYNC_MAX_AGE_HOURS", default_value_t = 72)]
    pub sync_max_age_hours: u64,
}

fn secret(text: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(text.to_owned()))
}

impl ServeArgs {
    pub fn config(&self) -> Result<ServeConfig, SettingsError> {
        Ok(ServeConfig {
            database_url: self.database.database_url.clone(),
            pool: self.database.pool(),
            mappings_dir: self.mappings.mappings_dir.clone(),
            mapping_settings: self.mappings.settings(),
            salesforce: self.salesforce.config()?,
            salesforce_startup: self.startup.settings(),
            sync: self.sync.settings(),
            body_limit: self.body_limit,
        })
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

impl DatabaseArgs {
    pub fn pool(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.db_max_connections,
            ..PoolSettings::default()
        }
    }
}

impl MappingArgs {
    pub fn settings(&self) -> MappingSettings {
        MappingSettings {
            numbering_plan: NumberingPlan {
                country_code: self.default_country_code.trim_start_matches('+').to_owned(),
                ..NumberingPlan::default()
            },
            time_zone: self.time_zone,
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

impl SyncArgs {
    pub fn settings(&self) -> SyncSettings {
        SyncSettings {
            workers: self.sync_workers,
            batch_size: usize::from(self.sync_batch_size),
            poll_interval: Duration::from_millis(self.sync_poll_interval_ms),
            lease: Duration::from_secs(self.sync_lease_secs),
            backoff: Backoff::default(),
            max_age: Duration::from_secs(self.sync_max_age_hours * 3600),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches, Parser};

    use super::*;

    #[derive(Parser)]
    struct Settings {
        #[command(flatten)]
        salesforce: SalesforceArgs,
        #[command(flatten)]
        startup: StartupArgs,
    }

    /// Parses flags only: the environment of the test run is ignored.
    fn parse(args: &[&str]) -> Settings {
        let all = ["strexforce", "--sf-login-url=sandbox", "--sf-client-id=app"];
        let command = Settings::command().mut_args(|arg| arg.env(None));
        let matches = command
            .try_get_matches_from(all.iter().chain(args))
            .unwrap();
        Settings::from_arg_matches(&matches).unwrap()
    }

    #[test]
    fn client_credentials_is_the_default_flow_and_needs_the_secret() {
        let without = parse(&[]).salesforce.config().unwrap_err();
        let with = parse(&["--sf-client-secret=s"])
            .salesforce
            .config()
            .unwrap();

        assert_eq!(
            without.to_string(),
            "SF_AUTH_FLOW=client_credentials needs SF_CLIENT_SECRET"
        );
        assert!(matches!(with.flow, LoginFlow::ClientCredentials));
        assert_eq!(with.login_url.as_str(), "https://test.salesforce.com/");
    }

    #[test]
    fn each_flow_names_the_first_setting_it_lacks() {
        let cases = [
            ("jwt_bearer", "SF_USERNAME"),
            ("refresh_token", "SF_REFRESH_TOKEN"),
            ("password", "SF_USERNAME"),
        ];

        for (flow, setting) in cases {
            let flag = format!("--sf-auth-flow={flow}");

            let error = parse(&[&flag]).salesforce.config().unwrap_err();

            assert_eq!(
                error.to_string(),
                format!("SF_AUTH_FLOW={flow} needs {setting}")
            );
        }
    }

    #[test]
    fn the_jwt_audience_follows_the_login_url_unless_set() {
        let key = tempfile::NamedTempFile::new().unwrap();
        let key_flag = format!("--sf-private-key-file={}", key.path().display());
        let base = [
            "--sf-auth-flow=jwt_bearer",
            "--sf-username=u",
            key_flag.as_str(),
        ];
        let custom: Vec<&str> = base
            .iter()
            .copied()
            .chain(["--sf-jwt-audience=https://x.my.site.com"])
            .collect();

        let derived = parse(&base).salesforce.config().unwrap();
        let configured = parse(&custom).salesforce.config().unwrap();

        let audience = |config: &SalesforceConfig| match &config.flow {
            LoginFlow::JwtBearer(jwt) => jwt.audience.clone(),
            _ => unreachable!(),
        };
        assert_eq!(audience(&derived), "https://test.salesforce.com");
        assert_eq!(audience(&configured), "https://x.my.site.com");
    }

    #[test]
    fn starting_without_salesforce_is_a_flag_that_also_takes_a_value() {
        assert!(!parse(&[]).startup.start_without_salesforce);
        assert!(
            parse(&["--start-without-salesforce"])
                .startup
                .start_without_salesforce
        );
        assert!(
            !parse(&["--start-without-salesforce=false"])
                .startup
                .start_without_salesforce
        );
    }
}
