//! How `serve` logs in at start: fail fast, or start without Salesforce and keep trying.

use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use tokio_util::sync::CancellationToken;

use super::client::SalesforceClient;
use super::token_error::AuthError;

/// Backoff between login attempts while Salesforce refuses or cannot be reached.
#[derive(Debug, Clone)]
pub struct LoginRetry {
    pub first_delay: Duration,
    /// The longest wait between two attempts.
    pub max_delay: Duration,
}

impl Default for LoginRetry {
    fn default() -> LoginRetry {
        LoginRetry {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(300),
        }
    }
}

/// What `serve` does when the first login fails.
#[derive(Debug, Clone, Default)]
pub struct LoginStartup {
    /// Start anyway: accept and store forwards, keep sync paused, and log in again with
    /// [`LoginRetry`] backoff until it works. Off, `serve` stops with the login error.
    pub start_without_salesforce: bool,
    pub retry: LoginRetry,
}

/// Logs in until it works; false when `shutdown` came first. Every refusal is retried,
/// since the usual fixes (approving the user, a Run As user, an IP range) are made in
/// Salesforce while strexforce keeps running.
pub async fn keep_logging_in(
    client: &SalesforceClient,
    retry: &LoginRetry,
    shutdown: &CancellationToken,
) -> bool {
    let backoff = ExponentialBuilder::new()
        .with_min_delay(retry.first_delay)
        .with_max_delay(retry.max_delay)
        .with_jitter()
        .without_max_times();
    let status = client.login_status();
    let attempts = (|| client.log_in())
        .retry(backoff)
        .sleep(tokio::time::sleep)
        .notify(|_: &AuthError, delay: Duration| {
            let due = chrono::Utc::now() + delay;
            status.next_attempt_at(due);
            tracing::info!(retry_in = ?delay, "next Salesforce login attempt scheduled");
        });
    tokio::select! {
        result = attempts => result.is_ok(),
        () = shutdown.cancelled() => false,
    }
}
