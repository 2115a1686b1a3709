//! Tables for people reading the terminal.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde_json::Value;

use crate::store::{ApiUsageReading, Backlog, SyncLogEntry};

/// The sync log as a table, one row per sync_log row.
pub fn sync_log_table(entries: &[SyncLogEntry]) -> Table {
    let mut table = new_table();
    table.set_header([
        "id",
        "event",
        "mapping / rule",
        "object",
        "external id",
        "status",
        "attempts",
        "salesforce id",
        "error",
    ]);
    for entry in entries {
        let salesforce_id = match (&entry.salesforce_id, entry.created_in_salesforce) {
            (Some(id), Some(true)) => format!("{id} (created)"),
            (Some(id), _) => format!("{id} (updated)"),
            (None, _) => String::new(),
        };
        let error = match (&entry.error_code, &entry.error_message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.clone(),
            _ => String::new(),
        };
        table.add_row([
            entry.id.to_string(),
            format!("{} {}", entry.event_kind, entry.event_id),
            format!("{} / {}", entry.mapping, entry.rule),
            entry.sobject.clone(),
            format!("{}={}", entry.external_id_field, entry.external_id),
            entry.status.clone(),
            entry.attempts.to_string(),
            salesforce_id,
            error,
        ]);
    }
    table
}

/// `strexforce status` for people: rows per status, the oldest open row, API usage.
pub fn status_text(backlog: &Backlog, usage: Option<&ApiUsageReading>) -> String {
    let mut table = new_table();
    table.set_header(["sync_log status", "rows"]);
    for (status, rows) in &backlog.by_status {
        let note = match status.as_str() {
            "pending" if backlog.retrying > 0 => {
                format!("{rows} ({} waiting to be retried)", backlog.retrying)
            }
            _ => rows.to_string(),
        };
        table.add_row([status.clone(), note]);
    }
    let oldest = match (backlog.oldest_open_at, backlog.oldest_open_age()) {
        (Some(at), Some(age)) => format!(
            "planned {} ago ({})",
            human_age(age),
            at.format("%Y-%m-%d %H:%M:%S UTC")
        ),
        _ => "none; nothing is waiting".to_owned(),
    };
    format!(
        "{table}\nOldest row pending or in flight: {oldest}\n{}",
        usage_text(backlog, usage)
    )
}

fn usage_text(backlog: &Backlog, usage: Option<&ApiUsageReading>) -> String {
    let Some(usage) = usage else {
        return "Salesforce API usage: no reading yet (serve saves one while it sends)".to_owned();
    };
    let mut text = format!(
        "Salesforce API usage: {} of {} calls in 24 h ({:.1} %), read {} ago by {}",
        usage.used,
        usage.allocation,
        usage.share() * 100.0,
        human_age(backlog.now - usage.observed_at),
        usage.observed_by
    );
    if let Some(at) = usage.limit_exceeded_at {
        text.push_str(&format!(
            "\nLast REQUEST_LIMIT_EXCEEDED: {} ago ({})",
            human_age(backlog.now - at),
            at.format("%Y-%m-%d %H:%M:%S UTC")
        ));
    }
    text
}

/// `3 d 4 h`, `5 min 12 s`: the two largest units.
fn human_age(age: chrono::Duration) -> String {
    let seconds = age.num_seconds().max(0);
    let units = [(86_400, "d"), (3_600, "h"), (60, "min"), (1, "s")];
    let parts: Vec<String> = units
        .iter()
        .scan(seconds, |left, (size, unit)| {
            let count = *left / size;
            *left %= size;
            Some((count, *unit))
        })
        .skip_while(|(count, _)| *count == 0)
        .take(2)
        .filter(|(count, _)| *count > 0)
        .map(|(count, unit)| format!("{count} {unit}"))
        .collect();
    if parts.is_empty() {
        "0 s".to_owned()
    } else {
        parts.join(" ")
    }
}

/// Records of one object as a two-column table: the record's id and its fields.
pub fn records_table(records: &[Value]) -> Table {
    let mut table = new_table();
    table.set_header(["Id", "fields"]);
    for record in records {
        let Some(fields) = record.as_object() else {
            continue;
        };
        let id = fields
            .get("Id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let lines: Vec<String> = fields
            .iter()
            .filter(|(name, value)| !is_system_field(name) && !value.is_null())
            .map(|(name, value)| format!("{name}: {}", display_value(value)))
            .collect();
        table.add_row([id, lines.join("\n")]);
    }
    table
}

fn new_table() -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    table
}

fn is_system_field(name: &str) -> bool {
    matches!(
        name,
        "Id" | "attributes" | "CreatedDate" | "LastModifiedDate" | "SystemModstamp"
    )
}

fn display_value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_show_their_two_largest_units() {
        assert_eq!(
            human_age(chrono::Duration::seconds(3 * 86_400 + 4 * 3600 + 5)),
            "3 d 4 h"
        );
        assert_eq!(human_age(chrono::Duration::seconds(312)), "5 min 12 s");
        assert_eq!(human_age(chrono::Duration::seconds(3600)), "1 h");
        assert_eq!(human_age(chrono::Duration::zero()), "0 s");
    }
}
