//! Log output through tracing: human-readable by default, JSON lines with
//! `STREXFORCE_LOG_FORMAT=json`; levels from `RUST_LOG` (default `info`).

pub mod metrics;
pub mod redact;

use tracing_subscriber::EnvFilter;

/// Levels used when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=warn";

pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
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
    if !matches!(format.as_str(), "" | "json" | "text") {
        tracing::warn!(
            value = format,
            "STREXFORCE_LOG_FORMAT must be text or json; logging as text"
        );
    }
}
