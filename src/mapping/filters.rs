//! Filters that mapping templates can use beyond minijinja's built-ins.

use chrono::{DateTime, SecondsFormat, Utc};
use minijinja::{Environment, Error, ErrorKind, Value};

use crate::forward::{Msisdn, NumberingPlan};

/// Adds every strexforce filter to the environment.
pub fn register(env: &mut Environment<'static>, plan: &NumberingPlan) {
    let e164_plan = plan.clone();
    env.add_filter("e164", move |value: Value| {
        msisdn_filter(value, |number| number.e164(), &e164_plan)
    });
    let digits_plan = plan.clone();
    env.add_filter("msisdn_digits", move |value: Value| {
        msisdn_filter(value, |number| number.digits(), &digits_plan)
    });
    env.add_filter("datetime", datetime);
    let national_plan = plan.clone();
    env.add_filter("msisdn_national", move |value: Value| {
        let plan = national_plan.clone();
        msisdn_filter(value, move |number| number.national(&plan), &national_plan)
    });
}

/// An RFC 3339 timestamp as Salesforce stores it: UTC, milliseconds, `Z`.
///
/// Strex writes .NET round-trip timestamps with seven fractional digits and an offset; a
/// timestamp without an offset is refused rather than guessed.
fn datetime(value: Value) -> Result<Value, Error> {
    if value.is_undefined() || value.is_none() {
        return Ok(value);
    }
    let text = value.as_str().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("datetime needs text, not {}", value.kind()),
        )
    })?;
    let parsed = DateTime::parse_from_rfc3339(text.trim()).map_err(|error| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("`{text}` is not an RFC 3339 timestamp with an offset: {error}"),
        )
    })?;
    let utc = parsed.with_timezone(&Utc);
    Ok(Value::from(
        utc.to_rfc3339_opts(SecondsFormat::Millis, true),
    ))
}

/// Applies a number form to text or digits; null and undefined pass through untouched so that
/// a missing number leaves its field out.
fn msisdn_filter(
    value: Value,
    form: impl Fn(&Msisdn) -> String,
    plan: &NumberingPlan,
) -> Result<Value, Error> {
    if value.is_undefined() || value.is_none() {
        return Ok(value);
    }
    let text = match value.as_str() {
        Some(text) => text.to_owned(),
        None if value.is_number() => value.to_string(),
        None => {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                format!(
                    "a phone number must be text or digits, not {}",
                    value.kind()
                ),
            ));
        }
    };
    Ok(Value::from(form(&Msisdn::parse(&text, plan))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    fn render(source: &str, ctx: Value) -> String {
        let mut env = Environment::new();
        register(&mut env, &NumberingPlan::default());
        env.render_str(source, ctx).unwrap()
    }

    #[test]
    fn msisdn_filters_give_each_form() {
        let ctx = context!(n => "0047 980 79 008");

        assert_eq!(render("{{ n | e164 }}", ctx.clone()), "+4798079008");
        assert_eq!(render("{{ n | msisdn_digits }}", ctx.clone()), "4798079008");
        assert_eq!(render("{{ n | msisdn_national }}", ctx), "98079008");
    }

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
    fn datetime_refuses_a_timestamp_without_offset() {
        let mut env = Environment::new();
        register(&mut env, &NumberingPlan::default());

        let error = env.render_str("{{ t | datetime }}", context!(t => "2025-03-12T13:59:58"));

        assert!(error.unwrap_err().to_string().contains("with an offset"));
    }

    #[test]
    fn msisdn_filters_pass_missing_values_through() {
        assert_eq!(render("{{ missing | e164 }}", context!()), "");
    }
}
