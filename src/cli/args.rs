//! Settings shared by the commands. Every setting can also come from the environment (or a
//! `.env` file); `.env.example` lists them with their defaults.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::salesforce_args::{SalesforceArgs, SettingsError, StartupArgs};
use crate::forward::NumberingPlan;
use crate::forward::auth::{AuthConfig, EcdsaConfig};
use crate::forward::limits::{DEFAULT_MAX_IN_FLIGHT, ReceiveLimits};
use crate::mapping::MappingSettings;
use crate::server::admin::AdminConfig;
use crate::server::{DEFAULT_BODY_LIMIT, ServeConfig};
use crate::signature::{
    KeyError, KeyRing, KeyServerConfig, PublicUrl, PublicUrlError, parse_key_list,
};
use crate::store::PoolSettings;
use crate::store::retention::{RetentionMode, RetentionPolicy};
use crate::sync::{Backoff, LimitSettings, SyncSettings};

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Postgres connection URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// Largest number of connections in the pool.
    #[arg(long, env = "STREXFORCE_DB_MAX_CONNECTIONS", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
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
    #[command(flatten)]
    pub retention: RetentionArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub admin: AdminArgs,
    /// Show end users' numbers in full in logs (they are masked to the last three digits).
    #[arg(long, env = "STREXFORCE_LOG_PII", default_value_t = false)]
    pub log_pii: bool,
}

#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Largest forward body accepted, in bytes.
    #[arg(long, env = "STREXFORCE_BODY_LIMIT", default_value_t = DEFAULT_BODY_LIMIT,
          value_parser = body_limit)]
    pub body_limit: usize,
    /// How long a forward's body may take to arrive, in seconds.
    #[arg(long, env = "STREXFORCE_BODY_TIMEOUT_SECS", default_value_t = 10)]
    pub body_timeout_secs: u64,
    /// How long a client may take to send request headers, in seconds.
    #[arg(long, env = "STREXFORCE_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// Forward requests handled at once; more are answered 503 with Retry-After.
    #[arg(long, env = "STREXFORCE_MAX_IN_FLIGHT", default_value_t = DEFAULT_MAX_IN_FLIGHT)]
    pub max_in_flight: usize,
}

/// One proof a forward may bring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthMethod {
    /// Strex's X-ECDSA-Signature header.
    Ecdsa,
    /// The shared STREXFORCE_FORWARD_TOKEN, as a bearer token or a `token` query parameter.
    Token,
}

#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// How forwards authenticate: ecdsa, token, or ecdsa,token (either is enough).
    #[arg(long, env = "STREXFORCE_AUTH", value_delimiter = ',')]
    pub auth: Vec<AuthMethod>,
    /// Accept forwards from anyone. Only for a closed network; every log line says so.
    #[arg(long, env = "STREXFORCE_INSECURE_NO_AUTH", default_value_t = false)]
    pub insecure_no_auth: bool,
    /// The URL registered in StrexConnect, without /forward/…, such as
    /// https://connector.example.com. Strex signs the URL it posts to.
    #[arg(long, env = "STREXFORCE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Strex's public keys: name=BASE64SPKI[,name=BASE64SPKI…].
    #[arg(long, env = "STREX_PUBLIC_KEYS", hide_env_values = true)]
    pub strex_public_keys: Option<String>,
    /// A file of name=BASE64SPKI lines.
    #[arg(long, env = "STREX_PUBLIC_KEYS_FILE")]
    pub strex_public_keys_file: Option<PathBuf>,
    /// Fetch keys not configured above from the Target365 public-key resource.
    #[arg(long, env = "STREX_KEY_FETCH", default_value_t = false)]
    pub strex_key_fetch: bool,
    /// The Target365 API base the keys are fetched from.
    #[arg(
        long,
        env = "STREX_API_BASE_URL",
        default_value = "https://shared.target365.io/"
    )]
    pub strex_api_base_url: Url,
    /// Sent as X-ApiKey when fetching keys.
    #[arg(long, env = "STREX_API_KEY", hide_env_values = true, value_parser = secret)]
    pub strex_api_key: Option<SecretString>,
    /// The shared secret of token mode (at least 32 characters).
    #[arg(long, env = "STREXFORCE_FORWARD_TOKEN", hide_env_values = true, value_parser = secret)]
    pub forward_token: Option<SecretString>,
}

#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// Bearer token of the admin endpoints; without it they are off.
    #[arg(long, env = "STREXFORCE_ADMIN_TOKEN", hide_env_values = true, value_parser = secret)]
    pub admin_token: Option<SecretString>,
    /// A separate address for the admin endpoints (otherwise the forward listener).
    #[arg(long, env = "STREXFORCE_ADMIN_LISTEN")]
    pub admin_listen: Option<SocketAddr>,
}

/// A setting that cannot work, named so the operator knows what to change.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no auth mode: set STREXFORCE_AUTH to ecdsa, token or ecdsa,token \
         (or pass --insecure-no-auth on a closed network)"
    )]
    NoAuthMode,
    #[error(
        "STREXFORCE_AUTH and --insecure-no-auth contradict each other; choose one (comment \
         STREXFORCE_AUTH out of .env to run without authentication)"
    )]
    AuthAndInsecure,
    #[error(
        "STREXFORCE_AUTH=ecdsa needs STREXFORCE_PUBLIC_URL, the URL registered in StrexConnect"
    )]
    NoPublicUrl,
    #[error(transparent)]
    PublicUrl(#[from] PublicUrlError),
    #[error(
        "STREXFORCE_AUTH=ecdsa needs Strex's public key: set STREX_PUBLIC_KEYS, \
         STREX_PUBLIC_KEYS_FILE or STREX_KEY_FETCH=true"
    )]
    NoKeys,
    #[error("STREX_PUBLIC_KEYS: {0}")]
    Keys(#[source] KeyError),
    #[error("STREX_PUBLIC_KEYS_FILE {path}: {error}")]
    KeysFile { path: PathBuf, error: String },
    #[error("STREXFORCE_AUTH=token needs STREXFORCE_FORWARD_TOKEN of at least 32 characters")]
    NoToken,
    #[error("STREXFORCE_ADMIN_LISTEN is set but STREXFORCE_ADMIN_TOKEN is not")]
    AdminWithoutToken,
    #[error("STREXFORCE_ADMIN_TOKEN must be at least 32 characters")]
    WeakAdminToken,
    #[error(transparent)]
    Salesforce(#[from] SettingsError),
}

/// Shared secrets shorter than this are refused: they are meant to be generated, not typed.
const MIN_TOKEN_LEN: usize = 32;

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
    #[arg(long, env = "STREXFORCE_DEFAULT_COUNTRY_CODE", default_value = "47",
          value_parser = country_code)]
    pub default_country_code: String,
    /// IANA time zone whose calendar the `date` filter uses.
    #[arg(long, env = "STREXFORCE_TIME_ZONE", default_value = "Europe/Oslo")]
    pub time_zone: chrono_tz::Tz,
}

#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// Sync workers in this process (at least 1): batches on their way at once under load.
    #[arg(long, env = "STREXFORCE_SYNC_WORKERS", default_value_t = 4,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub sync_workers: u16,
    /// Batches that are not full on their way at once; a partial batch beyond these keeps
    /// gathering until one returns, so light load costs fewer API calls.
    #[arg(long, env = "STREXFORCE_SYNC_PARTIAL_BATCHES", default_value_t = 2,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub sync_partial_batches: u16,
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
    #[arg(long, env = "STREXFORCE_SYNC_MAX_AGE_HOURS", default_value_t = 72,
          value_parser = clap::value_parser!(u64).range(1..=87_600))]
    pub sync_max_age_hours: u64,
    /// First retry delay after a transient failure, in milliseconds; it doubles per attempt.
    #[arg(long, env = "STREXFORCE_SYNC_BACKOFF_BASE_MS", default_value_t = 2000)]
    pub sync_backoff_base_ms: u64,
    /// Longest retry delay, in seconds.
    #[arg(long, env = "STREXFORCE_SYNC_BACKOFF_CAP_SECS", default_value_t = 900)]
    pub sync_backoff_cap_secs: u64,
    /// Under load, how long a batch that is not full waits for more rows, in milliseconds.
    #[arg(long, env = "STREXFORCE_SYNC_GATHER_WINDOW_MS", default_value_t = 5)]
    pub sync_gather_window_ms: u64,
    /// The longest a batch keeps gathering, in milliseconds.
    #[arg(long, env = "STREXFORCE_SYNC_GATHER_LIMIT_MS", default_value_t = 2000)]
    pub sync_gather_limit_ms: u64,
    /// Share of the daily API allocation (0 to 1) above which sending slows down.
    #[arg(long, env = "STREXFORCE_SYNC_SLOW_DOWN_SHARE", default_value_t = 0.9,
          value_parser = share)]
    pub sync_slow_down_share: f64,
    /// While slowed down, at most one batch per this many milliseconds.
    #[arg(
        long,
        env = "STREXFORCE_SYNC_SLOW_DOWN_INTERVAL_MS",
        default_value_t = 1000
    )]
    pub sync_slow_down_interval_ms: u64,
    /// First pause after REQUEST_LIMIT_EXCEEDED, in milliseconds; it doubles per refusal.
    #[arg(long, env = "STREXFORCE_SYNC_LIMIT_PAUSE_MS", default_value_t = 30_000)]
    pub sync_limit_pause_ms: u64,
    /// Longest pause after REQUEST_LIMIT_EXCEEDED, in seconds.
    #[arg(
        long,
        env = "STREXFORCE_SYNC_LIMIT_PAUSE_MAX_SECS",
        default_value_t = 900
    )]
    pub sync_limit_pause_max_secs: u64,
}

#[derive(Debug, Clone, Args)]
pub struct RetentionArgs {
    /// Days after which succeeded, skipped and ignored sync_log rows leave the live table.
    #[arg(long, env = "STREXFORCE_RETENTION_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=36_500))]
    pub retention_days: u64,
    /// What happens to them: archive (moved to sync_log_archive) or delete.
    #[arg(long, env = "STREXFORCE_RETENTION_MODE", default_value = "archive")]
    pub retention_mode: RetentionMode,
    /// How often `serve` applies retention, in minutes; 0 turns it off.
    #[arg(long, env = "STREXFORCE_RETENTION_INTERVAL_MINS", default_value_t = 60)]
    pub retention_interval_mins: u64,
}

/// A body limit of a few bytes would refuse every forward; the smallest real forward is
/// about 200 bytes.
fn body_limit(text: &str) -> Result<usize, String> {
    const SMALLEST: usize = 1024;
    match text.trim().parse::<usize>() {
        Ok(limit) if limit >= SMALLEST => Ok(limit),
        _ => Err(format!(
            "`{text}` is not a number of bytes of at least {SMALLEST}"
        )),
    }
}

/// One to three digits, with or without `+`: it is put in front of national numbers, and
/// anything else would write numbers no phone has to Salesforce.
fn country_code(text: &str) -> Result<String, String> {
    let digits = text.trim().trim_start_matches('+');
    if (1..=3).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(digits.to_owned())
    } else {
        Err(format!("`{text}` is not a country calling code such as 47"))
    }
}

fn share(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("`{text}` is not a share between 0 and 1")),
    }
}

pub(super) fn secret(text: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(text.to_owned()))
}

impl ServeArgs {
    pub fn config(&self) -> Result<ServeConfig, ConfigError> {
        Ok(ServeConfig {
            database_url: self.database.database_url.clone(),
            pool: self.database.pool(),
            mappings_dir: self.mappings.mappings_dir.clone(),
            mapping_settings: self.mappings.settings(),
            salesforce: self.salesforce.config()?,
            salesforce_startup: self.startup.settings(),
            sync: self.sync.settings(),
            retention: self.retention.policy(),
            retention_interval: self.retention.interval(),
            limits: self.limits.limits(),
            auth: self.auth.config()?,
            admin: self.admin.config()?,
        })
    }
}

impl LimitArgs {
    pub fn limits(&self) -> ReceiveLimits {
        ReceiveLimits {
            body_limit: self.body_limit,
            body_timeout: Duration::from_secs(self.body_timeout_secs),
            header_timeout: Duration::from_secs(self.header_timeout_secs.max(1)),
            max_in_flight: self.max_in_flight,
        }
    }
}

impl AuthArgs {
    pub fn config(&self) -> Result<AuthConfig, ConfigError> {
        match (self.auth.is_empty(), self.insecure_no_auth) {
            (true, false) => return Err(ConfigError::NoAuthMode),
            (false, true) => return Err(ConfigError::AuthAndInsecure),
            (true, true) => return Ok(AuthConfig::default()),
            (false, false) => {}
        }
        let ecdsa = match self.auth.contains(&AuthMethod::Ecdsa) {
            true => Some(self.ecdsa()?),
            false => None,
        };
        let token = match self.auth.contains(&AuthMethod::Token) {
            true => Some(self.token()?),
            false => None,
        };
        Ok(AuthConfig { ecdsa, token })
    }

    fn ecdsa(&self) -> Result<EcdsaConfig, ConfigError> {
        let public_url = self.public_url.as_deref().ok_or(ConfigError::NoPublicUrl)?;
        let keys = self.keys()?;
        let key_server = self.strex_key_fetch.then(|| KeyServerConfig {
            api_key: self.strex_api_key.clone(),
            ..KeyServerConfig::new(self.strex_api_base_url.clone())
        });
        if keys.is_empty() && key_server.is_none() {
            return Err(ConfigError::NoKeys);
        }
        Ok(EcdsaConfig {
            public_url: PublicUrl::parse(public_url)?,
            keys,
            key_server,
        })
    }

    fn keys(&self) -> Result<KeyRing, ConfigError> {
        let mut ring = KeyRing::default();
        if let Some(text) = &self.strex_public_keys {
            for (name, key) in parse_key_list(text).map_err(ConfigError::Keys)? {
                ring.insert(name, key);
            }
        }
        if let Some(path) = &self.strex_public_keys_file {
            let file_error = |error: String| ConfigError::KeysFile {
                path: path.clone(),
                error,
            };
            let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
            for (name, key) in parse_key_list(&text).map_err(|e| file_error(e.to_string()))? {
                ring.insert(name, key);
            }
        }
        Ok(ring)
    }

    fn token(&self) -> Result<SecretString, ConfigError> {
        match &self.forward_token {
            Some(token) if token.expose_secret().len() >= MIN_TOKEN_LEN => Ok(token.clone()),
            _ => Err(ConfigError::NoToken),
        }
    }
}

impl AdminArgs {
    pub fn config(&self) -> Result<Option<AdminConfig>, ConfigError> {
        match (&self.admin_token, self.admin_listen) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(ConfigError::AdminWithoutToken),
            (Some(token), _) if token.expose_secret().len() < MIN_TOKEN_LEN => {
                Err(ConfigError::WeakAdminToken)
            }
            (Some(token), listen) => Ok(Some(AdminConfig {
                token: token.clone(),
                listen,
            })),
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

impl SyncArgs {
    pub fn settings(&self) -> SyncSettings {
        SyncSettings {
            workers: usize::from(self.sync_workers),
            partial_batches: usize::from(self.sync_partial_batches),
            batch_size: usize::from(self.sync_batch_size),
            poll_interval: Duration::from_millis(self.sync_poll_interval_ms),
            lease: Duration::from_secs(self.sync_lease_secs),
            backoff: Backoff {
                base: Duration::from_millis(self.sync_backoff_base_ms),
                cap: Duration::from_secs(self.sync_backoff_cap_secs),
            },
            max_age: Duration::from_secs(self.sync_max_age_hours * 3600),
            gather_window: Duration::from_millis(self.sync_gather_window_ms),
            gather_limit: Duration::from_millis(self.sync_gather_limit_ms),
            limits: LimitSettings {
                slow_down_share: self.sync_slow_down_share,
                slow_down_interval: Duration::from_millis(self.sync_slow_down_interval_ms),
                pause: Backoff {
                    base: Duration::from_millis(self.sync_limit_pause_ms),
                    cap: Duration::from_secs(self.sync_limit_pause_max_secs),
                },
            },
        }
    }
}

impl RetentionArgs {
    pub fn policy(&self) -> RetentionPolicy {
        RetentionPolicy {
            age: Duration::from_secs(self.retention_days * 24 * 3600),
            mode: self.retention_mode,
        }
    }

    pub fn interval(&self) -> Option<Duration> {
        (self.retention_interval_mins > 0)
            .then(|| Duration::from_secs(self.retention_interval_mins * 60))
    }
}

#[cfg(test)]
#[path = "args_tests.rs"]
mod tests;
