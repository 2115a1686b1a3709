//! Phone numbers: `e164`, `msisdn_digits` and `msisdn_national`.

use minijinja::{Environment, Error, ErrorKind, Value};

use crate::forward::{Msisdn, NumberingPlan};

pub fn register(env: &mut Environment<'static>, plan: &NumberingPlan) {
    let e164_plan = plan.clone();
    env.add_filter("e164", move |value: Value| {
        msisdn_filter(value, |number| number.e164(), &e164_plan)
    });
    let digits_plan = plan.clone();
    env.add_filter("msisdn_digits", move |value: Value| {
        msisdn_filter(value, |number| number.digits(), &digits_plan)
    });
    let national_plan = plan.clone();
    env.add_filter("msisdn_national", move |value: Value| {
        let plan = national_plan.clone();
        msisdn_filter(value, move |number| number.national(&plan), &national_plan)
    });
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
    use crate::mapping::filters::tests::render;
    use minijinja::context;

    #[test]
    fn msisdn_filters_give_each_form() {
        let ctx = context!(n => "0047 980 79 008");

        assert_eq!(render("{{ n | e164 }}", ctx.clone()), "+4798079008");
        assert_eq!(render("{{ n | msisdn_digits }}", ctx.clone()), "4798079008");
        assert_eq!(render("{{ n | msisdn_national }}", ctx), "98079008");
    }

    #[test]
    fn msisdn_filters_pass_missing_values_through() {
        assert_eq!(render("{{ missing | e164 }}", context!()), "");
    }
}
