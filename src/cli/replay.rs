//! `strexforce replay`: plan stored events again, one by id or many by status.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use clap::{ArgGroup, Args};

use super::filter::since;
use super::{DatabaseArgs, MappingArgs};
use crate::forward::NumberingPlan;
use crate::mapping::MappingSet;
use crate::replay::{ReplayOptions, ReplayReport, replay};
use crate::store::Store;
use crate::store::replay::ReplaySelection;

#[derive(Debug, Clone, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["event", "status"])))]
pub struct ReplayArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(flatten)]
    mappings: MappingArgs,
    /// The inbound_event ids to plan again (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    event: Vec<i64>,
    /// Or every event in these statuses (comma-separated): unmapped, plan_failed, rejected,
    /// planned.
    #[arg(long, value_delimiter = ',', value_parser = replayable_status)]
    status: Vec<String>,
    /// With --status: only events received since then (a time, a date or an age like 2h).
    #[arg(long, value_parser = since, requires = "status")]
    since: Option<DateTime<Utc>>,
    /// With --status: plan at most this many events, oldest first.
    #[arg(long, default_value_t = 1000, requires = "status")]
    limit: i64,
    /// Show what would change without writing anything.
    #[arg(long)]
    dry_run: bool,
    /// Replay events even when later events have written the same records since; their
    /// newer data in Salesforce is then overwritten with the older state.
    #[arg(long)]
    force: bool,
    /// Print the reports as JSON.
    #[arg(long)]
    json: bool,
}

/// A superseded report is left out: planning it would write an older state over a newer one.
fn replayable_status(text: &str) -> Result<String, String> {
    match text.trim() {
        status @ ("unmapped" | "plan_failed" | "rejected" | "planned") => Ok(status.to_owned()),
        "superseded" => Err(
            "superseded reports are not replayed: a later report of their \
                             transaction was stored, and planning them would undo it"
                .to_owned(),
        ),
        other => Err(format!(
            "unknown event status {other}; one of unmapped, plan_failed, rejected, planned"
        )),
    }
}

pub async fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let settings = args.mappings.settings();
    let mappings = MappingSet::load_dir(&args.mappings.mappings_dir, &settings)
        .map_err(|error| anyhow::anyhow!("the mappings are not valid:\n{error}"))?;
    let store = Store::connect(&args.database.database_url, &args.database.pool()).await?;
    let events = selected_events(&store, &args).await?;
    let run = ReplayRun {
        store: &store,
        mappings: &mappings,
        plan: &settings.numbering_plan,
        args: &args,
    };
    let refused = run.replay_each(&events).await?;
    if events.len() != 1 || refused > 0 {
        eprintln!(
            "{} of {} event(s) {}, {refused} refused",
            events.len() - refused,
            events.len(),
            if args.dry_run {
                "would be planned again"
            } else {
                "planned again"
            }
        );
    }
    Ok(if refused == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn selected_events(store: &Store, args: &ReplayArgs) -> anyhow::Result<Vec<i64>> {
    if !args.event.is_empty() {
        // An id given twice is replayed once, in the order first given.
        let mut seen = std::collections::HashSet::new();
        return Ok(args
            .event
            .iter()
            .copied()
            .filter(|id| seen.insert(*id))
            .collect());
    }
    let selection = ReplaySelection {
        statuses: args.status.clone(),
        since: args.since,
        limit: args.limit,
    };
    Ok(store.events_to_replay(&selection).await?)
}

struct ReplayRun<'a> {
    store: &'a Store,
    mappings: &'a MappingSet,
    plan: &'a NumberingPlan,
    args: &'a ReplayArgs,
}

impl ReplayRun<'_> {
    /// Replays each event in turn; one that is refused is reported and the rest still run.
    /// Returns how many were refused. Only a lost database stops the run.
    async fn replay_each(&self, events: &[i64]) -> anyhow::Result<usize> {
        let mut refused = 0;
        for &event_id in events {
            match replay(
                self.store,
                self.mappings,
                self.plan,
                event_id,
                ReplayOptions {
                    dry_run: self.args.dry_run,
                    force: self.args.force,
                },
            )
            .await
            {
                Ok(report) => self.print(&report)?,
                Err(failure) if failure.is_about_the_event() => {
                    refused += 1;
                    eprintln!("event {event_id}: not replayed: {failure}");
                }
                Err(failure) => return Err(failure.into()),
            }
        }
        Ok(refused)
    }

    fn print(&self, report: &ReplayReport) -> anyhow::Result<()> {
        if self.args.json {
            println!("{}", serde_json::to_string(report)?);
        } else {
            print!("{}", describe(report, self.args.dry_run));
        }
        Ok(())
    }
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
