//! Whether the process is logged in to Salesforce, for `/readyz`, status output and logs.
//!
//! Every login attempt updates one [`LoginStatus`]; readers take a [`LoginState`] snapshot,
//! which serialises to the JSON `/readyz` shows and reads back from it.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// The login state at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LoginState {
    /// No login attempted yet.
    NotLoggedIn,
    /// The last attempt succeeded.
    LoggedIn {
        flow: String,
        instance_url: String,
        since: DateTime<Utc>,
    },
    /// The last attempt failed; sync waits while this lasts.
    Failing {
        flow: String,
        error: String,
        /// Failed attempts in a row.
        attempts: u32,
        since: DateTime<Utc>,
        /// When the next attempt is due, if one is scheduled.
        next_attempt: Option<DateTime<Utc>>,
    },
}

impl LoginState {
    pub fn is_logged_in(&self) -> bool {
        matches!(self, LoginState::LoggedIn { .. })
    }

    /// The state's name alone, as it is serialised: `not_logged_in`, `logged_in`, `failing`.
    pub fn name(&self) -> &'static str {
        match self {
            LoginState::NotLoggedIn => "not_logged_in",
            LoginState::LoggedIn { .. } => "logged_in",
            LoginState::Failing { .. } => "failing",
        }
    }
}

impl fmt::Display for LoginState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoginState::NotLoggedIn => f.write_str("not logged in yet"),
            LoginState::LoggedIn {
                flow,
                instance_url,
                since,
            } => write!(f, "logged in to {instance_url} ({flow}) since {since}"),
            LoginState::Failing {
                error,
                attempts,
                next_attempt,
                ..
            } => {
                write!(f, "not logged in after {attempts} attempt(s): {error}")?;
                match next_attempt {
                    Some(at) => write!(f, "; next attempt at {at}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// The shared, current login state. Cloning shares it.
#[derive(Debug, Clone)]
pub struct LoginStatus(Arc<watch::Sender<LoginState>>);

impl Default for LoginStatus {
    fn default() -> LoginStatus {
        LoginStatus(Arc::new(watch::Sender::new(LoginState::NotLoggedIn)))
    }
}

impl LoginStatus {
    /// A snapshot of the current state.
    pub fn get(&self) -> LoginState {
        self.0.borrow().clone()
    }

    /// A receiver that sees every change, for waiting on a login.
    pub fn subscribe(&self) -> watch::Receiver<LoginState> {
        self.0.subscribe()
    }

    pub(crate) fn logged_in(&self, flow: &str, instance_url: &str) {
        tracing::info!(flow, instance_url, "logged in to Salesforce");
        crate::telemetry::metrics::login(true);
        self.0.send_replace(LoginState::LoggedIn {
            flow: flow.to_owned(),
            instance_url: instance_url.to_owned(),
            since: Utc::now(),
        });
    }

    pub(crate) fn failed(&self, flow: &str, error: &str) {
        tracing::warn!(flow, error, "cannot log in to Salesforce");
        crate::telemetry::metrics::login(false);
        self.0.send_modify(|state| {
            let (attempts, since) = match state {
                LoginState::Failing {
                    attempts, since, ..
                } => (*attempts + 1, *since),
                _ => (1, Utc::now()),
            };
            *state = LoginState::Failing {
                flow: flow.to_owned(),
                error: error.to_owned(),
                attempts,
                since,
                next_attempt: None,
            };
        });
    }

    /// Records when the next attempt is due after a failure.
    pub(crate) fn next_attempt_at(&self, at: DateTime<Utc>) {
        self.0.send_modify(|state| {
            if let LoginState::Failing { next_attempt, .. } = state {
                *next_attempt = Some(at);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_in_a_row_are_counted_until_a_login_succeeds() {
        let status = LoginStatus::default();

        status.failed("jwt_bearer", "refused");
        status.failed("jwt_bearer", "refused again");

        assert!(matches!(
            status.get(),
            LoginState::Failing { attempts: 2, ref error, .. } if error == "refused again"
        ));
        status.logged_in("jwt_bearer", "https://acme.my.salesforce.com");
        assert!(status.get().is_logged_in());
    }

    #[test]
    fn the_state_reads_as_one_line_for_status_output() {
        let status = LoginStatus::default();
        status.failed("password", "authentication failure; check SF_PASSWORD");

        let failing = status.get().to_string();
        status.logged_in("password", "https://acme.my.salesforce.com");
        let logged_in = status.get().to_string();

        assert_eq!(
            failing,
            "not logged in after 1 attempt(s): authentication failure; check SF_PASSWORD"
        );
        assert!(
            logged_in.starts_with("logged in to https://acme.my.salesforce.com (password) since")
        );
    }

    #[test]
    fn the_state_reads_back_from_its_json() {
        let status = LoginStatus::default();
        status.failed("password", "authentication failure");
        status.next_attempt_at(Utc::now());

        let json = serde_json::to_value(status.get()).unwrap();

        assert_eq!(json["state"], "failing");
        let back: LoginState = serde_json::from_value(json).unwrap();
        assert_eq!(back, status.get());
    }
}
