//! A local emulator of the Salesforce REST API subset strexforce uses: the OAuth client
//! credentials, JWT bearer, refresh token and password flows, describe, single-record and
//! sObject Collections upsert by external id, limits, and fault injection for tests.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let emulator = sf_emulator::start(sf_emulator::EmulatorConfig::default(), listener).await?;
//! println!("Salesforce at {}", emulator.url());
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod api_version;
mod collections;
mod config;
mod faults;
mod field_value;
mod http;
mod inspect;
mod jwt_assertion;
mod login_policy;
mod oauth;
mod record_body;
mod record_error;
mod record_id;
mod record_view;
mod refresh_tokens;
mod schema;
mod session;
mod state;
mod stats;
mod store;
mod upsert;
mod usage;

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{
    DEFAULT_API_ALLOCATION, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_PASSWORD,
    DEFAULT_SECURITY_TOKEN, DEFAULT_USERNAME, EmulatorConfig,
};
pub use faults::{Faults, FaultsError, FaultsHandle, ServerErrorKind};
pub use login_policy::LoginRefusal;
pub use schema::{Field, FieldType, SObject, Schema, SchemaError};
pub use stats::{CallKind, Stats};

use state::Emulator;

/// An emulator serving on its listener until [`RunningEmulator::shutdown`] or drop.
#[derive(Debug)]
pub struct RunningEmulator {
    state: Arc<Emulator>,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
}

/// Starts serving on `listener` (bind port 0 in tests) and returns at once.
pub async fn start(
    config: EmulatorConfig,
    listener: TcpListener,
) -> anyhow::Result<RunningEmulator> {
    let address = listener
        .local_addr()
        .context("the emulator listener has no local address")?;
    let state = Arc::new(Emulator::new(config, format!("http://{address}"))?);
    let (stop, stopped) = watch::channel(false);
    let app = http::router(state.clone());
    let server = tokio::spawn(http::connection::serve(listener, app, stopped));
    tracing::info!(url = %state.base_url, "Salesforce emulator started");
    Ok(RunningEmulator {
        state,
        stop,
        server,
    })
}

impl RunningEmulator {
    /// Base URL, like `http://127.0.0.1:8081`; the token endpoint is below it.
    pub fn url(&self) -> String {
        self.state.base_url.clone()
    }

    pub fn instance_url(&self) -> String {
        self.state.instance_url.clone()
    }

    pub fn schema(&self) -> &Schema {
        &self.state.schema
    }

    /// Every stored record of `object` with Id, system dates and all fields (null
    /// when unset). Empty for an unknown object.
    pub fn records(&self, object: &str) -> Vec<serde_json::Value> {
        inspect::records(&self.state, object).unwrap_or_default()
    }

    /// Records whose `field` equals `value` when shown as text (exact match).
    pub fn find(&self, object: &str, field: &str, value: &str) -> Vec<serde_json::Value> {
        inspect::find(&self.state, object, field, value).unwrap_or_default()
    }

    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    pub fn faults(&self) -> FaultsHandle {
        FaultsHandle::new(self.state.faults.clone())
    }

    /// Invalidates every access token, as a session timeout would.
    pub fn expire_sessions(&self) {
        self.state.sessions.expire_all();
    }

    /// Refuses every login with a policy's token error until called with `None`.
    pub fn refuse_logins(&self, refusal: Option<LoginRefusal>) {
        self.state.login_policy.set(refusal);
    }

    /// Invalidates every refresh token, as revoking the app's access would.
    pub fn revoke_refresh_tokens(&self) {
        self.state.refresh_tokens.revoke_all();
    }

    /// Clears records, counters, API usage and faults; sessions stay valid.
    pub fn reset(&self) {
        self.state.reset();
    }

    /// Stops accepting, lets open requests finish, and waits for the server task.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(error) = self.server.await {
            tracing::warn!(%error, "emulator server task failed");
        }
    }
}
