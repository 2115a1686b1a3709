//! What the `strexforce serve` binary writes to its logs in a full run: no secret, no
//! signature header, no end user's full number.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sf_emulator::EmulatorConfig;
use strexforce::signature::{RequestSigner, SIGNATURE_HEADER};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

use crate::common::{TestDb, fixture, fixture_kind, shipped_mappings, wait_until};

const SF_SECRET: &str = "sf-client-secret-that-must-not-leak-4242";
const FORWARD_TOKEN: &str = "forward-token-that-must-not-leak-0123456789";
const ADMIN_TOKEN: &str = "admin-token-that-must-not-leak-0123456789";
const API_KEY: &str = "strex-api-key-that-must-not-leak-0123";
const PUBLIC_URL: &str = "https://connector.example.com";

/// The numbers the fixtures hold, without their `+`.
const NUMBERS: [&str; 7] = [
    "4700000001",
    "4700000002",
    "4700000003",
    "4700000004",
    "4700000005",
    "4700000006",
    "4700000007",
];

/// A running binary and everything it has written to stderr so far.
struct Binary {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl Binary {
    fn start(envs: &[(&str, String)], args: &[&str]) -> Binary {
        let workdir = std::env::temp_dir();
        let mut command = Command::new(env!("CARGO_BIN_EXE_strexforce"));
        command
            .arg("serve")
            .args(args)
            .env_clear()
            .current_dir(workdir)
            .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("the binary starts");
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let stderr = child.stderr.take().unwrap();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Binary { child, log }
    }

    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The forward listener's address, from the startup log.
    async fn address(&self) -> String {
        let mut found = None;
        wait_until("the binary to listen", Duration::from_secs(30), || {
            found = self
                .log()
                .lines()
                .find(|line| line.contains("accepting forwards"))
                .and_then(|line| line.split("addr=").nth(1))
                .map(|rest| {
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned()
                });
            std::future::ready(found.is_some())
        })
        .await;
        found.unwrap()
    }

    /// The forward listener's address, from a JSON startup log.
    async fn address_from_json(&self) -> String {
        let mut found = None;
        wait_until("the binary to listen", Duration::from_secs(30), || {
            found = self.log().lines().find_map(|line| {
                let line: serde_json::Value = serde_json::from_str(line).ok()?;
                (line["fields"]["message"] == "accepting forwards")
                    .then(|| line["fields"]["addr"].as_str().map(str::to_owned))?
            });
            std::future::ready(found.is_some())
        })
        .await;
        found.unwrap()
    }

    /// SIGTERM, as an orchestrator stops it, then everything it logged.
    async fn stop(mut self) -> String {
        if let Some(pid) = self.child.id() {
            // SAFETY: kill(2) on the process this test started; no memory is involved.
            unsafe { libc::kill(pid as i32, libc::SIGTERM) };
        }
        let _ = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
        self.log()
    }
}

async fn base_env(db: &TestDb, emulator_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", db.url.clone()),
        ("SF_LOGIN_URL", emulator_url.to_owned()),
        ("SF_CLIENT_ID", sf_emulator::DEFAULT_CLIENT_ID.to_owned()),
        ("SF_CLIENT_SECRET", SF_SECRET.to_owned()),
        ("STREXFORCE_LISTEN", "127.0.0.1:0".to_owned()),
        (
            "STREXFORCE_MAPPINGS_DIR",
            shipped_mappings().display().to_string(),
        ),
        ("STREXFORCE_SYNC_POLL_INTERVAL_MS", "50".to_owned()),
        ("RUST_LOG", "debug".to_owned()),
    ]
}

async fn emulator() -> sf_emulator::RunningEmulator {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = EmulatorConfig::new(sf_emulator::DEFAULT_CLIENT_ID, SF_SECRET);
    sf_emulator::start(config, listener).await.unwrap()
}

/// Answers every key request 404, so unknown key names are looked up with the API key.
async fn empty_key_server() -> String {
    let app = axum::Router::new().fallback(|| async { axum::http::StatusCode::NOT_FOUND });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

/// Posts forwards to the binary, signed or not.
struct Sender<'a> {
    http: reqwest::Client,
    base: &'a str,
    signer: &'a RequestSigner,
}

impl Sender<'_> {
    async fn post(&self, path: &str, body: Vec<u8>, header: Option<&str>) -> u16 {
        let mut request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(header) = header {
            request = request.header(SIGNATURE_HEADER, header);
        }
        request.send().await.unwrap().status().as_u16()
    }

    fn sign(&self, path: &str, body: &[u8]) -> String {
        self.signer
            .header_now("POST", &format!("{PUBLIC_URL}{path}"), body)
    }

    /// Every fixture, signed; then the first one again, byte for byte (a replay).
    async fn fixtures(&self) -> Vec<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/strex");
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter(|name| name.ends_with(".json") && name != "manifest.json")
            .collect();
        names.sort();
        let mut headers = Vec::new();
        for name in &names {
            let path = format!("/forward/{}", fixture_kind(name));
            let header = self.sign(&path, &fixture(name));
            assert_eq!(
                self.post(&path, fixture(name), Some(&header)).await,
                200,
                "{name}"
            );
            headers.push(header);
        }
        let path = format!("/forward/{}", fixture_kind(&names[0]));
        let replay = self
            .post(&path, fixture(&names[0]), Some(&headers[0]))
            .await;
        assert_eq!(replay, 401, "a replay");
        headers
    }

    /// A signed bad body quoting a number, a forward Salesforce refuses, a forged key name,
    /// token forwards good and bad.
    async fn others(&self, valid_header: &str) -> Vec<String> {
        let mut refused: serde_json::Value =
            serde_json::from_slice(&fixture("mo-plain.json")).unwrap();
        refused["transactionId"] = "keyword-too-long".into();
        refused["properties"]["Keyword"] = "K".repeat(60).into();
        let refused = serde_json::to_vec(&refused).unwrap();
        let refused_header = self.sign("/forward/mo", &refused);
        assert_eq!(
            self.post("/forward/mo", refused, Some(&refused_header))
                .await,
            200
        );
        let bad_body = br#"{"transactionId":"t","sender":4798079008,"recipient":"2"}"#;
        let header = self.sign("/forward/mo", bad_body);
        assert_eq!(
            self.post("/forward/mo", bad_body.to_vec(), Some(&header))
                .await,
            400
        );
        let forged = format!("nobody-key:{}", valid_header.split_once(':').unwrap().1);
        let body = fixture("dlr-subscribe.json");
        assert_eq!(self.post("/forward/dlr", body, Some(&forged)).await, 401);
        let with_token = format!("/forward/dlr?token={FORWARD_TOKEN}");
        assert_eq!(
            self.post(&with_token, fixture("dlr-signup.json"), None)
                .await,
            200
        );
        let wrong = format!("/forward/dlr?token={}", &FORWARD_TOKEN[1..]);
        assert_eq!(
            self.post(&wrong, fixture("dlr-signup.json"), None).await,
            401
        );
        for token in [ADMIN_TOKEN, "wrong-admin-token"] {
            let url = format!("{}/admin/status", self.base);
            self.http.get(url).bearer_auth(token).send().await.unwrap();
        }
        vec![header, forged, refused_header]
    }
}

/// Every kind of traffic; returns the signature headers sent.
async fn traffic(base: &str, signer: &RequestSigner) -> Vec<String> {
    strexforce::salesforce::install_crypto_provider();
    let sender = Sender {
        http: reqwest::Client::new(),
        base,
        signer,
    };
    let mut headers = sender.fixtures().await;
    let others = sender.others(&headers[1]).await;
    headers.extend(others);
    headers
}

/// The settings of a binary with every secret set: both auth modes, key fetching with an
/// API key, admin endpoints.
async fn full_env(
    db: &TestDb,
    emulator_url: &str,
    signer: &RequestSigner,
) -> Vec<(&'static str, String)> {
    let mut env = base_env(db, emulator_url).await;
    env.extend([
        ("STREXFORCE_AUTH", "ecdsa,token".to_owned()),
        ("STREXFORCE_PUBLIC_URL", PUBLIC_URL.to_owned()),
        (
            "STREX_PUBLIC_KEYS",
            format!("strex-test-key={}", signer.public_key_base64()),
        ),
        ("STREX_KEY_FETCH", "true".to_owned()),
        ("STREX_API_BASE_URL", empty_key_server().await),
        ("STREX_API_KEY", API_KEY.to_owned()),
        ("STREXFORCE_FORWARD_TOKEN", FORWARD_TOKEN.to_owned()),
        ("STREXFORCE_ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
    ]);
    env
}

async fn wait_for_sync(db: &TestDb) {
    let store = db.store.clone();
    wait_until("the sync to settle", Duration::from_secs(30), || {
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

/// Salesforce access tokens look like `<15-character org id>!<long secret>`.
fn access_tokens(log: &str) -> Vec<&str> {
    log.split(|c: char| !(c.is_ascii_alphanumeric() || c == '!' || c == '.'))
        .filter(|word| word.contains('!') && word.len() > 60)
        .collect()
}

#[tokio::test]
async fn a_full_run_logs_no_secret_no_signature_and_no_full_number() {
    let db = TestDb::new().await;
    let emulator = emulator().await;
    let signer = RequestSigner::generate("strex-test-key");
    let binary = Binary::start(&full_env(&db, &emulator.url(), &signer).await, &[]);
    let base = format!("http://{}", binary.address().await);

    let headers = traffic(&base, &signer).await;
    wait_for_sync(&db).await;
    let log = binary.stop().await;

    assert!(
        log.matches("forward accepted").count() >= 20,
        "too little was logged:\n{log}"
    );
    assert!(log.contains("forward refused"), "refusals are logged");
    assert!(log.contains("replayed_nonce"), "replays are logged");
    let refusal = log
        .lines()
        .find(|line| line.contains("their rows are failed"))
        .unwrap_or_else(|| panic!("a record Salesforce refused is not logged:\n{log}"));
    assert!(
        refusal.contains("WARN") && refusal.contains("STRING_TOO_LONG"),
        "{refusal}"
    );
    assert!(
        log.contains("`*******008`"),
        "numbers in errors are masked, not dropped"
    );
    for secret in [SF_SECRET, FORWARD_TOKEN, ADMIN_TOKEN, API_KEY] {
        assert!(!log.contains(secret), "a secret is in the log: {secret}");
    }
    for header in &headers {
        let signature = header.rsplit(':').next().unwrap();
        assert!(
            !log.contains(signature),
            "a signature is in the log: {header}"
        );
    }
    assert!(access_tokens(&log).is_empty(), "{:?}", access_tokens(&log));
    for number in NUMBERS.iter().chain(&["4798079008"]) {
        assert!(
            !log.contains(number),
            "a full number is in the log: {number}"
        );
    }
}

#[tokio::test]
async fn serve_without_an_auth_mode_refuses_to_start_and_says_how_to_fix_it() {
    let db = TestDb::new().await;
    let env = base_env(&db, "http://127.0.0.1:1").await;

    let binary = Binary::start(&env, &[]);
    let status = tokio::time::timeout(Duration::from_secs(30), async {
        let mut binary = binary;
        let status = binary.child.wait().await.unwrap();
        (status, binary)
    })
    .await
    .expect("the binary exits");

    let (status, binary) = status;
    assert!(!status.success());
    let log = binary.log();
    assert!(log.contains("STREXFORCE_AUTH"), "{log}");
    assert!(log.contains("--insecure-no-auth"), "{log}");
}

#[tokio::test]
async fn an_insecure_service_says_so_in_every_startup_log_line() {
    let db = TestDb::new().await;
    let emulator = emulator().await;
    let mut env = base_env(&db, &emulator.url()).await;
    env.push(("RUST_LOG", "info".to_owned()));

    let binary = Binary::start(&env, &["--insecure-no-auth"]);
    binary.address().await;
    let log = binary.stop().await;

    let startup: Vec<&str> = log
        .lines()
        .take_while(|line| !line.contains("shutting down"))
        .filter(|line| !line.trim().is_empty())
        .collect();
    assert!(startup.len() >= 3, "{log}");
    for line in startup {
        assert!(
            line.contains("insecure"),
            "a startup line without the warning: {line}"
        );
    }
}

#[tokio::test]
async fn the_startup_summary_shows_the_configuration_and_no_secret() {
    let db = TestDb::new().await;
    let emulator = emulator().await;
    let signer = RequestSigner::generate("strex-test-key");
    let mut env = full_env(&db, &emulator.url(), &signer).await;
    // The test server trusts local connections, so any password gets in.
    let with_password = db
        .url
        .replacen("postgres@", &format!("postgres:{DB_PASSWORD}@"), 1);
    env.retain(|(name, _)| *name != "DATABASE_URL" && *name != "RUST_LOG");
    env.extend([
        ("DATABASE_URL", with_password),
        ("RUST_LOG", "info".to_owned()),
    ]);

    let binary = Binary::start(&env, &[]);
    binary.address().await;
    let log = binary.stop().await;

    let summary: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" configuration "))
        .collect();
    assert_eq!(summary.len(), 1, "one summary line:\n{log}");
    for shown in [
        "database=postgres://postgres:***@127.0.0.1",
        "sf_auth_flow=\"client_credentials\"",
        "auth=\"ecdsa,token\"",
        "strex_key_fetch=true",
        "forward_token=\"set\"",
        "sf_client_secret=\"set\"",
        "sf_flow_secrets=\"none\"",
        "admin=\"on the forward listener, token set\"",
    ] {
        assert!(
            summary[0].contains(shown),
            "{shown} missing from {}",
            summary[0]
        );
    }
    for secret in [SF_SECRET, FORWARD_TOKEN, ADMIN_TOKEN, API_KEY, DB_PASSWORD] {
        assert!(!log.contains(secret), "a secret is in the log: {secret}");
    }
}

const DB_PASSWORD: &str = "database-password-that-must-not-leak";

/// The fields of the spans a JSON log line was written in, by span name.
fn span_fields<'a>(line: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|span| span["name"] == name)
}

#[tokio::test]
async fn json_log_lines_carry_the_request_and_the_batch_span_fields() {
    let db = TestDb::new().await;
    let emulator = emulator().await;
    let mut env = base_env(&db, &emulator.url()).await;
    env.extend([
        ("STREXFORCE_LOG_FORMAT", "json".to_owned()),
        ("STREXFORCE_AUTH", "token".to_owned()),
        ("STREXFORCE_FORWARD_TOKEN", FORWARD_TOKEN.to_owned()),
    ]);
    let binary = Binary::start(&env, &[]);
    let base = format!("http://{}", binary.address_from_json().await);

    let answer = reqwest::Client::new()
        .post(format!("{base}/forward/dlr"))
        .header("content-type", "application/json")
        .bearer_auth(FORWARD_TOKEN)
        .body(fixture("dlr-subscribe.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let event_id = answer.json::<serde_json::Value>().await.unwrap()["event_id"].clone();
    wait_for_sync(&db).await;
    let log = binary.stop().await;

    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let answered = lines
        .iter()
        .find(|l| {
            l["fields"]["message"] == "request answered" && l["span"]["path"] == "/forward/dlr"
        })
        .expect("a line for the request");
    let request = &answered["span"];
    assert_eq!(request["name"], "request");
    assert_eq!(request["method"], "POST");
    assert_eq!(request["status"], 200);
    assert_eq!(request["event_id"], event_id);
    assert!(request["latency_ms"].is_u64(), "{request}");
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM sync_log ORDER BY id")
        .fetch_all(db.store.pool())
        .await
        .unwrap();
    let batches: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "batch sent")
        .filter_map(|l| span_fields(l, "sync_batch"))
        .collect();
    assert!(!batches.is_empty(), "no batch line:\n{log}");
    let logged_ids: Vec<String> = batches
        .iter()
        .map(|b| b["sync_log_ids"].to_string())
        .collect();
    for id in ids {
        assert!(
            logged_ids.iter().any(|list| list.contains(&id.to_string())),
            "{id}"
        );
    }
    assert!(
        batches.iter().all(|b| b["status"] == "succeeded"),
        "{batches:?}"
    );
    assert!(
        batches.iter().any(|b| b["sobject"] == "Contact"),
        "{batches:?}"
    );
}
