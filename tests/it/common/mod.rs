//! The test harness: a real Postgres database, the Salesforce emulator and `serve`, all on
//! loopback ports, talked to over HTTP.

mod database;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use sf_emulator::{EmulatorConfig, RunningEmulator};
use strexforce::forward::auth::{AuthConfig, EcdsaConfig};
use strexforce::forward::limits::ReceiveLimits;
use strexforce::mapping::MappingSettings;
use strexforce::salesforce::{LoginFlow, LoginStartup, SalesforceConfig};
use strexforce::server::{RunningService, ServeConfig};
use strexforce::signature::{KeyRing, PublicUrl, RequestSigner, SIGNATURE_HEADER};
use strexforce::store::{LogFilter, PoolSettings, Store, SyncLogEntry};
use strexforce::sync::SyncSettings;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use database::TestDb;

/// The shipped mappings folder.
pub fn shipped_mappings() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("mappings")
}

/// The bytes of a fixture under tests/fixtures/strex/.
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

/// A running strexforce with its own database and its own emulated org.
pub struct TestApp {
    pub db: TestDb,
    pub emulator: RunningEmulator,
    pub service: RunningService,
    pub http: reqwest::Client,
    /// Plays Strex: its public key is the one the service trusts.
    pub signer: RequestSigner,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(shipped_mappings()).await
    }

    pub async fn spawn_with(mappings_dir: PathBuf) -> TestApp {
        TestApp::spawn_configured(mappings_dir, |_| {}).await
    }

    /// A service whose configuration the test adjusts first.
    pub async fn spawn_configured(
        mappings_dir: PathBuf,
        adjust: impl FnOnce(&mut ServeConfig),
    ) -> TestApp {
        strexforce::salesforce::install_crypto_provider();
        let db = TestDb::new().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let emulator = sf_emulator::start(EmulatorConfig::default(), listener)
            .await
            .unwrap();
        let signer = RequestSigner::generate("strex-test-key");
        let mut config = serve_config(&db.url, mappings_dir, &emulator.url());
        config.auth = signed_auth(&signer);
        adjust(&mut config);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let service = strexforce::server::start(config, listener, CancellationToken::new())
            .await
            .expect("strexforce starts");
        TestApp {
            db,
            emulator,
            service,
            http: reqwest::Client::new(),
            signer,
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
        let store = self.store().clone();
        wait_until("the sync log to settle", Duration::from_secs(20), || {
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

/// A configuration for a test service, polling fast so that tests settle quickly.
pub fn serve_config(database_url: &str, mappings_dir: PathBuf, emulator_url: &str) -> ServeConfig {
    ServeConfig {
        database_url: database_url.to_owned(),
        pool: PoolSettings::default(),
        mappings_dir,
        mapping_settings: MappingSettings::default(),
        salesforce: SalesforceConfig {
            login_url: emulator_url.parse().unwrap(),
            client_id: sf_emulator::DEFAULT_CLIENT_ID.to_owned(),
            client_secret: sf_emulator::DEFAULT_CLIENT_SECRET.to_owned().into(),
            flow: LoginFlow::ClientCredentials,
            api_version: "66.0".to_owned(),
            request_timeout: Duration::from_secs(10),
        },
        salesforce_startup: LoginStartup::default(),
        sync: SyncSettings {
            poll_interval: Duration::from_millis(50),
            ..SyncSettings::default()
        },
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
