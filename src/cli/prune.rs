//! `strexforce prune`: applies retention once, as `serve` does periodically.

use std::process::ExitCode;

use clap::Args;

use super::{DatabaseArgs, RetentionArgs};
use crate::store::Store;
use crate::store::retention::RetentionMode;

#[derive(Debug, Clone, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub retention: RetentionArgs,
}

pub async fn prune(args: PruneArgs) -> anyhow::Result<ExitCode> {
    let store = Store::connect(&args.database.database_url, &args.database.pool()).await?;
    let policy = args.retention.policy();
    let rows = store.apply_retention(&policy).await?;
    let verb = match policy.mode {
        RetentionMode::Archive => "moved to sync_log_archive",
        RetentionMode::Delete => "deleted",
    };
    println!(
        "{rows} sync_log row(s) older than {} day(s) {verb}",
        args.retention.retention_days
    );
    Ok(ExitCode::SUCCESS)
}
