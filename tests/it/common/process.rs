//! `strexforce serve` as a real child process, for the tests that kill it or run two.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::shipped_mappings;

/// Settings every child gets: fast polls, short leases and backoff, quiet logs.
const BASE_ENV: [(&str, &str); 9] = [
    ("SF_REQUEST_TIMEOUT_SECS", "2"),
    ("STREXFORCE_SYNC_LEASE_SECS", "4"),
    ("STREXFORCE_SYNC_POLL_INTERVAL_MS", "50"),
    ("STREXFORCE_SYNC_BACKOFF_BASE_MS", "20"),
    ("STREXFORCE_SYNC_BACKOFF_CAP_SECS", "1"),
    ("STREXFORCE_SYNC_GATHER_LIMIT_MS", "100"),
    ("STREXFORCE_RETENTION_INTERVAL_MINS", "0"),
    ("STREXFORCE_DB_MAX_CONNECTIONS", "8"),
    ("RUST_LOG", "warn"),
];

/// A running `strexforce serve`.
pub struct ServeProcess {
    child: Child,
    pub url: String,
    pub log: PathBuf,
    /// Where the child starts: an empty folder, so that no `.env` file is read.
    _workdir: tempfile::TempDir,
}

/// How to start one.
pub struct ServeCommand {
    pub database_url: String,
    pub emulator_url: String,
    pub port: u16,
    pub mappings_dir: PathBuf,
    /// Set after the defaults, so they can override them.
    pub envs: Vec<(String, String)>,
}

impl ServeCommand {
    pub fn new(database_url: &str, emulator_url: &str) -> ServeCommand {
        ServeCommand {
            database_url: database_url.to_owned(),
            emulator_url: emulator_url.to_owned(),
            port: free_port(),
            mappings_dir: shipped_mappings(),
            envs: Vec::new(),
        }
    }

    /// Starts the binary and waits until it answers /healthz.
    pub async fn start(&self) -> ServeProcess {
        let workdir = tempfile::tempdir().unwrap();
        let log = workdir.path().join("serve.log");
        let mut command = Command::new(env!("CARGO_BIN_EXE_strexforce"));
        command
            .arg("serve")
            .current_dir(workdir.path())
            .env("DATABASE_URL", &self.database_url)
            .env("STREXFORCE_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("STREXFORCE_MAPPINGS_DIR", &self.mappings_dir)
            .env("SF_LOGIN_URL", &self.emulator_url)
            .env("SF_CLIENT_ID", sf_emulator::DEFAULT_CLIENT_ID)
            .env("SF_CLIENT_SECRET", sf_emulator::DEFAULT_CLIENT_SECRET)
            // The child trusts the tests' Strex key, as the in-process services do.
            .env("STREXFORCE_AUTH", "ecdsa")
            .env("STREXFORCE_PUBLIC_URL", super::PUBLIC_URL)
            .env(
                "STREX_PUBLIC_KEYS",
                format!(
                    "{}={}",
                    super::strex_signer().key_name(),
                    super::strex_signer().public_key_base64()
                ),
            )
            .envs(BASE_ENV)
            .envs(self.envs.iter().map(|(name, value)| (name, value)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        let child = command.spawn().expect("the strexforce binary starts");
        let mut process = ServeProcess {
            child,
            url: format!("http://127.0.0.1:{}", self.port),
            log,
            _workdir: workdir,
        };
        process.wait_until_healthy().await;
        process
    }
}

impl ServeProcess {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    async fn wait_until_healthy(&mut self) {
        let http = reqwest::Client::new();
        let url = format!("{}/healthz", self.url);
        let deadline = Instant::now() + Duration::from_secs(60);
        while http.get(&url).send().await.is_err() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("serve exited with {status}:\n{}", self.log_text());
            }
            assert!(Instant::now() < deadline, "serve never answered /healthz");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// SIGKILL: the process ends at once, whatever it was doing.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, as an orchestrator stops a service.
    pub fn terminate(&self) {
        // SAFETY: kill(2) with a pid this test started and has not reaped yet.
        let sent = unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        assert_eq!(sent, 0, "SIGTERM could not be sent");
    }

    /// Waits for the process to end by itself, up to `limit`.
    pub async fn exit_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Runs `strexforce` with arguments against a database and returns its exit code and
/// output.
pub fn run_command(database_url: &str, args: &[&str]) -> (i32, String, String) {
    let workdir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_strexforce"))
        .args(args)
        .current_dir(workdir.path())
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("the strexforce binary runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}
