//! Amounts: `decimal` (an exact number rounded to a scale) and `decimal_comma` (Norwegian
//! written amounts such as `150,50` and `1 234,50`, read only when a mapping asks for it).
//!
//! Values are computed in decimal and handed on as the nearest double, whose shortest form is
//! the decimal itself for amounts of up to 15 significant digits: `10.5` stays `10.5`, never
//! `10.499999999999998`.

use std::str::FromStr;

use minijinja::{Environment, Error, Value};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use super::{as_text, invalid, is_missing};

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("decimal", |value: Value, scale: Option<u32>| {
        decimal(value, scale)
    });
    env.add_filter("decimal_comma", |value: Value, scale: Option<u32>| {
        decimal_comma(value, scale)
    });
}

fn decimal(value: Value, scale: Option<u32>) -> Result<Value, Error> {
    if is_missing(&value) {
        return Ok(value);
    }
    let text = as_text(&value, "decimal")?;
    let number = Decimal::from_str(text.trim())
        .or_else(|_| Decimal::from_scientific(text.trim()))
        .map_err(|_| invalid(format!("`{text}` is not a number with a decimal point")))?;
    to_value(number, scale)
}

fn decimal_comma(value: Value, scale: Option<u32>) -> Result<Value, Error> {
    if is_missing(&value) || value.is_number() {
        return decimal(value, scale);
    }
    let text = as_text(&value, "decimal_comma")?;
    // Spaces (also no-break and thin spaces) and dots group thousands; the comma is decimal.
    let plain: String = text
        .trim()
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '.'))
        .map(|c| if c == ',' { '.' } else { c })
        .collect();
    let number = Decimal::from_str(&plain)
        .map_err(|_| invalid(format!("`{text}` is not an amount such as 1 234,50")))?;
    to_value(number, scale)
}

fn to_value(number: Decimal, scale: Option<u32>) -> Result<Value, Error> {
    let rounded = match scale {
        Some(scale) => number.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero),
        None => number,
    };
    if rounded.is_integer()
        && let Some(whole) = rounded.to_i64()
    {
        return Ok(Value::from(whole));
    }
    rounded
        .to_f64()
        .map(Value::from)
        .ok_or_else(|| invalid(format!("{rounded} does not fit a number")))
}

#[cfg(test)]
mod tests {
    use crate::mapping::filters::tests::{render, render_error};
    use minijinja::context;

    #[test]
    fn decimal_keeps_amounts_exact() {
        let ctx = context!(a => 10.5, b => "200.00", c => 0.1, d => 0.2);

        assert_eq!(render("{{ a | decimal }}", ctx.clone()), "10.5");
        assert_eq!(render("{{ b | decimal }}", ctx.clone()), "200");
        assert_eq!(
            render("{{ (c | decimal) + (d | decimal) }}", ctx.clone()),
            "0.30000000000000004"
        );
        assert_eq!(render("{{ ((c + d) | decimal(2)) }}", ctx), "0.3");
    }

    #[test]
    fn decimal_comma_reads_norwegian_amounts() {
        let ctx = context!(a => "150,50", b => "1 234,50", c => "1\u{a0}234,5", d => "1.234,50");

        assert_eq!(render("{{ a | decimal_comma }}", ctx.clone()), "150.5");
        assert_eq!(render("{{ b | decimal_comma }}", ctx.clone()), "1234.5");
        assert_eq!(render("{{ c | decimal_comma }}", ctx.clone()), "1234.5");
        assert_eq!(render("{{ d | decimal_comma }}", ctx), "1234.5");
    }

    #[test]
    fn a_decimal_comma_without_the_filter_is_refused_by_decimal() {
        let error = render_error("{{ a | decimal }}", context!(a => "150,50"));

        assert!(error.contains("decimal point"), "{error}");
    }
}
