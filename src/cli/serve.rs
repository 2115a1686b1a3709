//! `serve` and `migrate`.

use std::process::ExitCode;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use super::{DatabaseArgs, ServeArgs};
use crate::store::Store;

pub async fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    crate::telemetry::redact::set_log_pii(args.log_pii);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (STREXFORCE_LISTEN); is another process using it?",
                args.listen
            )
        })?;
    let shutdown = CancellationToken::new();
    let service = crate::server::start(config, listener, shutdown.clone()).await?;
    tokio::spawn(cancel_on_signal(shutdown));
    service.wait().await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

pub async fn migrate(args: DatabaseArgs) -> anyhow::Result<ExitCode> {
    let store = Store::connect(&args.database_url, &args.pool()).await?;
    let missing = store.schema_drift().await?.missing;
    store.migrate().await?;
    if missing.is_empty() {
        println!("database is up to date; no migration to apply");
    } else {
        let versions: Vec<String> = missing.iter().map(i64::to_string).collect();
        println!(
            "applied {} migration(s): {}; database is up to date",
            missing.len(),
            versions.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Cancels on SIGTERM (what orchestrators send) or Ctrl-C.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: intake stops, workers finish the batch they are sending");
    shutdown.cancel();
}
