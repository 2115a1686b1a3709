//! `strexforce log`: the sync log, filtered, as a table or as JSON.

use std::process::ExitCode;

use clap::Args;

use super::DatabaseArgs;
use super::filter::RowFilterArgs;
use crate::report;
use crate::store::Store;

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub filter: RowFilterArgs,
    /// At most this many rows: the newest ones, listed oldest first.
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    /// Print the rows as a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub async fn log(args: LogArgs) -> anyhow::Result<ExitCode> {
    let store = Store::connect(&args.database.database_url, &args.database.pool()).await?;
    let mut filter = args.filter.filter(&[], args.limit.max(0));
    filter.latest = true;
    let entries = store.sync_log(&filter).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else if entries.is_empty() {
        println!("no sync_log rows match");
    } else {
        println!("{}", report::sync_log_table(&entries));
    }
    Ok(ExitCode::SUCCESS)
}
