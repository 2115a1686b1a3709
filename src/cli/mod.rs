//! The `strexforce` command line.

mod args;
mod filter;
mod log;
mod prune;
mod requeue;
mod serve;
mod status;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use args::{DatabaseArgs, MappingArgs, RetentionArgs, SalesforceArgs, ServeArgs, SyncArgs};

#[derive(Debug, Parser)]
#[command(
    name = "strexforce",
    version,
    about = "StrexConnect forwards into Salesforce"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Receive forwards and sync them to Salesforce.
    Serve(Box<ServeArgs>),
    /// Apply database migrations and exit.
    Migrate(DatabaseArgs),
    /// Run everything locally against the Salesforce emulator with the sample forwards.
    Demo(crate::demo::DemoArgs),
    /// List sync_log rows: what was sent to Salesforce and what came of it.
    Log(log::LogArgs),
    /// Send failed or dead rows to Salesforce again.
    Retry(requeue::RetryArgs),
    /// Set failed, dead or pending rows aside so they are never sent.
    Ignore(requeue::IgnoreArgs),
    /// Show the backlog and the last Salesforce API usage reading.
    Status(status::StatusArgs),
    /// Move or delete old finished sync_log rows now (serve does it periodically).
    Prune(prune::PruneArgs),
}

/// Parses the command line and runs the command.
pub fn main() -> ExitCode {
    // A missing .env file is normal; settings then come from the environment alone.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    // The demo prints its own report; its logs would drown it unless asked for.
    // The demo and the operator commands print their own reports; logs would drown them
    // unless asked for.
    let default_level = match cli.command {
        Command::Serve(_) | Command::Migrate(_) => crate::telemetry::DEFAULT_FILTER,
        _ => "warn",
    };
    crate::telemetry::init(default_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => serve::serve(*args).await,
        Command::Migrate(args) => serve::migrate(args).await,
        Command::Demo(args) => crate::demo::run(args).await,
        Command::Log(args) => log::log(args).await,
        Command::Retry(args) => requeue::retry(args).await,
        Command::Ignore(args) => requeue::ignore(args).await,
        Command::Status(args) => status::status(args).await,
        Command::Prune(args) => prune::prune(args).await,
    }
}
