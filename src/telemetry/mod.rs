//! Log output through tracing: human-readable by default, JSON lines with
//! `STREXFORCE_LOG_FORMAT=json`; levels from `RUST_LOG` (default `info`).

pub mod metrics;
pub mod redact;

use tracing_subscriber::EnvFilter;

/// Levels used when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=warn";

pub fn init(default_filter: &str) {
    let (filter, bad_filter) = match EnvFilter::try_from_default_env() {
        Ok(filter) => (filter, None),
        Err(error) => {
            // Unset is the usual case; a value that does not parse deserves a word.
            let set = std::env::var_os(EnvFilter::DEFAULT_ENV).is_some();
            (
                EnvFilter::new(default_filter),
                set.then(|| error.to_string()),
            )
        }
    };
    let format = std::env::var("STREXFORCE_LOG_FORMAT").unwrap_or_default();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal: in files and collectors they garble field values.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // A second initialisation (tests, the demo inside a process that logs) is harmless.
    let _ = match format.as_str() {
        "json" => builder.json().try_init(),
        _ => builder.try_init(),
    };
    if let Some(error) = bad_filter {
        tracing::warn!(%error, default = default_filter, "RUST_LOG is not a valid filter; using the default");
    }
    if !matches!(format.as_str(), "" | "json" | "text") {
        tracing::warn!(
            value = format,
            "STREXFORCE_LOG_FORMAT must be text or json; logging as text"
        );
    }
}
