//! The test harness: a real Postgres database, the Salesforce emulator and `serve`, all on
//! loopback ports, talked to over HTTP.

mod database;
pub mod forwards;
pub mod process;
pub mod scenarios;

use std::path::PathBuf;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use sf_emulator::{EmulatorConfig, RunningEmulator};
use strexforce::forward::ForwardKind;
use strexforce::forward::auth::{AuthConfig, EcdsaConfig};
use strexforce::forward::intake::Intake;
use strexforce::forward::limits::ReceiveLimits;
use strexforce::mapping::{MappingSet, MappingSettings};
use strexforce::salesforce::{LoginFlow, LoginStartup, SalesforceConfig};
use strexforce::server::{RunningService, ServeConfig};
use strexforce::signature::{KeyRing, PublicUrl, RequestSigner, SIGNATURE_HEADER};
use strexforce::store::retention::RetentionPolicy;
use strexforce::store::{LogFilter, PoolSettings, Store, SyncLogEntry};
use strexforce::sync::{Backoff, LimitSettings, SyncSettings, SyncWake};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, MutexGuard, Semaphore};
use tokio_util::sync::CancellationToken;

pub use database::TestDb;

/// The large fault tests take the machine's cores; they run one at a time.
static HEAVY: Mutex<()> = Mutex::const_new(());

pub async fn one_heavy_test_at_a_time() -> MutexGuard<'static, ()> {
    HEAVY.lock().await
}

/// The shipped mappings folder.
pub fn shipped_mappings() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mappings")
}

/// The bytes of a fixture under tests/fixtures/strex/.
/// Copies the shipped mapping files (not their cases) into `to`.
pub fn copy_shipped_mappings(to: &std::path::Path) {
    for entry in std::fs::read_dir(shipped_mappings()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "yaml") {
            std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
        }
    }
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/strex")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("fixture {}: {error}", path.display()))
}

/// The kind of a fixture, from its file name.
pub fn fixture_kind(name: &str) -> &'static str {
    if name.starts_with("mo-") { "mo" } else { "dlr" }
}

/// The URL the test service pretends to be registered under in StrexConnect, as if it ran
/// behind a TLS-terminating proxy.
pub const PUBLIC_URL: &str = "https://connector.strexforce.test";

/// The forward token of tests that use token mode.
pub const FORWARD_TOKEN: &str = "test-forward-token-0123456789abcdef";

/// Plays Strex in every test: the services trust its public key, the helpers sign with it.
static STREX: LazyLock<RequestSigner> = LazyLock::new(|| RequestSigner::generate("strex-test-key"));

pub fn strex_signer() -> &'static RequestSigner {
    &STREX
}

/// The signature header Strex would send for a request to `url` (the test service's own
/// address) with `body`, signed for [`PUBLIC_URL`] and the same path and query.
pub fn sign_for(url: &str, body: &[u8]) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path_and_query = after_scheme.find('/').map_or("/", |at| &after_scheme[at..]);
    STREX.header_now("POST", &format!("{PUBLIC_URL}{path_and_query}"), body)
}

/// A running strexforce with its own database and its own emulated org.
pub struct TestApp {
    pub db: TestDb,
    pub emulator: RunningEmulator,
    pub service: RunningService,
    pub http: reqwest::Client,
    /// Plays Strex: its public key is the one the service trusts.
    pub signer: RequestSigner,
}

/// How a test app is set up.
pub struct AppOptions {
    pub mappings_dir: PathBuf,
    pub sync: SyncSettings,
    pub emulator: EmulatorConfig,
    pub request_timeout: Duration,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            mappings_dir: shipped_mappings(),
            sync: test_sync_settings(),
            emulator: EmulatorConfig::default(),
            request_timeout: Duration::from_secs(5),
        }
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(shipped_mappings()).await
    }

    pub async fn spawn_with(mappings_dir: PathBuf) -> TestApp {
        TestApp::spawn_with_options(AppOptions {
            mappings_dir,
            ..AppOptions::default()
        })
        .await
    }

    pub async fn spawn_with_options(options: AppOptions) -> TestApp {
        TestApp::prepare(options).await.start().await
    }

    /// A service whose configuration the test adjusts first.
    pub async fn spawn_configured(
        mappings_dir: PathBuf,
        adjust: impl FnOnce(&mut ServeConfig),
    ) -> TestApp {
        let mut prepared = TestApp::prepare(AppOptions {
            mappings_dir,
            ..AppOptions::default()
        })
        .await;
        adjust(&mut prepared.config);
        prepared.start().await
    }

    /// A database and an emulator, with the service not started yet.
    pub async fn prepare(options: AppOptions) -> PreparedApp {
        strexforce::salesforce::install_crypto_provider();
        let db = TestDb::new().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let emulator = sf_emulator::start(options.emulator, listener)
            .await
            .unwrap();
        let mut config = serve_config(&db.url, options.mappings_dir, &emulator.url());
        config.sync = options.sync;
        config.salesforce.request_timeout = options.request_timeout;
        config.auth = signed_auth(&STREX);
        PreparedApp {
            db,
            emulator,
            config,
        }
    }

    pub fn store(&self) -> &Store {
        &self.db.store
    }

    /// The signature header Strex would send for this path and body.
    pub fn sign(&self, path_and_query: &str, body: &[u8]) -> String {
        self.signer
            .header_now("POST", &format!("{PUBLIC_URL}{path_and_query}"), body)
    }

    /// Posts a body to `/forward/{kind}` as Strex does: JSON, signed.
    pub async fn post(&self, kind: &str, body: impl Into<Vec<u8>>) -> reqwest::Response {
        let body = body.into();
        let path = format!("/forward/{kind}");
        self.http
            .post(format!("{}{path}", self.service.url()))
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, self.sign(&path, &body))
            .body(body)
            .send()
            .await
            .expect("request reaches strexforce")
    }

    /// Posts JSON to a path without any signature.
    pub async fn post_unsigned(
        &self,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.service.url()))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("request reaches strexforce")
    }

    /// Counts the rows of a table.
    pub async fn count(&self, table: &str) -> i64 {
        let sql = format!("SELECT count(*) FROM {table}");
        sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(self.store().pool())
            .await
            .unwrap()
    }

    pub async fn post_fixture(&self, name: &str) -> reqwest::Response {
        self.post(fixture_kind(name), fixture(name)).await
    }

    /// Waits until no sync_log row is pending or in flight.
    pub async fn wait_for_sync(&self) {
        self.wait_for_sync_within(Duration::from_secs(20)).await;
    }

    pub async fn wait_for_sync_within(&self, limit: Duration) {
        let store = self.store().clone();
        wait_until("the sync log to settle", limit, || {
            let store = store.clone();
            async move {
                let open: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM sync_log WHERE status IN ('pending', 'in_flight')",
                )
                .fetch_one(store.pool())
                .await
                .unwrap();
                open == 0
            }
        })
        .await;
    }

    /// Every sync_log row, oldest first.
    pub async fn sync_log(&self) -> Vec<SyncLogEntry> {
        let filter = LogFilter {
            limit: 100_000,
            ..LogFilter::default()
        };
        self.store().sync_log(&filter).await.unwrap()
    }

    /// The one record of `object` whose `field` is `value`, from the emulator.
    pub fn record(&self, object: &str, field: &str, value: &str) -> Value {
        let mut found = self.emulator.find(object, field, value);
        assert_eq!(
            found.len(),
            1,
            "exactly one {object} with {field}={value}: {found:?}"
        );
        found.remove(0)
    }
}

/// Sync settings that settle quickly: fast polls, short backoff and pauses.
pub fn test_sync_settings() -> SyncSettings {
    SyncSettings {
        // Many tests run side by side, each polling its own database every 50 ms: two
        // workers each keep that load where the machine can carry it.
        workers: 2,
        poll_interval: Duration::from_millis(50),
        lease: Duration::from_secs(10),
        backoff: Backoff {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(200),
        },
        gather_limit: Duration::from_millis(100),
        limits: LimitSettings {
            pause: Backoff {
                base: Duration::from_millis(100),
                cap: Duration::from_secs(1),
            },
            ..LimitSettings::default()
        },
        ..SyncSettings::default()
    }
}

/// Posts every body to `{base_url}/forward/{kind}`, `concurrency` at a time, as Strex does:
/// each one again until it is answered 200. Returns the answers' bodies in input order.
pub async fn post_all(
    base_url: &str,
    forwards: Vec<(&'static str, Vec<u8>)>,
    concurrency: usize,
) -> Vec<Value> {
    let http = reqwest::Client::new();
    let gate = Arc::new(Semaphore::new(concurrency));
    let mut posts = tokio::task::JoinSet::new();
    for (index, (kind, body)) in forwards.into_iter().enumerate() {
        let permit = gate.clone().acquire_owned().await.unwrap();
        let (http, url) = (http.clone(), format!("{base_url}/forward/{kind}"));
        posts.spawn(async move {
            let answer = post_until_accepted(&http, &url, body).await;
            drop(permit);
            (index, answer)
        });
    }
    let mut answers: Vec<(usize, Value)> = posts.join_all().await;
    answers.sort_by_key(|(index, _)| *index);
    answers.into_iter().map(|(_, answer)| answer).collect()
}

/// Posts streams of forwards, `concurrency` streams at a time; the forwards of one stream go
/// one after the other, each once the one before was accepted, as one subscriber's would.
pub async fn post_streams(
    base_url: &str,
    streams: Vec<Vec<(&'static str, Vec<u8>)>>,
    concurrency: usize,
) {
    let http = reqwest::Client::new();
    let gate = Arc::new(Semaphore::new(concurrency));
    let mut posts = tokio::task::JoinSet::new();
    for stream in streams {
        let permit = gate.clone().acquire_owned().await.unwrap();
        let (http, base_url) = (http.clone(), base_url.to_owned());
        posts.spawn(async move {
            for (kind, body) in stream {
                let url = format!("{base_url}/forward/{kind}");
                post_until_accepted(&http, &url, body).await;
            }
            drop(permit);
        });
    }
    posts.join_all().await;
}

/// One forward, sent again (as Strex would) until it is answered 200.
pub async fn post_until_accepted(http: &reqwest::Client, url: &str, body: Vec<u8>) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        // Each attempt is signed afresh: a repeated nonce would be refused as a replay.
        let sent = http
            .post(url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, sign_for(url, &body))
            .body(body.clone())
            .send()
            .await;
        if let Ok(response) = sent
            && response.status() == 200
            && let Ok(answer) = response.json::<Value>().await
        {
            return answer;
        }
        assert!(Instant::now() < deadline, "{url} never accepted a forward");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A test app whose service has not started: forwards stored now wait for it as a backlog.
pub struct PreparedApp {
    pub db: TestDb,
    pub emulator: RunningEmulator,
    pub config: ServeConfig,
}

impl PreparedApp {
    /// Stores forwards through intake, as if they had been received before a restart.
    pub async fn store_forwards(&self, forwards: &[(&'static str, Vec<u8>)]) {
        let mappings =
            MappingSet::load_dir(&self.config.mappings_dir, &self.config.mapping_settings).unwrap();
        let intake = Intake {
            store: self.db.store.clone(),
            mappings: Arc::new(std::sync::RwLock::new(Arc::new(mappings))),
            numbering_plan: self.config.mapping_settings.numbering_plan.clone(),
            wake: SyncWake::default(),
        };
        for (kind, body) in forwards {
            let kind = ForwardKind::parse(kind).unwrap();
            intake.accept(kind, body).await.unwrap();
        }
    }

    pub async fn start(self) -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let service = strexforce::server::start(self.config, listener, CancellationToken::new())
            .await
            .expect("strexforce starts");
        TestApp {
            db: self.db,
            emulator: self.emulator,
            service,
            http: reqwest::Client::new(),
            signer: STREX.clone(),
        }
    }
}

/// Creates a Contact directly, as someone working in Salesforce would.
pub async fn create_contact(emulator: &RunningEmulator, fields: Value) -> String {
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{}/services/oauth2/token", emulator.url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            sf_emulator::DEFAULT_CLIENT_ID,
            sf_emulator::DEFAULT_CLIENT_SECRET
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let created: Value = http
        .post(format!(
            "{}/services/data/v66.0/sobjects/Contact",
            emulator.url()
        ))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&fields)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["id"].as_str().unwrap().to_owned()
}

/// A configuration for a test service, polling fast so that tests settle quickly.
pub fn serve_config(database_url: &str, mappings_dir: PathBuf, emulator_url: &str) -> ServeConfig {
    ServeConfig {
        database_url: database_url.to_owned(),
        pool: PoolSettings {
            max_connections: 8,
            ..database::test_pool()
        },
        mappings_dir,
        mapping_settings: MappingSettings::default(),
        salesforce: SalesforceConfig {
            login_url: emulator_url.parse().unwrap(),
            client_id: sf_emulator::DEFAULT_CLIENT_ID.to_owned(),
            client_secret: sf_emulator::DEFAULT_CLIENT_SECRET.to_owned().into(),
            flow: LoginFlow::ClientCredentials,
            api_version: "66.0".to_owned(),
            request_timeout: Duration::from_secs(5),
        },
        salesforce_startup: LoginStartup::default(),
        sync: test_sync_settings(),
        retention: RetentionPolicy::default(),
        retention_interval: None,
        limits: ReceiveLimits::default(),
        auth: AuthConfig::default(),
        admin: None,
    }
}

/// ECDSA mode trusting only `signer`'s key, under [`PUBLIC_URL`].
pub fn signed_auth(signer: &RequestSigner) -> AuthConfig {
    let mut keys = KeyRing::default();
    keys.insert(signer.key_name(), signer.public_key());
    AuthConfig {
        ecdsa: Some(EcdsaConfig {
            public_url: PublicUrl::parse(PUBLIC_URL).unwrap(),
            keys,
            key_server: None,
        }),
        token: None,
    }
}

/// Polls `check` until it holds, failing the test after `limit`.
pub async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Rows of one table as JSON, for assertions on what was stored.
pub async fn query_json(store: &Store, sql: &str) -> Vec<Value> {
    let wrapped = format!("SELECT to_jsonb(t) FROM ({sql}) t");
    sqlx::query_scalar(sqlx::AssertSqlSafe(wrapped))
        .fetch_all(store.pool())
        .await
        .unwrap()
}
