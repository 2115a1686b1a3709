//! `strexforce retry` and `strexforce ignore`: what to do with rows that did not make it.

use std::process::ExitCode;

use clap::Args;

use super::DatabaseArgs;
use super::filter::RowFilterArgs;
use crate::store::{LogFilter, Store};

#[derive(Debug, Clone, Args)]
pub struct RetryArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// sync_log row ids to retry; without ids, the filter options choose the rows.
    pub ids: Vec<i64>,
    #[command(flatten)]
    pub filter: RowFilterArgs,
    /// Retry rows even when a newer row of the same record succeeded (sending them would
    /// overwrite the newer data in Salesforce).
    #[arg(long)]
    pub force: bool,
    /// At most this many rows (all that match by default).
    #[arg(long)]
    pub limit: Option<i64>,
}

#[derive(Debug, Clone, Args)]
pub struct IgnoreArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// sync_log row ids to ignore; without ids, the filter options choose the rows.
    pub ids: Vec<i64>,
    #[command(flatten)]
    pub filter: RowFilterArgs,
    /// At most this many rows (all that match by default).
    #[arg(long)]
    pub limit: Option<i64>,
}

/// Failed and dead rows back to pending.
pub async fn retry(args: RetryArgs) -> anyhow::Result<ExitCode> {
    let filter = chosen_rows(&args.ids, &args.filter, args.limit)?;
    let store = Store::connect(&args.database.database_url, &args.database.pool()).await?;
    let report = store.retry_rows(&filter, args.force).await?;
    println!(
        "{} row(s) back to pending{}",
        report.requeued.len(),
        id_list(&report.requeued)
    );
    if !report.waiting_for_their_step.is_empty() {
        println!(
            "{} row(s) left failed with the step they depend on{}",
            report.waiting_for_their_step.len(),
            id_list(&report.waiting_for_their_step)
        );
    }
    for (id, newer) in &report.held_back {
        eprintln!(
            "warning: row {id} was not retried: row {newer} of the same record succeeded \
             later, and sending {id} again would overwrite that newer data; use --force to \
             retry it anyway"
        );
    }
    let handled: Vec<i64> = (report.requeued.iter())
        .chain(&report.waiting_for_their_step)
        .chain(report.held_back.iter().map(|(id, _)| id))
        .copied()
        .collect();
    let untouched = not_acted_on(&args.ids, &handled, "failed or dead");
    Ok(if report.held_back.is_empty() && !untouched {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Failed, dead and pending rows set aside.
pub async fn ignore(args: IgnoreArgs) -> anyhow::Result<ExitCode> {
    let filter = chosen_rows(&args.ids, &args.filter, args.limit)?;
    let store = Store::connect(&args.database.database_url, &args.database.pool()).await?;
    let report = store.ignore_rows(&filter).await?;
    println!(
        "{} row(s) ignored{}",
        report.ignored.len(),
        id_list(&report.ignored)
    );
    Ok(
        if not_acted_on(&args.ids, &report.ignored, "failed, dead or pending") {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        },
    )
}

/// Warns of ids given by the operator that the command left alone; whether there were any.
fn not_acted_on(ids: &[i64], handled: &[i64], eligible: &str) -> bool {
    let left: Vec<i64> = ids
        .iter()
        .filter(|id| !handled.contains(id))
        .copied()
        .collect();
    if left.is_empty() {
        return false;
    }
    eprintln!(
        "warning: row(s){} left alone: no such row, or it is not {eligible} \
         (strexforce log shows each row's status)",
        id_list(&left)
    );
    true
}

/// Acting on every row of the log by accident would be hard to undo, so some choice of rows
/// is required.
fn chosen_rows(
    ids: &[i64],
    filter: &RowFilterArgs,
    limit: Option<i64>,
) -> anyhow::Result<LogFilter> {
    let filter = filter.filter(ids, limit.unwrap_or(i64::MAX).max(0));
    if filter.is_empty() {
        anyhow::bail!(
            "say which rows: give their ids, or at least one of --status, --object, \
             --subject, --event, --since"
        );
    }
    Ok(filter)
}

fn id_list(ids: &[i64]) -> String {
    const SHOWN: usize = 20;
    if ids.is_empty() {
        return String::new();
    }
    let mut shown: Vec<String> = ids.iter().take(SHOWN).map(i64::to_string).collect();
    if ids.len() > SHOWN {
        shown.push(format!("and {} more", ids.len() - SHOWN));
    }
    format!(": {}", shown.join(", "))
}
