//! Text: `default` (for missing, null and empty values alike) and `truncate_utf16` (to a
//! Salesforce field length).

use minijinja::{Environment, Error, Value};
use unicode_segmentation::UnicodeSegmentation;

use super::{as_text, is_missing};

pub fn register(env: &mut Environment<'static>) {
    // Replaces the built-in `default`, which leaves null values alone: for a mapping a null
    // property and a missing one mean the same thing.
    env.add_filter("default", |value: Value, fallback: Option<Value>| {
        let empty = value.as_str().is_some_and(str::is_empty);
        if is_missing(&value) || empty {
            fallback.unwrap_or_default()
        } else {
            value
        }
    });
    env.add_filter("truncate_utf16", truncate_utf16);
}

/// Shortens text to at most `limit` UTF-16 code units, the way Salesforce measures field
/// lengths, cutting only between user-perceived characters: an emoji or a flag is kept whole
/// or dropped whole.
fn truncate_utf16(value: Value, limit: usize) -> Result<Value, Error> {
    if is_missing(&value) {
        return Ok(value);
    }
    let text = as_text(&value, "truncate_utf16")?;
    let mut used = 0;
    let mut kept = String::with_capacity(text.len());
    for grapheme in text.graphemes(true) {
        let units = grapheme.encode_utf16().count();
        if used + units > limit {
            break;
        }
        used += units;
        kept.push_str(grapheme);
    }
    Ok(Value::from(kept))
}

#[cfg(test)]
mod tests {
    use crate::mapping::filters::tests::render;
    use minijinja::context;

    #[test]
    fn default_replaces_missing_null_and_empty_values() {
        let ctx = context!(null => (), empty => "", set => "Kari");

        assert_eq!(render("{{ missing | default('x') }}", ctx.clone()), "x");
        assert_eq!(render("{{ null | default('x') }}", ctx.clone()), "x");
        assert_eq!(render("{{ empty | default('x') }}", ctx.clone()), "x");
        assert_eq!(render("{{ set | default('x') }}", ctx), "Kari");
    }

    #[test]
    fn truncation_counts_utf16_units_and_never_splits_a_character() {
        // The heart is 2 UTF-16 units, the flag 4 (two regional indicators).
        let ctx = context!(t => "Takk 💛🇳🇴");

        assert_eq!(
            render("{{ t | truncate_utf16(7) }}", ctx.clone()),
            "Takk 💛"
        );
        assert_eq!(
            render("{{ t | truncate_utf16(10) }}", ctx.clone()),
            "Takk 💛"
        );
        assert_eq!(
            render("{{ t | truncate_utf16(11) }}", ctx.clone()),
            "Takk 💛🇳🇴"
        );
        assert_eq!(render("{{ t | truncate_utf16(6) }}", ctx), "Takk ");
    }
}
