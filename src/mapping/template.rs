//! Templates in mapping files, rendered with minijinja.
//!
//! A value that is exactly one `{{ expression }}` keeps the type the expression evaluates to
//! (a number stays a number, a boolean a boolean). Anything else renders to text. Null and
//! undefined values render as nothing, never as the word `none`.

use std::collections::HashSet;

use minijinja::{AutoEscape, Environment, ErrorKind, UndefinedBehavior, Value};

use super::filters;
use crate::forward::NumberingPlan;

/// Bounds the work one template may do, so that a runaway loop in a mapping cannot stall
/// intake. Ordinary field templates use a few dozen units.
const TEMPLATE_FUEL: u64 = 50_000;

/// The variable an expression template stores its result in.
const RESULT_VARIABLE: &str = "__value";

/// How a compiled template produces its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateKind {
    /// One whole expression: the value keeps its native type.
    Expression,
    /// Text with embedded expressions or blocks: the value is a string.
    Text,
}

/// A handle to a template compiled into a [`Templates`] set.
#[derive(Debug, Clone)]
pub struct TemplateRef {
    name: String,
    kind: TemplateKind,
}

/// A template's output before it becomes a Salesforce field value.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendered {
    /// Undefined, null or empty: the field is left out of the record.
    Nothing,
    Value(Value),
}

/// A template error with its position inside the template source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    pub message: String,
    /// 1-based line within the template source, when minijinja knows it.
    pub line: Option<usize>,
}

/// All templates of one mapping set, in one minijinja environment.
pub struct Templates {
    env: Environment<'static>,
    count: usize,
}

impl Templates {
    pub fn new(plan: &NumberingPlan, time_zone: chrono_tz::Tz) -> Templates {
        let mut env = Environment::new();
        // Values go to Salesforce as data, not into HTML.
        env.set_auto_escape_callback(|_| AutoEscape::None);
        // Chainable lets `properties.Lookup.firstName` be undefined when Lookup is absent;
        // misspelled top-level names are caught when the file loads instead.
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_formatter(|out, state, value| {
            if value.is_none() || value.is_undefined() {
                return Ok(());
            }
            minijinja::escape_formatter(out, state, value)
        });
        env.set_fuel(Some(TEMPLATE_FUEL));
        filters::register(&mut env, plan, time_zone);
        Templates { env, count: 0 }
    }

    /// Whether a string contains template syntax at all; other strings are literals.
    pub fn is_template(source: &str) -> bool {
        source.contains("{{") || source.contains("{%") || source.contains("{#")
    }

    /// Compiles a template string.
    pub fn compile(&mut self, source: &str) -> Result<TemplateRef, TemplateError> {
        self.count += 1;
        let name = format!("t{}", self.count);
        let (kind, wrapped) = match whole_expression(source) {
            // The expression is evaluated into a variable so its native type survives.
            Some(expression) => (
                TemplateKind::Expression,
                format!("{{% set {RESULT_VARIABLE} = ({expression}) %}}"),
            ),
            None => (TemplateKind::Text, source.to_owned()),
        };
        self.env
            .add_template_owned(name.clone(), wrapped)
            .map_err(|error| template_error(&error))?;
        Ok(TemplateRef { name, kind })
    }

    /// Renders a template against an event's context.
    pub fn render(
        &self,
        template: &TemplateRef,
        context: &Value,
    ) -> Result<Rendered, TemplateError> {
        let compiled = self
            .env
            .get_template(&template.name)
            .map_err(|error| template_error(&error))?;
        let value = match template.kind {
            TemplateKind::Expression => {
                let captured = compiled
                    .render_captured(context)
                    .map_err(|error| template_error(&error))?;
                captured.state().lookup(RESULT_VARIABLE).unwrap_or_default()
            }
            TemplateKind::Text => Value::from(
                compiled
                    .render(context)
                    .map_err(|error| template_error(&error))?,
            ),
        };
        Ok(classify(value))
    }

    /// Top-level variable names the template reads, for catching misspellings at load time.
    pub fn variables(&self, template: &TemplateRef) -> HashSet<String> {
        match self.env.get_template(&template.name) {
            Ok(compiled) => {
                let mut names = compiled.undeclared_variables(false);
                names.remove(RESULT_VARIABLE);
                names
            }
            Err(_) => HashSet::new(),
        }
    }

    /// Whether `source` parses as one expression.
    pub fn check_expression(&self, source: &str) -> Result<(), String> {
        self.env
            .compile_expression(source)
            .map(|_| ())
            .map_err(|error| {
                error
                    .detail()
                    .map(str::to_owned)
                    .unwrap_or_else(|| error.kind().to_string())
            })
    }

    /// Renders the template once with no variables at all, to find names minijinja only
    /// resolves when it runs: a misspelled filter, test or function, or a method strings do
    /// not have. Other errors are expected without data and are not reported.
    pub fn unknown_names(&self, template: &TemplateRef) -> Option<String> {
        let empty = Value::from(std::collections::BTreeMap::<String, Value>::new());
        let compiled = self.env.get_template(&template.name).ok()?;
        let error = compiled.render(&empty).err()?;
        matches!(
            error.kind(),
            ErrorKind::UnknownFilter
                | ErrorKind::UnknownTest
                | ErrorKind::UnknownFunction
                | ErrorKind::UnknownMethod
        )
        .then(|| {
            error
                .detail()
                .map(str::to_owned)
                .unwrap_or_else(|| error.kind().to_string())
        })
    }

    /// Evaluates a template expression as a condition.
    pub fn is_true(&self, template: &TemplateRef, context: &Value) -> Result<bool, TemplateError> {
        Ok(match self.render(template, context)? {
            Rendered::Nothing => false,
            Rendered::Value(value) => value.is_true(),
        })
    }
}

/// Null, undefined and empty strings all mean "leave the field out".
fn classify(value: Value) -> Rendered {
    let empty_text = value.as_str().is_some_and(str::is_empty);
    if value.is_undefined() || value.is_none() || empty_text {
        Rendered::Nothing
    } else {
        Rendered::Value(value)
    }
}

/// The inner expression if the source is exactly `{{ expression }}`.
fn whole_expression(source: &str) -> Option<&str> {
    let inner = source.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.trim_start_matches('-').trim_end_matches('-');
    let nested = ["{{", "}}", "{%", "%}", "{#"]
        .iter()
        .any(|t| inner.contains(t));
    (!nested && !inner.trim().is_empty()).then(|| inner.trim())
}

fn template_error(error: &minijinja::Error) -> TemplateError {
    let detail = error
        .detail()
        .map(str::to_owned)
        .unwrap_or_else(|| error.kind().to_string());
    TemplateError {
        message: detail,
        line: error.line(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use minijinja::context;

    fn render(source: &str, ctx: Value) -> Rendered {
        let mut templates = Templates::new(&NumberingPlan::default(), chrono_tz::Europe::Oslo);
        let template = templates.compile(source).unwrap();
        templates.render(&template, &ctx).unwrap()
    }

    #[test]
    fn a_whole_expression_keeps_its_type() {
        let ctx = context!(price => 200, billed => true, zip => "0150");

        assert_eq!(
            render("{{ price }}", ctx.clone()),
            Rendered::Value(Value::from(200))
        );
        assert_eq!(
            render("{{ billed }}", ctx.clone()),
            Rendered::Value(Value::from(true))
        );
        assert_eq!(
            render("{{ zip }}", ctx),
            Rendered::Value(Value::from("0150"))
        );
    }

    #[test]
    fn text_templates_render_to_strings() {
        let ctx = context!(keyword => "GIVE", amount => 200);

        assert_eq!(
            render("SMS {{ keyword }}: {{ amount }} NOK", ctx),
            Rendered::Value(Value::from("SMS GIVE: 200 NOK"))
        );
    }

    #[test]
    fn null_and_missing_values_render_as_nothing_never_as_none() {
        let ctx = context!(properties => context!(middle => ()));

        assert_eq!(
            render("{{ properties.middle }}", ctx.clone()),
            Rendered::Nothing
        );
        assert_eq!(
            render("{{ properties.absent.deeper }}", ctx.clone()),
            Rendered::Nothing
        );
        assert_eq!(
            render("[{{ properties.middle }}]", ctx),
            Rendered::Value(Value::from("[]"))
        );
    }

    #[test]
    fn variables_lists_top_level_names() {
        let mut templates = Templates::new(&NumberingPlan::default(), chrono_tz::Europe::Oslo);
        let template = templates
            .compile("{{ properties.Keyword ~ msisdnn }}")
            .unwrap();

        let names = templates.variables(&template);

        assert_eq!(
            names,
            HashSet::from(["properties".to_owned(), "msisdnn".to_owned()])
        );
    }

    #[test]
    fn syntax_errors_are_reported() {
        let mut templates = Templates::new(&NumberingPlan::default(), chrono_tz::Europe::Oslo);

        let error = templates.compile("{{ properties. }}").unwrap_err();

        assert!(!error.message.is_empty());
    }
}
