//! `strexforce mappings check | preview | test`: working on mapping files without Postgres or
//! Salesforce.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::MappingArgs;
use crate::forward::ForwardKind;
use crate::mapping::cases::run_dir;
use crate::mapping::preview::preview;
use crate::mapping::{Issue, MappingSet, schema_check};
use crate::salesforce::schema_file;

#[derive(Debug, Clone, Args)]
pub struct MappingsCommand {
    #[command(subcommand)]
    action: MappingsAction,
}

#[derive(Debug, Clone, Subcommand)]
enum MappingsAction {
    /// Validate every mapping file; print each problem as file:line:column: message.
    Check {
        #[command(flatten)]
        mappings: MappingArgs,
        /// Schema file (emulator format) to check objects, fields and values against;
        /// the schema bundled with the emulator when not given.
        #[arg(long)]
        schema: Option<PathBuf>,
    },
    /// Print, as JSON, what a forward would become.
    Preview {
        #[command(flatten)]
        mappings: MappingArgs,
        /// The kind of forward in FILE.
        #[arg(long, value_parser = ["mo", "dlr"])]
        kind: String,
        /// When the forward counts as received (the `received_at` variable); now if not given.
        #[arg(long)]
        received_at: Option<chrono::DateTime<chrono::Utc>>,
        /// A forward body, as Strex would post it.
        file: PathBuf,
    },
    /// Run the test cases kept beside the mappings.
    Test {
        #[command(flatten)]
        mappings: MappingArgs,
        /// Folder of test case files; `<mappings>/tests` when not given.
        #[arg(long)]
        cases: Option<PathBuf>,
    },
}

pub fn run(command: MappingsCommand) -> anyhow::Result<ExitCode> {
    match command.action {
        MappingsAction::Check { mappings, schema } => check(&mappings, schema),
        MappingsAction::Preview {
            mappings,
            kind,
            received_at,
            file,
        } => {
            let received_at = received_at.unwrap_or_else(chrono::Utc::now);
            preview_file(&mappings, &kind, &file, received_at)
        }
        MappingsAction::Test { mappings, cases } => test(&mappings, cases),
    }
}

fn load(args: &MappingArgs) -> Result<MappingSet, Vec<Issue>> {
    MappingSet::load_dir(&args.mappings_dir, &args.settings()).map_err(|error| error.issues)
}

fn check(args: &MappingArgs, schema: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let objects = match &schema {
        Some(path) => schema_file::load(path).map_err(anyhow::Error::msg)?,
        None => schema_file::builtin(),
    };
    let issues = match load(args) {
        Ok(set) => schema_check::check(&set.targets(), &objects),
        Err(issues) => issues,
    };
    for issue in &issues {
        println!("{issue}");
    }
    if issues.is_empty() {
        println!("{}: mappings are valid", args.mappings_dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("{} problem(s) found", issues.len());
    Ok(ExitCode::FAILURE)
}

fn preview_file(
    args: &MappingArgs,
    kind: &str,
    file: &PathBuf,
    received_at: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<ExitCode> {
    let set = load(args).map_err(issues_error)?;
    let kind = ForwardKind::parse(kind).unwrap_or(ForwardKind::Mo);
    let body = std::fs::read(file)
        .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", file.display()))?;
    let numbering_plan = args.settings().numbering_plan;
    let result = preview(&set, kind, &body, &numbering_plan, received_at).map_err(|error| {
        anyhow::anyhow!("{}: not a valid {kind} forward: {error}", file.display())
    })?;
    let text = serde_json::to_string_pretty(&result)? + "\n";
    // A reader that stops early (`| head`) is not an error worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    Ok(ExitCode::SUCCESS)
}

fn test(args: &MappingArgs, cases: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let set = load(args).map_err(issues_error)?;
    let dir = cases.unwrap_or_else(|| args.mappings_dir.join("tests"));
    let results =
        run_dir(&set, &dir, &args.settings().numbering_plan).map_err(anyhow::Error::msg)?;
    let failed = results.iter().filter(|r| r.failure.is_some()).count();
    for result in &results {
        match &result.failure {
            None => println!("ok    {}: {}", result.file.display(), result.name),
            Some(failure) => {
                println!("FAIL  {}: {}", result.file.display(), result.name);
                for line in failure.lines() {
                    println!("      {line}");
                }
            }
        }
    }
    println!("\n{} passed, {failed} failed", results.len() - failed);
    Ok(if failed == 0 && !results.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn issues_error(issues: Vec<Issue>) -> anyhow::Error {
    let lines: Vec<String> = issues.iter().map(Issue::to_string).collect();
    anyhow::anyhow!("the mappings are not valid:\n{}", lines.join("\n"))
}
