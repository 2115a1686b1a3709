//! Timestamps: `datetime` (UTC, as Salesforce stores date-times) and `date` (the calendar day
//! in the configured time zone, so that a donation at 00:30 on 1 January in Oslo is dated
//! 1 January, not 31 December).

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};
use chrono_tz::Tz;
use minijinja::{Environment, Error, Value};

use super::{invalid, is_missing};

pub fn register(env: &mut Environment<'static>, time_zone: Tz) {
    env.add_filter("datetime", datetime);
    env.add_filter("date", move |value: Value, zone: Option<String>| {
        date(value, zone, time_zone)
    });
}

/// An RFC 3339 timestamp as UTC with milliseconds and `Z`. Strex writes .NET round-trip
/// timestamps with seven fractional digits and an offset; a timestamp without an offset is
/// refused rather than guessed.
fn datetime(value: Value) -> Result<Value, Error> {
    if is_missing(&value) {
        return Ok(value);
    }
    let parsed = timestamp(&value, "datetime")?;
    let utc = parsed.with_timezone(&Utc);
    Ok(Value::from(
        utc.to_rfc3339_opts(SecondsFormat::Millis, true),
    ))
}

/// The date (`YYYY-MM-DD`) of a timestamp in the configured zone or the one given. A value that
/// is already a date passes unchanged.
fn date(value: Value, zone: Option<String>, default_zone: Tz) -> Result<Value, Error> {
    if is_missing(&value) {
        return Ok(value);
    }
    if let Some(day) = value
        .as_str()
        .and_then(|t| NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").ok())
    {
        return Ok(Value::from(day.format("%Y-%m-%d").to_string()));
    }
    let zone: Tz = match zone {
        Some(name) => name
            .parse()
            .map_err(|_| invalid(format!("`{name}` is not an IANA time zone")))?,
        None => default_zone,
    };
    let local = timestamp(&value, "date")?.with_timezone(&zone);
    Ok(Value::from(
        local.date_naive().format("%Y-%m-%d").to_string(),
    ))
}

fn timestamp(value: &Value, filter: &str) -> Result<DateTime<FixedOffset>, Error> {
    let text = value.as_str().ok_or_else(|| {
        invalid(format!(
            "{filter} needs a timestamp as text, not {}",
            value.kind()
        ))
    })?;
    DateTime::parse_from_rfc3339(text.trim()).map_err(|error| {
        invalid(format!(
            "`{text}` is not an RFC 3339 timestamp with an offset: {error}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use crate::mapping::filters::tests::{render, render_error};
    use minijinja::context;

    #[test]
    fn datetime_converts_any_offset_and_precision_to_utc_millis() {
        let ctx = context!(a => "2025-03-12T13:59:58.1234567+01:00", b => "2018-11-02T12:00:00Z");

        assert_eq!(
            render("{{ a | datetime }}", ctx.clone()),
            "2025-03-12T12:59:58.123Z"
        );
        assert_eq!(
            render("{{ b | datetime }}", ctx),
            "2018-11-02T12:00:00.000Z"
        );
    }

    #[test]
    fn a_timestamp_without_offset_is_an_error_not_a_guess() {
        let error = render_error("{{ t | datetime }}", context!(t => "2025-03-12T13:59:58"));

        assert!(error.contains("with an offset"), "{error}");
    }

    #[test]
    fn date_is_the_local_day_in_oslo() {
        // 00:30 on 1 January in Oslo is 23:30 UTC on 31 December.
        let ctx = context!(t => "2024-12-31T23:30:00Z", summer => "2025-06-30T22:30:00+00:00");

        assert_eq!(render("{{ t | date }}", ctx.clone()), "2025-01-01");
        assert_eq!(render("{{ summer | date }}", ctx.clone()), "2025-07-01");
        assert_eq!(render("{{ t | date('UTC') }}", ctx), "2024-12-31");
    }

    #[test]
    fn date_keeps_a_plain_date_and_refuses_an_unknown_zone() {
        assert_eq!(
            render("{{ d | date }}", context!(d => "1985-06-15")),
            "1985-06-15"
        );
        let error = render_error(
            "{{ t | date('Mars/Base') }}",
            context!(t => "2024-12-31T23:30:00Z"),
        );
        assert!(error.contains("not an IANA time zone"), "{error}");
    }
}
