//! Fault injection: outages, expired sessions, limits, row locks, latency and dropped
//! connections, drawn from a seeded generator so a test sees the same sequence on
//! every run.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

/// Fault settings; every field defaults to "off". Faults apply to data API calls
/// (`/services/data/vNN.0/...`), not to the token endpoint or the versions list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Share of data calls (0..=1) answered with a server error.
    pub server_error_share: f64,
    pub server_error_kind: ServerErrorKind,
    /// Every Nth data call gets 401 INVALID_SESSION_ID and its token is revoked; 0 is off.
    pub expire_session_every: u64,
    /// Every data call gets 403 REQUEST_LIMIT_EXCEEDED.
    pub request_limit_exceeded: bool,
    /// Share of records in an upsert that fail with UNABLE_TO_LOCK_ROW.
    pub lock_row_share: f64,
    /// Records whose upsert key has one of these values fail with UNABLE_TO_LOCK_ROW every
    /// time, as if another process held their lock.
    pub locked_external_ids: Vec<String>,
    /// Added to the configured latency of every data call.
    pub latency_ms: u64,
    /// Share of data calls whose connection is closed without a response.
    pub drop_connection_share: f64,
    /// Share of data calls that are carried out, writes included, but whose connection is
    /// then closed before the response is sent: the client cannot tell whether it worked.
    pub drop_response_share: f64,
    /// Collections upserts answer with one result fewer than records sent (the writes are
    /// all made): a response that no longer matches its request.
    pub short_collections_results: bool,
    /// A Collections upsert carrying a record with this external-id value is refused as a
    /// whole with 400 JSON_PARSER_ERROR, as Salesforce refuses a request one of whose records
    /// it cannot read, and so is a single-record upsert of it. Nothing is written.
    pub poison_external_id: Option<String>,
    /// Seed of the generator behind every share above.
    pub seed: u64,
}

/// The body of an injected server error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerErrorKind {
    /// 503 with `SERVER_UNAVAILABLE` in the usual JSON error array.
    #[default]
    Unavailable,
    /// 500 with `UNKNOWN_EXCEPTION`, Salesforce's internal-error code.
    Internal,
    /// 503 with an HTML maintenance page, as seen during org upgrades.
    MaintenancePage,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FaultsError {
    #[error("{name} must be between 0 and 1, got {value}")]
    ShareOutOfRange { name: &'static str, value: f64 },
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            server_error_share: 0.0,
            server_error_kind: ServerErrorKind::default(),
            expire_session_every: 0,
            request_limit_exceeded: false,
            lock_row_share: 0.0,
            locked_external_ids: Vec::new(),
            latency_ms: 0,
            drop_connection_share: 0.0,
            drop_response_share: 0.0,
            short_collections_results: false,
            poison_external_id: None,
            seed: 0,
        }
    }
}

impl Faults {
    pub fn validate(&self) -> Result<(), FaultsError> {
        let shares = [
            ("server_error_share", self.server_error_share),
            ("lock_row_share", self.lock_row_share),
            ("drop_connection_share", self.drop_connection_share),
            ("drop_response_share", self.drop_response_share),
        ];
        for (name, value) in shares {
            if !(0.0..=1.0).contains(&value) {
                return Err(FaultsError::ShareOutOfRange { name, value });
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultDecision {
    Pass,
    DropConnection,
    ServerError(ServerErrorKind),
    RequestLimitExceeded,
    ExpireSession,
}

#[derive(Debug)]
pub(crate) struct FaultInjector {
    state: Mutex<FaultState>,
}

#[derive(Debug)]
struct FaultState {
    faults: Faults,
    rng: StdRng,
    /// A second stream for faults decided after the handler ran, so that switching them on
    /// does not change the sequence of the faults decided before it.
    response_rng: StdRng,
    data_calls: u64,
}

/// Separates the response stream from the main one for the same seed.
const RESPONSE_STREAM: u64 = 0x5eed_0f4e_5b0a_5e00;

impl Default for FaultInjector {
    fn default() -> FaultInjector {
        let faults = Faults::default();
        FaultInjector {
            state: Mutex::new(FaultState {
                rng: StdRng::seed_from_u64(faults.seed),
                response_rng: StdRng::seed_from_u64(faults.seed ^ RESPONSE_STREAM),
                faults,
                data_calls: 0,
            }),
        }
    }
}

impl FaultInjector {
    pub(crate) fn set(&self, faults: Faults) -> Result<(), FaultsError> {
        faults.validate()?;
        let mut state = self.lock();
        state.rng = StdRng::seed_from_u64(faults.seed);
        state.response_rng = StdRng::seed_from_u64(faults.seed ^ RESPONSE_STREAM);
        state.data_calls = 0;
        state.faults = faults;
        Ok(())
    }

    pub(crate) fn current(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// Both shares are drawn on every call so the sequence depends only on the seed
    /// and the call order.
    pub(crate) fn decide(&self) -> FaultDecision {
        let mut state = self.lock();
        state.data_calls += 1;
        let drop_draw: f64 = state.rng.random();
        let error_draw: f64 = state.rng.random();
        let faults = &state.faults;
        let every = faults.expire_session_every;
        if drop_draw < faults.drop_connection_share {
            FaultDecision::DropConnection
        } else if error_draw < faults.server_error_share {
            FaultDecision::ServerError(faults.server_error_kind)
        } else if faults.request_limit_exceeded {
            FaultDecision::RequestLimitExceeded
        } else if every > 0 && state.data_calls.is_multiple_of(every) {
            FaultDecision::ExpireSession
        } else {
            FaultDecision::Pass
        }
    }

    pub(crate) fn row_locked(&self) -> bool {
        let mut state = self.lock();
        let draw: f64 = state.rng.random();
        draw < state.faults.lock_row_share
    }

    pub(crate) fn record_locked(&self, key: &str) -> bool {
        self.lock()
            .faults
            .locked_external_ids
            .iter()
            .any(|locked| locked == key)
    }

    /// Whether the response of a call that was carried out is lost on the way back.
    pub(crate) fn response_dropped(&self) -> bool {
        let mut state = self.lock();
        if state.faults.drop_response_share <= 0.0 {
            return false;
        }
        let draw: f64 = state.response_rng.random();
        draw < state.faults.drop_response_share
    }

    pub(crate) fn short_collections_results(&self) -> bool {
        self.lock().faults.short_collections_results
    }

    pub(crate) fn poison_external_id(&self) -> Option<String> {
        self.lock().faults.poison_external_id.clone()
    }

    pub(crate) fn extra_latency(&self) -> Duration {
        Duration::from_millis(self.lock().faults.latency_ms)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.state.lock().expect("fault lock poisoned")
    }
}

/// Changes fault settings of a running emulator from a test.
#[derive(Debug, Clone)]
pub struct FaultsHandle {
    injector: Arc<FaultInjector>,
}

impl FaultsHandle {
    pub(crate) fn new(injector: Arc<FaultInjector>) -> FaultsHandle {
        FaultsHandle { injector }
    }

    pub fn set(&self, faults: Faults) -> Result<(), FaultsError> {
        self.injector.set(faults)
    }

    pub fn get(&self) -> Faults {
        self.injector.current()
    }

    pub fn clear(&self) {
        self.injector
            .set(Faults::default())
            .expect("default faults are valid");
    }
}
