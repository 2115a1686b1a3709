//! Filters that mapping templates can use beyond minijinja's built-ins.
//!
//! Every filter passes a missing value (undefined or null) through unchanged, so that a
//! property absent from one forward leaves its field out instead of failing the event.

mod number;
mod phone;
mod text;
mod time;

use chrono_tz::Tz;
use minijinja::{Environment, Error, ErrorKind, Value};

use crate::forward::NumberingPlan;

/// Adds every strexforce filter to the environment.
pub fn register(env: &mut Environment<'static>, plan: &NumberingPlan, time_zone: Tz) {
    phone::register(env, plan);
    time::register(env, time_zone);
    number::register(env);
    text::register(env);
}

/// Undefined and null: the filter's input is missing.
fn is_missing(value: &Value) -> bool {
    value.is_undefined() || value.is_none()
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

/// The input as text, numbers in their shortest exact form.
fn as_text(value: &Value, filter: &str) -> Result<String, Error> {
    if let Some(text) = value.as_str() {
        return Ok(text.to_owned());
    }
    if value.is_number() {
        return Ok(value.to_string());
    }
    Err(invalid(format!(
        "{filter} needs text or a number, not {}",
        value.kind()
    )))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn environment() -> Environment<'static> {
        let mut env = Environment::new();
        register(&mut env, &NumberingPlan::default(), chrono_tz::Europe::Oslo);
        env
    }

    pub fn render(source: &str, ctx: Value) -> String {
        environment().render_str(source, ctx).unwrap()
    }

    pub fn render_error(source: &str, ctx: Value) -> String {
        environment()
            .render_str(source, ctx)
            .unwrap_err()
            .to_string()
    }
}
