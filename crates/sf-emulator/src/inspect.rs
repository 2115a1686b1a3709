//! Read-only views of the stored records for tests, bypassing the API and its limits.

use serde_json::Value;

use crate::field_value::display;
use crate::record_view::render;
use crate::state::Emulator;

/// Every record of `object`, oldest first, or `None` for an unknown object.
pub(crate) fn records(state: &Emulator, object: &str) -> Option<Vec<Value>> {
    let object = state.schema.object(object)?;
    let store = state.store();
    let rendered = store
        .records(&object.name)
        .iter()
        .map(|record| render(object, record, None, None))
        .collect();
    Some(rendered)
}

/// Records whose `field`, shown as text, equals `value` exactly.
pub(crate) fn find(state: &Emulator, object: &str, field: &str, value: &str) -> Option<Vec<Value>> {
    let field_name = state.schema.object(object)?.field(field)?.name.clone();
    let found = records(state, object)?
        .into_iter()
        .filter(|record| {
            record
                .get(&field_name)
                .is_some_and(|v| !v.is_null() && display(v) == value)
        })
        .collect();
    Some(found)
}
