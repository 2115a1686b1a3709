//! `sf-emulator`: runs the Salesforce emulator as a stand-alone local server.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use sf_emulator::{
    DEFAULT_API_ALLOCATION, DEFAULT_CLIENT_SECRET, DEFAULT_PASSWORD, DEFAULT_SECURITY_TOKEN,
    DEFAULT_USERNAME, EmulatorConfig, Schema,
};
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
    /// The org's user, for the JWT bearer and password flows.
    #[arg(long, env = "SF_EMULATOR_USERNAME", default_value = DEFAULT_USERNAME)]
    username: String,
    /// That user's password (password flow).
    #[arg(long, env = "SF_EMULATOR_PASSWORD", default_value = DEFAULT_PASSWORD,
          hide_default_value = true)]
    password: String,
    /// That user's security token, appended to the password (password flow).
    #[arg(long, env = "SF_EMULATOR_SECURITY_TOKEN", default_value = DEFAULT_SECURITY_TOKEN,
          hide_default_value = true)]
    security_token: String,
    /// PEM certificate or public key that JWT assertions must verify against.
    #[arg(long, env = "SF_EMULATOR_JWT_PUBLIC_KEY")]
    jwt_public_key: Option<PathBuf>,
    /// The one JWT audience to accept; by default login.salesforce.com,
    /// test.salesforce.com and the emulator's own URL.
    #[arg(long, env = "SF_EMULATOR_JWT_AUDIENCE")]
    jwt_audience: Option<String>,
    /// A refresh token the org accepts from the start (refresh token flow).
    #[arg(long, env = "SF_EMULATOR_REFRESH_TOKEN", hide_env_values = true)]
    refresh_token: Option<String>,
    /// Answer every refresh with a new refresh token and invalidate the used one.
    #[arg(long, env = "SF_EMULATOR_ROTATE_REFRESH_TOKENS")]
    rotate_refresh_tokens: bool,
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
        username: args.username.clone(),
        password: args.password.clone(),
        security_token: args.security_token.clone(),
        jwt_public_key: read_optional(args.jwt_public_key.as_ref())?,
        jwt_audience: args.jwt_audience.clone(),
        refresh_token: args.refresh_token.clone(),
        rotate_refresh_tokens: args.rotate_refresh_tokens,
    };
    let emulator = sf_emulator::start(config, listener).await?;
    println!("{}", banner(&args, &emulator.url()));
    wait_for_stop_signal().await;
    tracing::info!("stopping");
    emulator.shutdown().await;
    Ok(())
}

fn read_optional(path: Option<&PathBuf>) -> anyhow::Result<Option<String>> {
    path.map(|path| {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    })
    .transpose()
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
    let jwt = if args.jwt_public_key.is_some() {
        "JWT key as configured"
    } else {
        "no JWT key"
    };
    format!(
        "sf-emulator listening on {url} (client id '{}', {secret}, user '{}', {jwt}, \
         schema {schema})",
        args.client_id, args.username
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
