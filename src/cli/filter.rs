//! The row filter shared by `log`, `retry` and `ignore`.

use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;

use crate::store::{LogFilter, RowStatus};

#[derive(Debug, Clone, Args)]
pub struct RowFilterArgs {
    /// Only rows in these statuses (comma-separated or repeated): pending, in_flight,
    /// succeeded, failed, dead, skipped, ignored.
    #[arg(long, value_delimiter = ',', value_parser = status)]
    pub status: Vec<String>,
    /// Only rows for this Salesforce object, such as Contact.
    #[arg(long)]
    pub object: Option<String>,
    /// Only rows of this subject (a subscriber's MSISDN in E.164, such as +4798079008).
    #[arg(long)]
    pub subject: Option<String>,
    /// Only rows planned from these events (inbound_event ids; comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    pub event: Vec<i64>,
    /// Only rows planned since then: a time (2025-03-12T14:00:00Z), a date (2025-03-12, UTC)
    /// or an age (30m, 2h, 7d).
    #[arg(long, value_parser = since)]
    pub since: Option<DateTime<Utc>>,
}

impl RowFilterArgs {
    pub fn filter(&self, ids: &[i64], limit: i64) -> LogFilter {
        LogFilter {
            ids: non_empty(ids.to_vec()),
            event_ids: non_empty(self.event.clone()),
            statuses: non_empty(self.status.clone()),
            sobject: self.object.clone(),
            subject: self.subject.clone(),
            since: self.since,
            limit,
            latest: false,
        }
    }
}

fn non_empty<T>(items: Vec<T>) -> Option<Vec<T>> {
    (!items.is_empty()).then_some(items)
}

fn status(text: &str) -> Result<String, String> {
    RowStatus::parse(text.trim())
        .map(|status| status.as_str().to_owned())
        .ok_or_else(|| {
            let known: Vec<&str> = RowStatus::ALL.iter().map(|s| s.as_str()).collect();
            format!("unknown status {text}; one of {}", known.join(", "))
        })
}

/// A point in time, a date, or an age back from now.
pub fn since(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&Utc));
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    }
    let age = age(text).ok_or_else(|| {
        format!("{text} is neither a time (2025-03-12T14:00:00Z), a date nor an age (2h)")
    })?;
    Utc::now()
        .checked_sub_signed(age)
        .ok_or_else(|| format!("{text} reaches back before any date strexforce can handle"))
}

fn age(text: &str) -> Option<chrono::Duration> {
    let unit_at = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(unit_at);
    let number: i64 = number.parse().ok()?;
    match unit {
        "s" => chrono::Duration::try_seconds(number),
        "m" => chrono::Duration::try_minutes(number),
        "h" => chrono::Duration::try_hours(number),
        "d" => chrono::Duration::try_days(number),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_reads_times_dates_and_ages() {
        let time = since("2025-03-12T14:00:00+01:00").unwrap();
        let date = since("2025-03-12").unwrap();
        let two_hours_ago = since("2h").unwrap();

        assert_eq!(time.to_rfc3339(), "2025-03-12T13:00:00+00:00");
        assert_eq!(date.to_rfc3339(), "2025-03-12T00:00:00+00:00");
        let age = Utc::now() - two_hours_ago;
        assert!((age.num_seconds() - 7200).abs() < 5, "{age}");
        assert!(since("soon").is_err());
        assert!(since("5w").is_err());
        assert!(since("99999999d").unwrap_err().contains("reaches back"));
    }

    #[test]
    fn statuses_are_checked() {
        assert_eq!(status("dead"), Ok("dead".to_owned()));
        assert!(status("lost").is_err());
    }
}
