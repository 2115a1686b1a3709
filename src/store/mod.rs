//! Postgres: the durable record of every forward and of every upsert planned from it.

mod api_usage;
mod backlog;
mod events;
pub mod log_view;
pub mod replay;
mod requeue;
pub mod retention;
mod schema_version;
pub mod sync_log;
pub mod temp_server;

use std::sync::OnceLock;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

pub use api_usage::ApiUsageReading;
pub use backlog::Backlog;
pub use events::{DeliveryRank, EventStatus, NewEvent, StoredEvent};
pub use log_view::{EventSummary, LogFilter, SyncLogEntry};
pub use requeue::{IgnoreReport, RetryReport};
pub use schema_version::{SchemaDrift, migrator};
pub use sync_log::{BatchGroup, Claim, ClaimedRow, ErrorDetail, RowOutcome, RowStatus};

/// How this process signs what it writes (`claimed_by`, `observed_by`): host name and pid.
pub fn process_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|name| name.trim().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned());
        format!("{host}:{}", std::process::id())
    })
}

/// Errors from the database layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot reach Postgres: {0}; check DATABASE_URL and that the server is running")]
    Unavailable(#[source] sqlx::Error),
    #[error("database query failed: {}", postgres_text(.0))]
    Query(#[source] sqlx::Error),
    #[error("Postgres refused the login: {0}; check the user and password in DATABASE_URL")]
    LoginRefused(String),
    #[error("the database has no strexforce tables yet ({0}); run `strexforce migrate` first")]
    NoSchema(String),
    #[error("cannot apply database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("DATABASE_URL is not a valid Postgres URL: {0}")]
    BadUrl(#[source] sqlx::Error),
    #[error(
        "the database in DATABASE_URL does not exist: {0}; create it first (createdb <name>, \
         or CREATE DATABASE in psql)"
    )]
    NoDatabase(String),
}

impl StoreError {
    /// Connection-level failures, as opposed to a query Postgres refused.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error),
            // Postgres's own text, without the source position sqlx appends.
            sqlx::Error::Database(ref database) => match database.code().as_deref() {
                Some("3D000") => StoreError::NoDatabase(database.message().to_owned()),
                // invalid_authorization_specification (no such role), invalid_password
                Some("28000" | "28P01") => StoreError::LoginRefused(database.message().to_owned()),
                // undefined_table
                Some("42P01") => StoreError::NoSchema(database.message().to_owned()),
                _ => StoreError::Query(error),
            },
            other => StoreError::Query(other),
        }
    }
}

/// Postgres's own text for an error it returned, without the position in Postgres's source
/// that sqlx appends (`at line 768`), which means nothing to an operator.
fn postgres_text(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(database) => database.message().to_owned(),
        other => other.to_string(),
    }
}

/// How the connection pool is sized.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a request waits for a free connection before it is answered 503.
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(3),
        }
    }
}

/// The database handle shared by intake, sync workers and the CLI.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Opens a pool without connecting yet, so that the service can start (and answer 503)
    /// while Postgres is briefly away.
    pub fn connect_lazy(url: &str, settings: &PoolSettings) -> Result<Store, StoreError> {
        let options: PgConnectOptions = url.parse().map_err(StoreError::BadUrl)?;
        let pool = PgPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            .connect_lazy_with(options.application_name("strexforce"));
        Ok(Store { pool })
    }

    /// Opens a pool and checks that Postgres answers.
    pub async fn connect(url: &str, settings: &PoolSettings) -> Result<Store, StoreError> {
        let store = Store::connect_lazy(url, settings)?;
        store.ping().await?;
        Ok(store)
    }

    pub fn from_pool(pool: PgPool) -> Store {
        Store { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies the migrations in `migrations/` that this database has not seen yet.
    ///
    /// Migrations only ever add to the schema, so a database that a newer release has
    /// migrated further still serves this one: its extra migrations are left alone, which
    /// is what lets a release be rolled back (docs/operations.md, "Upgrading").
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrator().run(&self.pool).await?;
        Ok(())
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
