//! `strexforce salesforce check`: logs in with the configured flow, shows the org, and
//! checks every object and field the mappings write against the org's describe results.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use super::{MappingArgs, SalesforceArgs};
use crate::mapping::MappingSet;
use crate::salesforce::org_check::{self, Finding, Severity};
use crate::salesforce::{ApiVersionInfo, SalesforceClient};

/// Exit code when the login fails, so scripts can tell it from findings.
const LOGIN_FAILED: u8 = 2;

#[derive(Debug, Subcommand)]
pub enum SalesforceCommand {
    /// Log in, show the org's instance, API version and usage, and check that every object
    /// and field the mappings write exists and is writable. Exits non-zero on any error.
    Check(Box<CheckArgs>),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub salesforce: SalesforceArgs,
    #[command(flatten)]
    pub mappings: MappingArgs,
}

pub async fn run(command: SalesforceCommand) -> anyhow::Result<ExitCode> {
    match command {
        SalesforceCommand::Check(args) => check(*args).await,
    }
}

async fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let config = args.salesforce.config()?;
    let dir = &args.mappings.mappings_dir;
    let mappings = MappingSet::load_dir(dir, &args.mappings.settings()).map_err(|error| {
        anyhow::anyhow!("the mappings in {} are not valid:\n{error}", dir.display())
    })?;
    let client = SalesforceClient::new(&config)?;
    if let Err(error) = client.log_in().await {
        println!("cannot log in to Salesforce: {error}");
        return Ok(ExitCode::from(LOGIN_FAILED));
    }
    let version_ok = print_org(&client).await?;
    let targets = mappings.targets();
    let described = org_check::Described::from_org(&client, &targets).await?;
    let findings = org_check::check(&targets, |name| described.lookup(name));
    println!(
        "\nmappings in {}: {} upsert step(s), {} object(s) described",
        dir.display(),
        targets.len(),
        described.count()
    );
    print_findings(&findings);
    let failed = !version_ok || findings.iter().any(|f| f.severity() == Severity::Error);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Prints the login, instance, API version and usage; false when the org does not serve
/// the configured API version.
async fn print_org(client: &SalesforceClient) -> anyhow::Result<bool> {
    let instance = client.instance_url().await?;
    let versions = client
        .versions()
        .await
        .context("reading the org's API versions")?;
    let wanted = client.api_version();
    let served = versions.iter().find(|v| v.version == wanted);
    println!("logged in with {} to {instance}", client.flow());
    println!("  API version  {}", version_line(wanted, served, &versions));
    match client.limits().await {
        Ok(limits) => match limits.daily_api_usage() {
            Some(usage) => println!("  API usage    {usage} of the daily requests"),
            None => println!("  API usage    not reported"),
        },
        // Reading limits needs "View Setup and Configuration"; its absence is not a
        // mapping problem.
        Err(error) => println!("  API usage    unknown ({error})"),
    }
    Ok(served.is_some())
}

fn version_line(wanted: &str, served: Option<&ApiVersionInfo>, all: &[ApiVersionInfo]) -> String {
    let range = match (all.first(), all.last()) {
        (Some(oldest), Some(newest)) => {
            format!("the org serves {} to {}", oldest.version, newest.version)
        }
        _ => "the org lists no versions".to_owned(),
    };
    match served {
        Some(info) => format!("{wanted} ({}); {range}", info.label),
        None => format!("{wanted} is NOT served (check SF_API_VERSION); {range}"),
    }
}

fn print_findings(findings: &[Finding]) {
    if findings.is_empty() {
        println!(
            "no problems found: every object and field the mappings write is there and writable"
        );
        return;
    }
    println!("{}", findings_table(findings));
    let errors = findings
        .iter()
        .filter(|f| f.severity() == Severity::Error)
        .count();
    println!("{errors} error(s), {} warning(s)", findings.len() - errors);
}

fn findings_table(findings: &[Finding]) -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(["where", "object.field", "severity", "problem"]);
    for finding in findings {
        let target = match &finding.field {
            Some(field) => format!("{}.{field}", finding.object),
            None => finding.object.clone(),
        };
        table.add_row([
            finding.location(),
            target,
            finding.severity().to_string(),
            finding.problem.to_string(),
        ]);
    }
    table
}
