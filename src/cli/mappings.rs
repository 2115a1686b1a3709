//! `strexforce mappings check | preview | test`: working on mapping files without Postgres or
//! Salesforce.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::{MappingArgs, SalesforceArgs};
use crate::forward::ForwardKind;
use crate::mapping::cases::run_dir;
use crate::mapping::preview::preview;
use crate::mapping::{Issue, MappingSet};
use crate::salesforce::org_check::{self, Described, Severity};
use crate::salesforce::{SalesforceClient, schema_file};

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
        #[arg(long, conflicts_with = "describe_from_salesforce")]
        schema: Option<PathBuf>,
        /// Check against the org itself: log in with the SF_* settings and describe every
        /// object the mappings write, as `strexforce salesforce check` does.
        #[arg(long)]
        describe_from_salesforce: bool,
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

pub async fn run(command: MappingsCommand) -> anyhow::Result<ExitCode> {
    match command.action {
        MappingsAction::Check {
            mappings,
            schema,
            describe_from_salesforce,
        } => check(&mappings, schema, describe_from_salesforce).await,
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

async fn check(
    args: &MappingArgs,
    schema: Option<PathBuf>,
    from_salesforce: bool,
) -> anyhow::Result<ExitCode> {
    let set = match load(args) {
        Ok(set) => set,
        Err(issues) => return Ok(report_issues(&issues)),
    };
    let targets = set.targets();
    let described = match (schema, from_salesforce) {
        (_, true) => describe_from_salesforce(&targets).await?,
        (Some(path), false) => {
            Described::from_descriptions(schema_file::load(&path).map_err(anyhow::Error::msg)?)
        }
        (None, false) => Described::from_descriptions(schema_file::builtin()),
    };
    let mut findings = org_check::check(&targets, |name| described.lookup(name));
    // In the order a reader meets them in the files.
    findings
        .sort_by(|a, b| (&a.file, a.at.line, a.at.column).cmp(&(&b.file, b.at.line, b.at.column)));
    for finding in &findings {
        println!("{finding}");
    }
    let errors = findings
        .iter()
        .filter(|f| f.severity() == Severity::Error)
        .count();
    if errors == 0 {
        println!(
            "{}: mappings are valid ({} warning(s))",
            args.mappings_dir.display(),
            findings.len()
        );
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("{errors} error(s), {} warning(s)", findings.len() - errors);
    Ok(ExitCode::FAILURE)
}

fn report_issues(issues: &[Issue]) -> ExitCode {
    for issue in issues {
        println!("{issue}");
    }
    eprintln!("{} problem(s) found", issues.len());
    ExitCode::FAILURE
}

/// Logs in with the SF_* settings from the environment, as `salesforce check` does.
async fn describe_from_salesforce(
    targets: &[crate::mapping::StepTarget<'_>],
) -> anyhow::Result<Described> {
    #[derive(clap::Parser)]
    struct FromEnvironment {
        #[command(flatten)]
        salesforce: SalesforceArgs,
    }
    let settings =
        <FromEnvironment as clap::Parser>::try_parse_from(["strexforce"]).map_err(|error| {
            anyhow::anyhow!("--describe-from-salesforce needs the SF_* settings: {error}")
        })?;
    let client = SalesforceClient::new(&settings.salesforce.config()?)?;
    client
        .log_in()
        .await
        .map_err(|error| anyhow::anyhow!("cannot log in to Salesforce: {error}"))?;
    Ok(Described::from_org(&client, targets).await?)
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
    if results.is_empty() {
        anyhow::bail!(
            "{} holds no cases; add a YAML file of cases (see docs/mappings.md)",
            dir.display()
        );
    }
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
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn issues_error(issues: Vec<Issue>) -> anyhow::Error {
    let lines: Vec<String> = issues.iter().map(Issue::to_string).collect();
    anyhow::anyhow!("the mappings are not valid:\n{}", lines.join("\n"))
}
