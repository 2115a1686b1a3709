//! Everything one running emulator shares between its requests.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};

use crate::config::EmulatorConfig;
use crate::faults::FaultInjector;
use crate::jwt_assertion::AssertionRules;
use crate::login_policy::LoginPolicy;
use crate::record_id::{self, RecordIdGenerator};
use crate::refresh_tokens::RefreshTokens;
use crate::schema::Schema;
use crate::session::SessionStore;
use crate::stats::{Stats, StatsRecorder};
use crate::store::RecordStore;
use crate::usage::ApiUsage;

/// The emulated org and its connected app.
#[derive(Debug)]
pub(crate) struct Emulator {
    pub schema: Schema,
    pub client_id: String,
    pub client_secret: String,
    /// Where the emulator listens, like `http://127.0.0.1:8081`.
    pub base_url: String,
    pub instance_url: String,
    pub org_id: String,
    pub user_id: String,
    /// The org's user, named by the JWT bearer and password flows.
    pub username: String,
    pub password: String,
    pub security_token: String,
    pub assertion_rules: AssertionRules,
    pub refresh_tokens: RefreshTokens,
    pub rotate_refresh_tokens: bool,
    pub login_policy: LoginPolicy,
    pub latency: Duration,
    /// Describe answers 304 to If-Modified-Since at or after this instant.
    pub schema_loaded_at: DateTime<Utc>,
    pub ids: RecordIdGenerator,
    pub sessions: SessionStore,
    pub usage: ApiUsage,
    pub stats: StatsRecorder,
    pub faults: Arc<FaultInjector>,
    store: Mutex<RecordStore>,
}

impl Emulator {
    /// Fails only when the configured JWT public key cannot be read.
    pub(crate) fn new(config: EmulatorConfig, base_url: String) -> anyhow::Result<Emulator> {
        let store = RecordStore::new(&config.schema);
        let loaded = Utc::now()
            .with_nanosecond(0)
            .expect("zero nanoseconds is valid");
        let assertion_rules = AssertionRules::new(
            config.jwt_public_key.as_deref(),
            config.jwt_audience.as_deref(),
            &base_url,
        )?;
        let refresh_tokens = RefreshTokens::default();
        if let Some(token) = &config.refresh_token {
            refresh_tokens.accept(token);
        }
        Ok(Emulator {
            username: config.username,
            password: config.password,
            security_token: config.security_token,
            assertion_rules,
            refresh_tokens,
            rotate_refresh_tokens: config.rotate_refresh_tokens,
            login_policy: LoginPolicy::default(),
            instance_url: config.instance_url.unwrap_or_else(|| base_url.clone()),
            base_url,
            org_id: record_id::id_from_number("00D", 4_711),
            user_id: record_id::id_from_number("005", 4_711),
            latency: config.latency,
            schema_loaded_at: loaded,
            ids: RecordIdGenerator::default(),
            sessions: SessionStore::default(),
            usage: ApiUsage::new(config.api_allocation),
            stats: StatsRecorder::default(),
            faults: Arc::new(FaultInjector::default()),
            store: Mutex::new(store),
            schema: config.schema,
            client_id: config.client_id,
            client_secret: config.client_secret,
        })
    }

    /// Held only inside synchronous code, never across an await.
    pub(crate) fn store(&self) -> MutexGuard<'_, RecordStore> {
        self.store.lock().expect("record store lock poisoned")
    }

    pub(crate) fn stats(&self) -> Stats {
        self.stats
            .snapshot(self.usage.used(), self.usage.allocation())
    }

    /// Back to an empty org: records, counters, usage and faults. Sessions stay valid
    /// so a connected client does not have to log in again.
    pub(crate) fn reset(&self) {
        self.store().clear();
        self.stats.reset();
        self.usage.reset();
        self.faults
            .set(Default::default())
            .expect("default faults are valid");
    }
}
