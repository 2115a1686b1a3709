//! The Salesforce emulator and `strexforce serve`, run as child processes from the release
//! binaries, so that the service is measured as it is deployed: its own process, its own
//! runtime, its own memory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::process::{Child, Command};

use crate::forwards::ForwardMaker;

/// How long a child process may take to answer its readiness check.
const START_LIMIT: Duration = Duration::from_secs(60);

/// Where the binaries and the child processes' logs are.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub dir: PathBuf,
    pub logs: PathBuf,
}

impl Binaries {
    /// The binaries beside this one, built first when run through cargo, so that the one
    /// documented `cargo run` command is enough.
    pub fn locate() -> anyhow::Result<Binaries> {
        let exe = std::env::current_exe().context("cannot tell where this binary is")?;
        let dir = exe
            .parent()
            .context("this binary has no parent directory")?
            .to_path_buf();
        if let Some(cargo) = std::env::var_os("CARGO") {
            build_service_binaries(&cargo, &dir)?;
        }
        for name in ["strexforce", "sf-emulator"] {
            if !dir.join(name).is_file() {
                bail!(
                    "{name} is not in {}; build it first: cargo build --release --bins",
                    dir.display()
                );
            }
        }
        let logs = std::env::temp_dir().join(format!("strexforce-bench-{}", std::process::id()));
        std::fs::create_dir_all(&logs)
            .with_context(|| format!("cannot create {}", logs.display()))?;
        Ok(Binaries { dir, logs })
    }

    pub fn service_binary(&self) -> PathBuf {
        self.dir.join("strexforce")
    }
}

fn build_service_binaries(cargo: &std::ffi::OsStr, dir: &Path) -> anyhow::Result<()> {
    let mut build = std::process::Command::new(cargo);
    build.args([
        "build",
        "--quiet",
        "-p",
        "strexforce",
        "-p",
        "sf-emulator",
        "--bins",
    ]);
    if dir.ends_with("release") {
        build.arg("--release");
    }
    let status = build
        .status()
        .context("cannot run cargo to build strexforce and sf-emulator")?;
    if !status.success() {
        bail!("building strexforce and sf-emulator failed; see cargo's output above");
    }
    Ok(())
}

/// A child process, killed when dropped.
pub struct Running {
    pub url: String,
    child: Child,
}

impl Running {
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The peak resident set (VmHWM) so far, in bytes.
    pub fn peak_rss(&self) -> anyhow::Result<u64> {
        let pid = self.pid().context("the process has exited")?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .context("cannot read /proc/<pid>/status (the footprint needs Linux)")?;
        let line = status
            .lines()
            .find(|line| line.starts_with("VmHWM:"))
            .context("/proc/<pid>/status has no VmHWM line")?;
        let kib: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|value| value.parse().ok())
            .context("VmHWM is not a number of kB")?;
        Ok(kib * 1024)
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// Starts the emulator with a latency added to every data call.
pub async fn start_emulator(binaries: &Binaries, latency_ms: u64) -> anyhow::Result<Running> {
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    let mut command = Command::new(binaries.dir.join("sf-emulator"));
    command
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--latency-ms")
        .arg(latency_ms.to_string())
        // Enough daily calls for every phase of a run.
        .arg("--api-allocation")
        .arg("10000000")
        .env("RUST_LOG", "warn");
    let log = binaries.logs.join(format!("sf-emulator-{port}.log"));
    let child = spawn_logged(command, &log)?;
    let running = Running { url, child };
    wait_until_ready(&running, "/__emulator/stats", &log).await?;
    Ok(running)
}

/// What one `serve` process is connected to.
pub struct ServeSetup<'a> {
    pub database_url: &'a str,
    pub mappings_dir: &'a Path,
    /// `None` pauses the sync: logins go to a closed port and the service starts without
    /// Salesforce, so that intake is measured alone.
    pub salesforce_url: Option<&'a str>,
    /// Further settings, such as the sync's tunables.
    pub env: &'a [(String, String)],
}

pub async fn start_serve(binaries: &Binaries, setup: &ServeSetup<'_>) -> anyhow::Result<Running> {
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    let salesforce = match setup.salesforce_url {
        Some(url) => url.to_owned(),
        None => format!("http://127.0.0.1:{}", free_port()?),
    };
    let mut command = Command::new(binaries.service_binary());
    // A .env in the working directory would override nothing set here, but could add
    // settings; the log directory has none.
    command
        .current_dir(&binaries.logs)
        .arg("serve")
        .env("DATABASE_URL", setup.database_url)
        .env("STREXFORCE_LISTEN", format!("127.0.0.1:{port}"))
        .env("STREXFORCE_MAPPINGS_DIR", setup.mappings_dir)
        .env("STREXFORCE_AUTH", "ecdsa")
        .env("STREXFORCE_PUBLIC_URL", &url)
        .env("STREX_PUBLIC_KEYS", ForwardMaker::public_keys_setting()?)
        .env("SF_AUTH_FLOW", "client_credentials")
        .env("SF_LOGIN_URL", salesforce)
        .env("SF_CLIENT_ID", "strexforce-local")
        .env("SF_CLIENT_SECRET", "local-secret")
        .env(
            "STREXFORCE_START_WITHOUT_SALESFORCE",
            setup.salesforce_url.is_none().to_string(),
        )
        .env("RUST_LOG", "warn");
    for (key, value) in setup.env {
        command.env(key, value);
    }
    let log = binaries.logs.join(format!("serve-{port}.log"));
    let child = spawn_logged(command, &log)?;
    let running = Running { url, child };
    wait_until_ready(&running, "/readyz", &log).await?;
    Ok(running)
}

fn spawn_logged(mut command: Command, log: &Path) -> anyhow::Result<Child> {
    let file =
        std::fs::File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    command
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {:?}", command.as_std().get_program()))
}

async fn wait_until_ready(running: &Running, path: &str, log: &Path) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + START_LIMIT;
    let probe = format!("{}{path}", running.url);
    while Instant::now() < deadline {
        let answer = http.get(&probe).send().await;
        if answer.is_ok_and(|response| response.status().is_success()) {
            return Ok(());
        }
        // Short, so that a phase timed from readiness starts its clock close to it.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bail!(
        "{probe} did not answer 200 within {} s; see {}",
        START_LIMIT.as_secs(),
        log.display()
    )
}

/// A loopback port that was free a moment ago; the child binds it at once.
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
