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
use crate::salesforce::SalesforceConfig;
use crate::server::{DEFAULT_BODY_LIMIT, ServeConfig};
use crate::store::PoolSettings;
use crate::store::retention::{RetentionMode, RetentionPolicy};
use crate::sync::{Backoff, LimitSettings, SyncSettings};

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
    pub retention: RetentionArgs,
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
}

#[derive(Debug, Clone, Args)]
pub struct SalesforceArgs {
    /// The org's login URL; for the client-credentials flow its My Domain URL.
    #[arg(long, env = "SF_LOGIN_URL")]
    pub sf_login_url: Url,
    /// The Connected App's consumer key.
    #[arg(long, env = "SF_CLIENT_ID")]
    pub sf_client_id: String,
    /// The Connected App's consumer secret.
    #[arg(long, env = "SF_CLIENT_SECRET", hide_env_values = true, value_parser = secret)]
    pub sf_client_secret: SecretString,
    /// REST API version.
    #[arg(long, env = "SF_API_VERSION", default_value = "66.0")]
    pub sf_api_version: String,
    /// Timeout of one Salesforce request, in seconds.
    #[arg(long, env = "SF_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
    pub sf_request_timeout_secs: u64,
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
    #[arg(long, env = "STREXFORCE_SYNC_SLOW_DOWN_SHARE", default_value_t = 0.9)]
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
    #[arg(long, env = "STREXFORCE_RETENTION_DAYS", default_value_t = 30)]
    pub retention_days: u64,
    /// What happens to them: archive (moved to sync_log_archive) or delete.
    #[arg(long, env = "STREXFORCE_RETENTION_MODE", default_value = "archive")]
    pub retention_mode: RetentionMode,
    /// How often `serve` applies retention, in minutes; 0 turns it off.
    #[arg(long, env = "STREXFORCE_RETENTION_INTERVAL_MINS", default_value_t = 60)]
    pub retention_interval_mins: u64,
}

fn secret(text: &str) -> Result<SecretString, String> {
    Ok(SecretString::from(text.to_owned()))
}

impl ServeArgs {
    pub fn config(&self) -> ServeConfig {
        ServeConfig {
            database_url: self.database.database_url.clone(),
            pool: self.database.pool(),
            mappings_dir: self.mappings.mappings_dir.clone(),
            mapping_settings: self.mappings.settings(),
            salesforce: self.salesforce.config(),
            sync: self.sync.settings(),
            retention: self.retention.policy(),
            retention_interval: self.retention.interval(),
            body_limit: self.body_limit,
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
        }
    }
}

impl SalesforceArgs {
    pub fn config(&self) -> SalesforceConfig {
        SalesforceConfig {
            login_url: self.sf_login_url.clone(),
            client_id: self.sf_client_id.clone(),
            client_secret: self.sf_client_secret.clone(),
            api_version: self.sf_api_version.trim_start_matches('v').to_owned(),
            request_timeout: Duration::from_secs(self.sf_request_timeout_secs),
        }
    }
}

impl SyncArgs {
    pub fn settings(&self) -> SyncSettings {
        SyncSettings {
            workers: self.sync_workers,
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
