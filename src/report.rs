//! Tables for people reading the terminal.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde_json::Value;

use crate::store::SyncLogEntry;

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
