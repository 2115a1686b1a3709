//! `strexforce serve`: the HTTP intake and the sync workers in one process.

mod health;
pub mod problem;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
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
use crate::store::retention::{self, RetentionPolicy};
use crate::store::{PoolSettings, Store};
use crate::sync::{ApiBudget, SyncContext, SyncSettings, SyncWake, spawn_workers};

/// Largest forward body accepted; Strex's forwards are a few kilobytes.
pub const DEFAULT_BODY_LIMIT: usize = 256 * 1024;

/// How long shutdown waits for workers to record the batch they are sending. A worker still
/// sending after that is stopped; its rows come back when their lease runs out.
const WORKER_DRAIN_LIMIT: Duration = Duration::from_secs(30);
/// How long shutdown waits for forwards that are being received to be answered.
const HTTP_DRAIN_LIMIT: Duration = Duration::from_secs(10);

/// Everything `serve` needs, already validated.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub database_url: String,
    pub pool: PoolSettings,
    pub mappings_dir: PathBuf,
    pub mapping_settings: MappingSettings,
    pub salesforce: SalesforceConfig,
    pub sync: SyncSettings,
    pub retention: RetentionPolicy,
    /// How often retention runs inside `serve`; `None` leaves it to `strexforce prune`.
    pub retention_interval: Option<Duration>,
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
    #[error("invalid settings: {0}")]
    Settings(String),
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
    check_lease(&config)?;
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
    let intake = Intake {
        store: store.clone(),
        mappings: Arc::new(RwLock::new(Arc::new(mappings))),
        numbering_plan: config.mapping_settings.numbering_plan.clone(),
        wake: wake.clone(),
    };
    let context = SyncContext {
        store: store.clone(),
        salesforce: salesforce.clone(),
        settings: config.sync.clone(),
        wake,
        budget: Arc::new(ApiBudget::new(config.sync.limits.clone(), store.clone())),
    };
    let workers = spawn_workers(context, shutdown.clone());
    if let Some(interval) = config.retention_interval {
        tokio::spawn(retention::run_periodically(
            store.clone(),
            config.retention,
            interval,
            shutdown.clone(),
        ));
    }
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

/// A claim must outlive the request sent under it, or another process could send the same
/// row while the first request is still on its way.
fn check_lease(config: &ServeConfig) -> Result<(), StartError> {
    let request = config.salesforce.request_timeout;
    if config.sync.lease < request * 2 {
        return Err(StartError::Settings(format!(
            "the sync lease ({} s) must be at least twice the Salesforce request timeout \
             ({} s); raise STREXFORCE_SYNC_LEASE_SECS or lower SF_REQUEST_TIMEOUT_SECS",
            config.sync.lease.as_secs(),
            request.as_secs()
        )));
    }
    Ok(())
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
        .into_future();
    let drain_limit = async {
        shutdown.cancelled().await;
        tokio::time::sleep(HTTP_DRAIN_LIMIT).await;
    };
    let served = tokio::select! {
        served = served => served,
        _ = drain_limit => {
            tracing::warn!("forwards still being received at shutdown were cut off");
            Ok(())
        }
    };
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
