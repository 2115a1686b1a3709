//! The Postgres the benchmark writes to: a fresh temporary server with production durability,
//! or the server in DATABASE_URL. Each phase gets a database of its own.

use anyhow::{Context, bail};
use sqlx::{AssertSqlSafe, Connection, PgConnection};
use strexforce::store::temp_server::{Durability, TempServer};

/// A server and how to reach it.
pub struct Server {
    admin_url: url::Url,
    _temporary: Option<TempServer>,
}

/// What the benchmark reports about the server.
#[derive(Debug, Clone)]
pub struct ServerFacts {
    pub version: String,
    pub synchronous_commit: String,
    pub fsync: String,
}

impl Server {
    pub async fn start(database_url: Option<&str>) -> anyhow::Result<Server> {
        let (url, temporary) = match database_url {
            Some(url) => (url.to_owned(), None),
            None => {
                // Durable: fsync and synchronous_commit on, as in production, since every
                // 200 measured must stand for a commit that reached the disk.
                let server = TempServer::start(Durability::Durable).await?;
                (server.url("postgres"), Some(server))
            }
        };
        let admin_url = url::Url::parse(&url).context("DATABASE_URL is not a URL")?;
        Ok(Server {
            admin_url,
            _temporary: temporary,
        })
    }

    /// Creates a database for one phase and returns its URL. The name carries this process's
    /// id, so that two runs against one shared server never touch each other's data.
    pub async fn fresh_database(&self, phase: &'static str) -> anyhow::Result<String> {
        let name = database_name(phase);
        let mut admin = self.connect_admin().await?;
        sqlx::raw_sql(drop_statement(&name))
            .execute(&mut admin)
            .await?;
        // The name is made of a constant and a number, never of input.
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .with_context(|| format!("cannot create database {name}; the user needs CREATEDB"))?;
        let mut url = self.admin_url.clone();
        url.set_path(&name);
        Ok(url.to_string())
    }

    /// Drops a phase's database once its figures are read.
    pub async fn drop_database(&self, phase: &'static str) -> anyhow::Result<()> {
        let mut admin = self.connect_admin().await?;
        sqlx::raw_sql(drop_statement(&database_name(phase)))
            .execute(&mut admin)
            .await?;
        Ok(())
    }

    /// Refuses a server that would acknowledge commits before they are on disk: its rates
    /// would say nothing about durable intake.
    pub async fn facts(&self) -> anyhow::Result<ServerFacts> {
        let mut admin = self.connect_admin().await?;
        let mut setting = async |name: &str| -> anyhow::Result<String> {
            let value: String = sqlx::query_scalar(AssertSqlSafe(format!("SHOW {name}")))
                .fetch_one(&mut admin)
                .await?;
            Ok(value)
        };
        let facts = ServerFacts {
            version: setting("server_version").await?,
            synchronous_commit: setting("synchronous_commit").await?,
            fsync: setting("fsync").await?,
        };
        if facts.fsync != "on" || facts.synchronous_commit == "off" {
            bail!(
                "the server runs with fsync={} and synchronous_commit={}: commits are not \
                 durable there; turn both on or leave DATABASE_URL unset for a durable \
                 temporary server",
                facts.fsync,
                facts.synchronous_commit
            );
        }
        Ok(facts)
    }

    async fn connect_admin(&self) -> anyhow::Result<PgConnection> {
        PgConnection::connect(self.admin_url.as_str())
            .await
            .with_context(|| {
                format!(
                    "cannot connect to Postgres at {}",
                    redacted(&self.admin_url)
                )
            })
    }
}

fn database_name(phase: &str) -> String {
    format!("strexforce_bench_{}_{phase}", std::process::id())
}

fn drop_statement(name: &str) -> AssertSqlSafe<String> {
    AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
}

fn redacted(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_password(None);
    shown.to_string()
}
