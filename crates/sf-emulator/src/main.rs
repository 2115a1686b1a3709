//! `sf-emulator`: runs the Salesforce emulator as a stand-alone local server.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use sf_emulator::{DEFAULT_API_ALLOCATION, DEFAULT_CLIENT_SECRET, EmulatorConfig, Schema};
use tracing_subscriber::EnvFilter;

/// A local emulator of the Salesforce REST API, for tests and demos.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, env = "SF_EMULATOR_LISTEN", default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Consumer key the token endpoint accepts.
    #[arg(long, env = "SF_EMULATOR_CLIENT_ID", default_value = sf_emulator::DEFAULT_CLIENT_ID)]
    client_id: String,
    /// Consumer secret the token endpoint accepts.
    #[arg(
        long,
        env = "SF_EMULATOR_CLIENT_SECRET",
        default_value = DEFAULT_CLIENT_SECRET,
        hide_default_value = true
    )]
    client_secret: String,
    /// Schema YAML; the built-in schema when absent.
    #[arg(long, env = "SF_EMULATOR_SCHEMA")]
    schema: Option<PathBuf>,
    /// Delay added to every data API call, in milliseconds.
    #[arg(long, env = "SF_EMULATOR_LATENCY_MS", default_value_t = 0)]
    latency_ms: u64,
    /// Daily API request allocation.
    #[arg(long, env = "SF_EMULATOR_API_ALLOCATION", default_value_t = DEFAULT_API_ALLOCATION)]
    api_allocation: u64,
    /// instance_url to hand out in tokens; defaults to the listen URL.
    #[arg(long, env = "SF_EMULATOR_INSTANCE_URL")]
    instance_url: Option<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_ansi(std::io::stdout().is_terminal())
        .init();
    let args = Args::parse();
    let schema = match &args.schema {
        Some(path) => {
            Schema::from_file(path).with_context(|| format!("loading {}", path.display()))?
        }
        None => Schema::builtin(),
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let config = EmulatorConfig {
        client_id: args.client_id.clone(),
        client_secret: args.client_secret.clone(),
        schema,
        api_allocation: args.api_allocation,
        latency: Duration::from_millis(args.latency_ms),
        instance_url: args.instance_url.clone(),
    };
    let emulator = sf_emulator::start(config, listener).await?;
    println!("{}", banner(&args, &emulator.url()));
    wait_for_stop_signal().await;
    tracing::info!("stopping");
    emulator.shutdown().await;
    Ok(())
}

/// One line saying where the emulator is and how to log in. The secret is shown only
/// when it is the public local default.
fn banner(args: &Args, url: &str) -> String {
    let schema = match &args.schema {
        Some(path) => path.display().to_string(),
        None => "built-in".to_string(),
    };
    let secret = if args.client_secret == DEFAULT_CLIENT_SECRET {
        format!("default client secret '{DEFAULT_CLIENT_SECRET}'")
    } else {
        "client secret as configured".to_string()
    };
    format!(
        "sf-emulator listening on {url} (client id '{}', {secret}, schema {schema})",
        args.client_id
    )
}

async fn wait_for_stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
