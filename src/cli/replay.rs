//! `strexforce replay --event ID`.

use std::process::ExitCode;

use clap::Args;

use super::{DatabaseArgs, MappingArgs};
use crate::mapping::MappingSet;
use crate::replay::{ReplayReport, replay};
use crate::store::Store;

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    mappings: MappingArgs,
    /// The inbound_event to plan again.
    #[arg(long)]
    event: i64,
    /// Show what would change without writing anything.
    #[arg(long)]
    dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let settings = args.mappings.settings();
    let mappings = MappingSet::load_dir(&args.mappings.mappings_dir, &settings)
        .map_err(|error| anyhow::anyhow!("the mappings are not valid:\n{error}"))?;
    let store = Store::connect(&args.database.database_url, &args.database.pool()).await?;
    let report = replay(
        &store,
        &mappings,
        &settings.numbering_plan,
        args.event,
        args.dry_run,
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", describe(&report, args.dry_run));
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(report: &ReplayReport, dry_run: bool) -> String {
    let verb = if dry_run { "would become" } else { "is now" };
    let mut text = format!(
        "event {}: was {}, {verb} {} (mappings {})\n",
        report.event_id, report.previous_status, report.status, report.mapping_version
    );
    if let Some(error) = &report.error {
        text += &format!("  plan error: {error}\n");
    }
    if !report.ignored_rows.is_empty() {
        text += &format!("  rows set aside as ignored: {:?}\n", report.ignored_rows);
    }
    let ids = report
        .added_rows
        .iter()
        .map(Some)
        .chain(std::iter::repeat(None));
    for (upsert, id) in report.upserts.iter().zip(ids) {
        let row = id.map(|id| format!("row {id}: ")).unwrap_or_default();
        text += &format!(
            "  {row}{} {} {}={} ({} / {})\n",
            upsert.operation.as_str(),
            upsert.sobject,
            upsert.external_id_field,
            upsert.external_id,
            upsert.mapping,
            upsert.rule
        );
    }
    text
}
