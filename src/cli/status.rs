//! `strexforce status`: the backlog and the last API usage reading.

use std::process::ExitCode;

use clap::Args;

use super::DatabaseArgs;
use crate::report;
use crate::store::Store;

#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Print the status as JSON.
    #[arg(long)]
    pub json: bool,
}

pub async fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let store = Store::connect(&args.database.database_url, &args.database.pool()).await?;
    let backlog = store.backlog().await?;
    let usage = store.api_usage().await?;
    if args.json {
        let body = serde_json::json!({
            "sync_log": backlog
                .by_status
                .iter()
                .map(|(status, rows)| (status.clone(), serde_json::Value::from(*rows)))
                .collect::<serde_json::Map<_, _>>(),
            "retrying": backlog.retrying,
            "oldest_open_at": backlog.oldest_open_at,
            "oldest_open_age_secs": backlog.oldest_open_age().map(|age| age.num_seconds()),
            "api_usage": usage,
        });
        println!("{}", serde_json::to_string_pretty(&body)?);
    } else {
        println!("{}", report::status_text(&backlog, usage.as_ref()));
    }
    Ok(ExitCode::SUCCESS)
}
