//! `strexforce serve`: the HTTP intake and the sync workers in one process.

pub mod admin;
mod api_doc;
pub mod health;
mod listener;
mod metrics_endpoint;
pub mod problem;
mod reload;
pub mod request_span;
mod startup_summary;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::response::IntoResponse;
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;

use crate::forward::auth::{AuthConfig, ForwardAuth};
use crate::forward::http::Receiver;
use crate::forward::intake::Intake;
use crate::forward::limits::ReceiveLimits;
use crate::mapping::{MappingSet, MappingSettings};
use crate::salesforce::{LoginRetry, LoginStartup, SalesforceClient, SalesforceConfig};
use crate::store::retention::{self, RetentionPolicy};
use crate::store::{PoolSettings, Store};
use crate::sync::{ApiBudget, SyncContext, SyncSettings, SyncWake, spawn_workers};

pub use crate::forward::limits::DEFAULT_BODY_LIMIT;
use admin::AdminConfig;
use health::Readiness;
use problem::Problem;

/// How long shutdown waits for workers to record the batch they are sending. A worker still
/// sending after that is stopped; its rows come back when their lease runs out.
const WORKER_DRAIN_LIMIT: Duration = Duration::from_secs(30);
/// How long shutdown waits for forwards that are being received to be answered.
const HTTP_DRAIN_LIMIT: Duration = Duration::from_secs(10);
/// The longest a SIGTERM'd `serve` takes to exit: the two drains, one after the other. An
/// orchestrator's grace period must be longer (deploy/kubernetes/deployment.yaml).
pub const SHUTDOWN_LIMIT: Duration = HTTP_DRAIN_LIMIT.saturating_add(WORKER_DRAIN_LIMIT);

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
    pub retention: RetentionPolicy,
    /// How often retention runs inside `serve`; `None` leaves it to `strexforce prune`.
    pub retention_interval: Option<Duration>,
    pub limits: ReceiveLimits,
    pub auth: AuthConfig,
    /// The operator endpoints; `None` keeps them off.
    pub admin: Option<AdminConfig>,
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
    #[error(
        "cannot log in to Salesforce: {0} (to take forwards in while this is fixed, start with \
         --start-without-salesforce)"
    )]
    Salesforce(#[from] crate::salesforce::AuthError),
    #[error("cannot set up the Salesforce client: {0}")]
    Client(#[from] crate::salesforce::ApiError),
    #[error("cannot serve HTTP: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "cannot listen on {addr} (STREXFORCE_ADMIN_LISTEN): {source}; choose a free address \
         other than STREXFORCE_LISTEN's"
    )]
    AdminListen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot set up the key server client: {0}")]
    KeyServer(#[source] reqwest::Error),
    #[error("invalid settings: {0}")]
    Settings(String),
}

/// A started service.
pub struct RunningService {
    pub addr: SocketAddr,
    /// Where the admin endpoints listen when they have a listener of their own.
    pub admin_addr: Option<SocketAddr>,
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
///
/// Every log line of a service carries its auth mode, so that one running without
/// authentication says so all along.
pub async fn start(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<RunningService, StartError> {
    let span = tracing::info_span!("serve", auth = config.auth.label());
    tracing::Instrument::instrument(start_in_span(config, listener, shutdown), span).await
}

async fn start_in_span(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<RunningService, StartError> {
    if config.auth.is_insecure() {
        tracing::warn!("forwards are NOT authenticated (--insecure-no-auth): anyone can post");
    }
    check_lease(&config)?;
    // Before anything is counted: the first login is.
    crate::telemetry::metrics::handle();
    startup_summary::log(&config, listener.local_addr()?);
    let store = Store::connect(&config.database_url, &config.pool).await?;
    store.migrate().await?;
    let mappings = load_mappings(&config)?;
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
    let receiver = Receiver {
        auth: ForwardAuth::new(&config.auth, &store).map_err(StartError::KeyServer)?,
        intake,
        limits: config.limits.clone(),
    };
    let context = SyncContext {
        store: store.clone(),
        salesforce: salesforce.clone(),
        settings: config.sync.clone(),
        wake,
        budget: Arc::new(ApiBudget::new(config.sync.limits.clone(), store.clone())),
    };
    let workers = if logged_in {
        spawn_workers(context, shutdown.clone())
    } else {
        let retry = config.salesforce_startup.retry.clone();
        sync_after_login(context, retry, shutdown.clone())
    };
    if let Some(interval) = config.retention_interval {
        tokio::spawn(retention::run_periodically(
            store.clone(),
            config.retention,
            interval,
            shutdown.clone(),
        ));
    }
    let readiness = Readiness {
        store: store.clone(),
        mappings: receiver.intake.mappings.clone(),
        login: salesforce.login_status(),
        sync_may_wait_for_login: config.salesforce_startup.start_without_salesforce,
    };
    let (router, admin_addr) = surfaces(&config, receiver, readiness, &shutdown).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "accepting forwards");
    let task = tokio::spawn(tracing::Instrument::in_current_span(serve(
        listener,
        router,
        config.limits.header_timeout,
        workers,
        shutdown.clone(),
    )));
    Ok(RunningService {
        addr,
        admin_addr,
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
    context: SyncContext,
    retry: LoginRetry,
    shutdown: CancellationToken,
) -> JoinSet<()> {
    let mut set = JoinSet::new();
    set.spawn(async move {
        if !crate::salesforce::keep_logging_in(&context.salesforce, &retry, &shutdown).await {
            return;
        }
        tracing::info!("logged in to Salesforce at last; sync starts");
        let mut workers = spawn_workers(context, shutdown);
        while workers.join_next().await.is_some() {}
    });
    set
}

fn load_mappings(config: &ServeConfig) -> Result<MappingSet, StartError> {
    let mappings =
        MappingSet::load_dir(&config.mappings_dir, &config.mapping_settings).map_err(|error| {
            StartError::Mappings {
                dir: config.mappings_dir.clone(),
                error,
            }
        })?;
    tracing::info!(mappings = ?mappings.names(), version = mappings.version(), "mappings loaded");
    Ok(mappings)
}

/// The forward router, with the admin routes merged in or served on their own listener.
async fn surfaces(
    config: &ServeConfig,
    receiver: Receiver,
    readiness: Readiness,
    shutdown: &CancellationToken,
) -> Result<(Router, Option<SocketAddr>), StartError> {
    let Some(admin_config) = &config.admin else {
        return Ok((router(receiver, readiness), None));
    };
    let admin = admin::routes(
        admin_config,
        receiver.intake.store.clone(),
        receiver.intake.mappings.clone(),
        receiver.auth.clone(),
        readiness.login.clone(),
    );
    let Some(admin_listen) = admin_config.listen else {
        tracing::info!("admin endpoints on the forward listener");
        return Ok((
            documented(public_routes(receiver, readiness).merge(admin)),
            None,
        ));
    };
    let admin_listener =
        TcpListener::bind(admin_listen)
            .await
            .map_err(|source| StartError::AdminListen {
                addr: admin_listen,
                source,
            })?;
    let admin_addr = admin_listener.local_addr()?;
    tracing::info!(%admin_addr, "admin endpoints on their own listener");
    let admin = documented(admin);
    let stop = shutdown.clone();
    let header_timeout = config.limits.header_timeout;
    tokio::spawn(tracing::Instrument::in_current_span(async move {
        if let Err(error) = listener::serve_http(admin_listener, admin, stop, header_timeout).await
        {
            tracing::error!(%error, "admin listener stopped");
        }
    }));
    Ok((router(receiver, readiness), Some(admin_addr)))
}

/// The whole public HTTP surface: the forward endpoints, health, metrics and the OpenAPI
/// document describing them.
pub fn router(receiver: Receiver, readiness: Readiness) -> Router {
    documented(public_routes(receiver, readiness))
}

fn public_routes(receiver: Receiver, readiness: Readiness) -> OpenApiRouter {
    let store = receiver.intake.store.clone();
    crate::forward::http::routes(receiver)
        .merge(health::routes(readiness))
        .merge(metrics_endpoint::routes(store))
}

/// Adds `/openapi.json`, describing every route of `routes` and itself.
fn documented(routes: OpenApiRouter) -> Router {
    let (router, document) = OpenApiRouter::with_openapi(api_doc::base())
        .merge(routes)
        .merge(api_doc::routes())
        .split_for_parts();
    with_common_layers(router.layer(Extension(Arc::new(document))))
}

/// Error answers in the one shape for unknown paths and methods, and request spans that name
/// the path only: a query may hold the forward token.
fn with_common_layers(router: Router) -> Router {
    router
        .fallback(|| async { Problem::not_found().into_response() })
        .method_not_allowed_fallback(|| async { Problem::method_not_allowed().into_response() })
        .layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT))
        .layer(axum::middleware::from_fn(request_span::remember))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span::make_span)
                .on_request(())
                .on_response(request_span::on_response),
        )
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

async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    mut workers: JoinSet<()>,
    shutdown: CancellationToken,
) -> Result<(), std::io::Error> {
    let served = listener::serve_http(listener, router, shutdown.clone(), header_timeout);
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
