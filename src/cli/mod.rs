//! The `strexforce` command line.

mod args;
mod filter;
mod log;
mod mappings;
mod prune;
mod replay;
mod requeue;
mod salesforce;
mod salesforce_args;
mod serve;
mod status;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use args::{DatabaseArgs, MappingArgs, RetentionArgs, ServeArgs, SyncArgs};
pub use salesforce_args::{AuthFlowName, SalesforceArgs, SettingsError, StartupArgs};

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
    /// Check, preview and test mapping files.
    Mappings(mappings::MappingsCommand),
    /// Plan a stored event again with the current mappings.
    Replay(replay::ReplayArgs),
    /// Log in to Salesforce and check the org against the mappings.
    Salesforce {
        #[command(subcommand)]
        command: salesforce::SalesforceCommand,
    },
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
    // A missing .env file is normal; settings then come from the environment alone. The demo
    // never reads it: a .env names the real database and org, and the demo writes sample
    // forwards wherever DATABASE_URL points.
    if std::env::args().nth(1).as_deref() != Some("demo") {
        let _ = dotenvy::dotenv();
    }
    let cli = Cli::parse();
    // The demo and the commands that print their own reports stay quiet unless asked for.
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
            eprintln!("error: {}", error_chain(&error));
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => serve::serve(*args).await,
        Command::Migrate(args) => serve::migrate(args).await,
        Command::Demo(args) => crate::demo::run(args).await,
        Command::Mappings(command) => mappings::run(command).await,
        Command::Replay(args) => replay::run(args).await,
        Command::Salesforce { command } => salesforce::run(command).await,
        Command::Log(args) => log::log(args).await,
        Command::Retry(args) => requeue::retry(args).await,
        Command::Ignore(args) => requeue::ignore(args).await,
        Command::Status(args) => status::status(args).await,
        Command::Prune(args) => prune::prune(args).await,
    }
}

/// The error and its causes on one line, each cause once: most errors here already quote their
/// source in their own message, which a plain `{:#}` would print a second time.
fn error_chain(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause);
        }
    }
    text
}
