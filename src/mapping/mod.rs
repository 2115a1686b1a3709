//! Declarative YAML mappings from Strex forwards to Salesforce upserts.
//!
//! A mapping set is every `*.yaml` file directly inside the mappings folder. It is loaded and
//! compiled as a whole, so that a set is either entirely valid or not used at all.

pub mod cases;
mod compile;
pub mod condition;
pub mod context;
mod filters;
pub mod live;
mod model;
mod plan;
pub mod preview;
mod targets;
mod template;
mod value_map;

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use model::Operation;
pub use plan::{Plan, PlanError, PlannedUpsert};
pub use targets::{FieldTarget, StepTarget};

use crate::forward::{Forward, NumberingPlan};
use compile::CompiledMapping;
use template::Templates;

/// A line and column (both from 1) in a mapping file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    pub(crate) fn of(location: &serde_saphyr::Location) -> Position {
        Position {
            line: location.line() as usize,
            column: location.column() as usize,
        }
    }
}

/// One problem in a mapping file, with its position when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub file: Option<PathBuf>,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl Issue {
    pub(crate) fn at(location: &serde_saphyr::Location, message: impl Into<String>) -> Issue {
        Issue {
            file: None,
            line: location.line() as usize,
            column: location.column() as usize,
            message: message.into(),
        }
    }
}

impl fmt::Display for Issue {
    /// `file:line:column: message`, the form editors and terminals turn into links.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}:", file.display())?;
        }
        // A problem with the folder itself has no position in any file.
        if self.line == 0 {
            return write!(f, " {}", self.message);
        }
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Problems found while compiling one file.
pub(crate) type IssueSink = Vec<Issue>;

/// The mapping set could not be loaded; every problem found is listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    pub issues: Vec<Issue>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.issues.iter().map(Issue::to_string).collect();
        write!(f, "{}", lines.join("\n"))
    }
}

/// Settings that change how values are rendered.
#[derive(Debug, Clone)]
pub struct MappingSettings {
    pub numbering_plan: NumberingPlan,
    /// The zone whose calendar the `date` filter uses.
    pub time_zone: chrono_tz::Tz,
}

impl Default for MappingSettings {
    fn default() -> Self {
        MappingSettings {
            numbering_plan: NumberingPlan::default(),
            time_zone: chrono_tz::Europe::Oslo,
        }
    }
}

/// A mapping file's name and text.
#[derive(Debug, Clone)]
pub struct MappingSource {
    pub path: PathBuf,
    pub text: String,
}

/// A compiled, valid set of mapping files.
pub struct MappingSet {
    mappings: Vec<CompiledMapping>,
    templates: Templates,
    version: String,
}

impl fmt::Debug for MappingSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MappingSet")
            .field("mappings", &self.names())
            .field("version", &self.version)
            .finish()
    }
}

impl MappingSet {
    /// Loads every `*.yaml` and `*.yml` file directly inside `dir`, in file-name order.
    pub fn load_dir(dir: &Path, settings: &MappingSettings) -> Result<MappingSet, LoadError> {
        let sources = read_dir(dir).map_err(|message| LoadError {
            issues: vec![Issue {
                file: Some(dir.to_owned()),
                line: 0,
                column: 0,
                message,
            }],
        })?;
        MappingSet::from_sources(sources, settings)
    }

    /// Compiles mapping sources; all of them must be valid.
    pub fn from_sources(
        mut sources: Vec<MappingSource>,
        settings: &MappingSettings,
    ) -> Result<MappingSet, LoadError> {
        sources.sort_by(|a, b| a.path.file_name().cmp(&b.path.file_name()));
        let mut templates = Templates::new(&settings.numbering_plan, settings.time_zone);
        let mut mappings = Vec::new();
        let mut issues = Vec::new();
        for source in &sources {
            let mut file_issues = Vec::new();
            if let Some(mapping) = compile_source(source, &mut templates, &mut file_issues) {
                mappings.push(mapping);
            }
            issues.extend(file_issues.into_iter().map(|issue| Issue {
                file: Some(source.path.clone()),
                ..issue
            }));
        }
        if !issues.is_empty() {
            return Err(LoadError { issues });
        }
        Ok(MappingSet {
            mappings,
            templates,
            version: version_of(&sources),
        })
    }

    /// Plans the upserts for a forward received now.
    pub fn plan(&self, forward: &Forward) -> Result<Plan, PlanError> {
        self.plan_at(forward, chrono::Utc::now())
    }

    /// Plans the upserts for a forward received at `received_at`.
    pub fn plan_at(
        &self,
        forward: &Forward,
        received_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Plan, PlanError> {
        plan::plan(&self.mappings, &self.templates, forward, received_at)
    }

    /// Content hash of the files, recorded on every row this set plans.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Each mapping's name and description, in the order they apply.
    pub fn summaries(&self) -> Vec<(&str, Option<&str>)> {
        self.mappings
            .iter()
            .map(|m| (m.name.as_str(), m.description.as_deref()))
            .collect()
    }

    /// Every upsert step of every rule, with what it writes and where it is written.
    pub fn targets(&self) -> Vec<StepTarget<'_>> {
        targets::of(&self.mappings)
    }

    /// Mapping names in the order they apply.
    pub fn names(&self) -> Vec<&str> {
        self.mappings.iter().map(|m| m.name.as_str()).collect()
    }
}

fn compile_source(
    source: &MappingSource,
    templates: &mut Templates,
    issues: &mut IssueSink,
) -> Option<CompiledMapping> {
    let file: model::MappingFile =
        match serde_saphyr::from_str_with_options(&source.text, yaml_options()) {
            Ok(file) => file,
            Err(error) => {
                issues.push(yaml_issue(&error));
                return None;
            }
        };
    let default_name = source
        .path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    Some(compile::compile(
        file,
        &source.path,
        &default_name,
        templates,
        issues,
    ))
}

/// How mapping files are read: only `true` and `false` are booleans (YAML 1.2). Under YAML
/// 1.1 rules `NO` (Norway's country code), `yes`, `on` and `off` would silently become
/// booleans.
pub(crate) fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = true;
    options
}

fn yaml_issue(error: &serde_saphyr::Error) -> Issue {
    let location = error.location();
    let message = yaml_message(&error.to_string());
    Issue {
        file: None,
        line: location.map_or(0, |l| l.line() as usize),
        column: location.map_or(0, |l| l.column() as usize),
        message: with_suggestion(message),
    }
}

/// The parser's message without its own `error: line L column C:` prefix (the position is
/// reported in front of every issue anyway).
fn yaml_message(text: &str) -> String {
    let first = text.lines().next().unwrap_or_default();
    let without_label = first.strip_prefix("error: ").unwrap_or(first);
    match without_label
        .strip_prefix("line ")
        .and_then(|rest| rest.split_once(": "))
    {
        Some((_, message)) => message.to_owned(),
        None => without_label.to_owned(),
    }
}

/// Adds "did you mean" to an unknown-key message: a typo such as `feilds` names `fields`.
fn with_suggestion(message: String) -> String {
    if let Some(rest) = message.strip_prefix("duplicate mapping key") {
        let key = rest
            .trim_start_matches(':')
            .split(", set ")
            .next()
            .unwrap_or_default()
            .trim();
        return format!("key `{key}` is written twice; keep one");
    }
    let (what, rest) = match (
        message.strip_prefix("unknown field `"),
        message.strip_prefix("unknown variant `"),
    ) {
        (Some(rest), _) => ("key", rest),
        (None, Some(rest)) => ("value", rest),
        _ => return message,
    };
    let Some((unknown, expected)) = rest
        .split_once("`, expected one of ")
        .or_else(|| rest.split_once("`, expected "))
    else {
        return message;
    };
    // The expected names, whether listed as "a, b" or as "`a` or `b`".
    let names: Vec<&str> = if expected.contains('`') {
        expected.split('`').skip(1).step_by(2).collect()
    } else {
        expected.split(", ").collect()
    };
    let best = names
        .into_iter()
        .map(|key| (strsim::jaro_winkler(unknown, key), key))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    match best {
        Some((_, key)) => {
            format!(
                "unknown {what} `{unknown}`; did you mean `{key}`? (expected one of {expected})"
            )
        }
        None => format!("unknown {what} `{unknown}` (expected one of {expected})"),
    }
}

fn read_dir(dir: &Path) -> Result<Vec<MappingSource>, String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| format!("cannot read the mappings folder: {error}"))?;
    let mut sources = Vec::new();
    for entry in entries {
        let path = entry.map_err(|error| error.to_string())?.path();
        let is_yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        if !is_yaml || !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        sources.push(MappingSource { path, text });
    }
    if sources.is_empty() {
        return Err("the mappings folder holds no *.yaml file".to_owned());
    }
    Ok(sources)
}

/// A short, stable hash of every file's name and content.
fn version_of(sources: &[MappingSource]) -> String {
    let mut hasher = Sha256::new();
    for source in sources {
        let name = source
            .path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        hasher.update(name.as_bytes());
        hasher.update([0]);
        hasher.update(source.text.as_bytes());
        hasher.update([0]);
    }
    hex::encode(&hasher.finalize()[..6])
}

#[cfg(test)]
mod tests;
