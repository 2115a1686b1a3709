//! `strexforce serve`: the HTTP intake and the sync workers in one process.

mod health;
pub mod problem;
mod reload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

use crate::forward::intake::Intake;
use crate::mapping::{MappingSet, MappingSettings};
use crate::salesforce::{LoginRetry, LoginStartup, SalesforceClient, SalesforceConfig};
use crate::store::{PoolSettings, Store};
use crate::sync::{SyncSettings, SyncWake, spawn_workers};

/// Largest forward body accepted; Strex's forwards are a few kilobytes.
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// How long shutdown waits for workers to record the batch they are sending.
const WORKER_DRAIN_LIMIT: Duration = Duration::from_secs(30);

/// Everything `serve` needs, already validated.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub database_url: String,
    pub pool: PoolSettings,
    pub mappings_dir: PathBuf,
    pub mapping_settings: MappingSettings,
    pub salesforce: SalesforceConfig,
    /// Whether a failed login stops the start, or sync waits for a later login.
    pub salesforce_startup: LoginStartup,
    pub sync: SyncSettings,
    pub body_limit: usize,
}

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("the mappings in {dir} are not valid:\n{error}")]
    Mappings {
        dir: PathBuf,
        error: crate::mapping::LoadError,
    },
    #[error("cannot log in to Salesforce: {0}")]
    Salesforce(#[from] crate::salesforce::AuthError),
    #[error("cannot set up the Salesforce client: {0}")]
    Client(#[from] crate::salesforce::ApiError),
    #[error("cannot serve HTTP: {0}")]
    Io(#[from] std::io::Error),
}

/// A started service.
pub struct RunningService {
    pub addr: SocketAddr,
    pub store: Store,
    pub salesforce: Arc<SalesforceClient>,
    shutdown: CancellationToken,
    task: JoinHandle<Result<(), std::io::Error>>,
}

impl RunningService {
    /// The base URL, such as `http://127.0.0.1:8080`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops intake, lets the workers record what they are sending, and waits for both.
    pub async fn stop(self) -> Result<(), std::io::Error> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits until the service stops by itself (its shutdown token was cancelled).
    pub async fn wait(self) -> Result<(), std::io::Error> {
        self.task
            .await
            .unwrap_or_else(|join| Err(std::io::Error::other(join)))
    }
}

/// Connects, migrates, loads the mappings, logs in to Salesforce, then serves on `listener`
/// until `shutdown` is cancelled.
pub async fn start(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<RunningService, StartError> {
    let store = Store::connect(&config.database_url, &config.pool).await?;
    store.migrate().await?;
    let mappings =
        MappingSet::load_dir(&config.mappings_dir, &config.mapping_settings).map_err(|error| {
            StartError::Mappings {
                dir: config.mappings_dir.clone(),
                error,
            }
        })?;
    tracing::info!(mappings = ?mappings.names(), version = mappings.version(), "mappings loaded");
    let salesforce = SalesforceClient::new(&config.salesforce)?;
    let logged_in = log_in_at_start(&salesforce, &config.salesforce_startup).await?;

    let wake = SyncWake::default();
    let shared_mappings = crate::mapping::live::shared(mappings);
    reload::spawn(
        shared_mappings.clone(),
        config.mappings_dir.clone(),
        config.mapping_settings.clone(),
        shutdown.clone(),
    );
    let intake = Intake {
        store: store.clone(),
        mappings: shared_mappings,
        numbering_plan: config.mapping_settings.numbering_plan.clone(),
        wake: wake.clone(),
    };
    let workers = if logged_in {
        spawn_workers(
            store.clone(),
            salesforce.clone(),
            config.sync.clone(),
            wake,
            shutdown.clone(),
        )
    } else {
        let retry = config.salesforce_startup.retry.clone();
        sync_after_login(
            store.clone(),
            salesforce.clone(),
            config.sync.clone(),
            wake,
            retry,
            shutdown.clone(),
        )
    };
    let router = router(intake, config.body_limit).layer(Extension(salesforce.login_status()));
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "accepting forwards");
    let task = tokio::spawn(serve(listener, router, workers, shutdown.clone()));
    Ok(RunningService {
        addr,
        store,
        salesforce,
        shutdown,
        task,
    })
}

/// Logs in; a failure stops the start unless the service may start without Salesforce.
async fn log_in_at_start(
    salesforce: &SalesforceClient,
    startup: &LoginStartup,
) -> Result<bool, StartError> {
    match salesforce.log_in().await {
        Ok(()) => Ok(true),
        Err(error) if startup.start_without_salesforce => {
            tracing::warn!(
                %error,
                "starting without Salesforce: forwards are stored, sync waits for a login"
            );
            Ok(false)
        }
        Err(error) => Err(error.into()),
    }
}

/// Keeps logging in, then starts the workers. Until then no row is claimed, so waiting
/// rows use up no attempts.
fn sync_after_login(
    store: Store,
    salesforce: Arc<SalesforceClient>,
    settings: SyncSettings,
    wake: SyncWake,
    retry: LoginRetry,
    shutdown: CancellationToken,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    set.spawn(async move {
        if !crate::salesforce::keep_logging_in(&salesforce, &retry, &shutdown).await {
            return;
        }
        tracing::info!("logged in to Salesforce at last; sync starts");
        let mut workers = spawn_workers(store, salesforce, settings, wake, shutdown);
        while workers.join_next().await.is_some() {}
    });
    set
}

/// The whole HTTP surface.
pub fn router(intake: Intake, body_limit: usize) -> Router {
    let store = intake.store.clone();
    crate::forward::http::routes(intake)
        .merge(health::routes(store))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(TraceLayer::new_for_http())
}

async fn serve(
    listener: TcpListener,
    router: Router,
    mut workers: JoinSet<()>,
    shutdown: CancellationToken,
) -> Result<(), std::io::Error> {
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.clone().cancelled_owned())
        .await;
    shutdown.cancel();
    let drained = tokio::time::timeout(WORKER_DRAIN_LIMIT, async {
        while workers.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("sync workers did not stop in time; their claims will lapse and be retried");
        workers.abort_all();
    }
    served
}
