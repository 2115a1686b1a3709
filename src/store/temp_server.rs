//! A throwaway PostgreSQL server for the demo and the tests, started from the PostgreSQL
//! binaries installed on the machine (through pgtemp) when no DATABASE_URL is given.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pgtemp::{PgTempDB, PgTempDBBuilder};

/// Why a temporary server could not be started.
#[derive(Debug, thiserror::Error)]
pub enum TempServerError {
    #[error(
        "no PostgreSQL server binaries found (initdb, postgres); install PostgreSQL \
         (Debian: apt-get install postgresql) or set DATABASE_URL to a running server"
    )]
    NoBinaries,
    #[error(
        "running as root: PostgreSQL refuses to run as root, so the temporary server is \
         started as the `postgres` user through sudo, and {0}; install it, run as another \
         user, or set DATABASE_URL to a running server"
    )]
    RootWithoutSudo(&'static str),
    #[error("the temporary PostgreSQL server did not start: {0}")]
    Failed(String),
}

/// How the temporary server treats commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fsync and synchronous commit off: fastest, for tests and the demo.
    Relaxed,
    /// The defaults of a production server, for benchmarks that must measure real commits.
    Durable,
}

/// A running temporary server; it stops and its data directory is removed on drop.
pub struct TempServer {
    db: PgTempDB,
}

impl std::fmt::Debug for TempServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TempServer")
            .field("port", &self.db.db_port())
            .finish()
    }
}

impl TempServer {
    /// Starts a server and waits until it accepts connections.
    pub async fn start(durability: Durability) -> Result<TempServer, TempServerError> {
        let bin_dir = find_bin_dir().ok_or(TempServerError::NoBinaries)?;
        check_root_prerequisites()?;
        let db = tokio::task::spawn_blocking(move || start_blocking(&bin_dir, durability))
            .await
            .map_err(|error| TempServerError::Failed(error.to_string()))??;
        let server = TempServer { db };
        server.wait_until_ready(Duration::from_secs(20)).await?;
        Ok(server)
    }

    /// A URL for a database on this server (the `postgres` database always exists).
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://{}:{}@127.0.0.1:{}/{database}",
            self.db.db_user(),
            self.db.db_pass(),
            self.db.db_port()
        )
    }

    async fn wait_until_ready(&self, limit: Duration) -> Result<(), TempServerError> {
        let deadline = Instant::now() + limit;
        let url = self.url("postgres");
        loop {
            match sqlx::PgPool::connect(&url).await {
                Ok(pool) => {
                    pool.close().await;
                    return Ok(());
                }
                Err(error) if Instant::now() > deadline => {
                    return Err(TempServerError::Failed(error.to_string()));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

fn start_blocking(bin_dir: &Path, durability: Durability) -> Result<PgTempDB, TempServerError> {
    let mut builder = PgTempDBBuilder::new()
        .with_bin_path(bin_dir)
        // The `postgres` database exists after initdb, so pgtemp need not run createdb (which
        // it gives only a second to succeed).
        .with_dbname("postgres")
        .with_config_param("max_connections", "200");
    if durability == Durability::Durable {
        for (key, value) in [
            ("fsync", "on"),
            ("synchronous_commit", "on"),
            ("full_page_writes", "on"),
        ] {
            builder = builder.with_config_param(key, value);
        }
    }
    // pgtemp reports failures by panicking; turn that into an error with its message.
    std::panic::catch_unwind(move || builder.start()).map_err(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_else(|| "unknown error".to_owned());
        TempServerError::Failed(message)
    })
}

/// Debian and Ubuntu keep initdb off the PATH, in the directory `pg_config --bindir` names.
fn find_bin_dir() -> Option<PathBuf> {
    postgres_bin_dirs()
        .into_iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("postgres").is_file())
}

/// Where an installed PostgreSQL program such as `pgbench` is, looked up as the server's
/// own binaries are.
pub fn find_postgres_program(name: &str) -> Option<PathBuf> {
    postgres_bin_dirs()
        .into_iter()
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The directories PostgreSQL programs may be in, most likely first: the one
/// `pg_config --bindir` names, `/usr/lib/postgresql/<version>/bin` newest version first,
/// then the PATH.
fn postgres_bin_dirs() -> Vec<PathBuf> {
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()));
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    debian.sort();
    debian.reverse();
    let from_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    from_pg_config
        .into_iter()
        .chain(debian)
        .chain(from_path)
        .collect()
}

fn check_root_prerequisites() -> Result<(), TempServerError> {
    // SAFETY: getuid has no preconditions and cannot fail.
    let is_root = unsafe { libc::getuid() } == 0;
    if !is_root {
        return Ok(());
    }
    let has_sudo = Command::new("sudo").arg("--version").output().is_ok();
    if !has_sudo {
        return Err(TempServerError::RootWithoutSudo("sudo is not installed"));
    }
    let has_postgres_user = Command::new("id")
        .arg("postgres")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_postgres_user {
        return Err(TempServerError::RootWithoutSudo(
            "there is no `postgres` user",
        ));
    }
    Ok(())
}
