//! Personal data in logs: end users' numbers are masked to their last three digits unless
//! `STREXFORCE_LOG_PII=true` says the operator may see them.

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

static LOG_PII: AtomicBool = AtomicBool::new(false);

/// Digits shown at the end of a masked number: enough to tell numbers apart in a log.
const SHOWN_DIGITS: usize = 3;

/// Runs of at least this many digits in free text are taken for phone numbers.
const NUMBER_LIKE_DIGITS: usize = 7;

/// Whether logs may show personal data in full (set once at start).
pub fn set_log_pii(enabled: bool) {
    LOG_PII.store(enabled, Ordering::Relaxed);
}

pub fn log_pii() -> bool {
    LOG_PII.load(Ordering::Relaxed)
}

/// An MSISDN as a log field: `+4798079008` shows as `+*******008`.
pub struct Masked<'a>(pub &'a str);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if log_pii() {
            return f.write_str(self.0);
        }
        f.write_str(&mask_digits(self.0))
    }
}

/// Free text that may quote a number (error messages, Salesforce answers) with every run of
/// seven or more digits masked.
pub fn scrub(text: &str) -> Cow<'_, str> {
    if log_pii() || !has_number_like_run(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            run.push(ch);
            continue;
        }
        flush_run(&mut out, &mut run);
        out.push(ch);
    }
    flush_run(&mut out, &mut run);
    Cow::Owned(out)
}

fn flush_run(out: &mut String, run: &mut String) {
    if run.len() >= NUMBER_LIKE_DIGITS {
        out.push_str(&mask_digits(run));
    } else {
        out.push_str(run);
    }
    run.clear();
}

fn has_number_like_run(text: &str) -> bool {
    let mut run = 0;
    for byte in text.bytes() {
        run = if byte.is_ascii_digit() { run + 1 } else { 0 };
        if run >= NUMBER_LIKE_DIGITS {
            return true;
        }
    }
    false
}

/// Every digit but the last three replaced by `*`; other characters kept.
fn mask_digits(text: &str) -> String {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let mut seen = 0;
    text.chars()
        .map(|ch| {
            if !ch.is_ascii_digit() {
                return ch;
            }
            seen += 1;
            if seen + SHOWN_DIGITS > digits {
                ch
            } else {
                '*'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_shows_only_its_last_three_digits() {
        assert_eq!(Masked("+4798079008").to_string(), "+*******008");
        assert_eq!(Masked("2002").to_string(), "*002");
    }

    #[test]
    fn numbers_in_free_text_are_masked_and_short_ones_kept() {
        let text = "invalid type: integer `4798079008` at line 1 column 18";

        assert_eq!(
            scrub(text),
            "invalid type: integer `*******008` at line 1 column 18"
        );
        assert_eq!(
            scrub("field `price` at line 12"),
            "field `price` at line 12"
        );
    }
}
