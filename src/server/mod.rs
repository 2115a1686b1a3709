//! `strexforce serve`: the HTTP intake and the sync workers in one process.

mod health;
pub mod problem;
mod reload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;

use crate::forward::intake::Intake;
use crate::mapping::{MappingSet, MappingSettings};
use crate::salesforce::{SalesforceClient, SalesforceConfig};
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
    salesforce.log_in().await?;
    tracing::info!(login_url = %config.salesforce.login_url, "logged in to Salesforce");

    let wake = SyncWake::default();
    let shared_mappings = crate::mapping::live::shared(mappings);
    tokio::spawn(reload::watch(
        shared_mappings.clone(),
        config.mappings_dir.clone(),
        config.mapping_settings.clone(),
        shutdown.clone(),
    ));
    let intake = Intake {
        store: store.clone(),
        mappings: shared_mappings,
        numbering_plan: config.mapping_settings.numbering_plan.clone(),
        wake: wake.clone(),
    };
    let workers = spawn_workers(
        store.clone(),
        salesforce.clone(),
        config.sync.clone(),
        wake,
        shutdown.clone(),
    );
    let router = router(intake, config.body_limit);
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
    mut workers: tokio::task::JoinSet<()>,
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
