//! Postgres's own limit: one-row INSERT transactions of a forward's size, at the same number
//! of clients, measured by pgbench on the same server. Intake cannot commit faster than this,
//! since each of its 200s stands for at least one such commit.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::{Connection, PgConnection};
use strexforce::store::temp_server::find_postgres_program;

/// pgbench, ready to run against one database.
pub struct Ceiling {
    pgbench: PathBuf,
    database_url: String,
    script: PathBuf,
}

impl Ceiling {
    /// Creates the scratch table and the script inserting one row of `body_size` bytes.
    pub async fn prepare(
        database_url: &str,
        body_size: usize,
        scratch: &Path,
    ) -> anyhow::Result<Ceiling> {
        let pgbench = find_postgres_program("pgbench").context(
            "pgbench not found (it comes with PostgreSQL: Debian's postgresql-client or \
             postgresql package); put it on PATH",
        )?;
        let mut connection = PgConnection::connect(database_url).await?;
        sqlx::raw_sql("CREATE TABLE ceiling_insert (id bigserial PRIMARY KEY, body text NOT NULL)")
            .execute(&mut connection)
            .await?;
        let script = scratch.join("ceiling.sql");
        std::fs::write(&script, insert_script(body_size))
            .with_context(|| format!("cannot write {}", script.display()))?;
        Ok(Ceiling {
            pgbench,
            database_url: database_url.to_owned(),
            script,
        })
    }

    /// Transactions per second at `clients` connections over `duration`.
    pub fn measure(&self, clients: usize, duration: Duration) -> anyhow::Result<f64> {
        // pgbench refuses more threads than clients.
        let threads = clients.clamp(1, 2);
        let output = Command::new(&self.pgbench)
            .args(["--no-vacuum", "--protocol=prepared", "--file"])
            .arg(&self.script)
            .arg(format!("--client={clients}"))
            .arg(format!("--jobs={threads}"))
            .arg(format!("--time={}", duration.as_secs().max(1)))
            .arg(&self.database_url)
            .output()
            .context("cannot run pgbench")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            bail!(
                "pgbench failed: {}{}",
                String::from_utf8_lossy(&output.stderr),
                stdout
            );
        }
        transactions_per_second(&stdout)
            .with_context(|| format!("pgbench printed no `tps = ` line:\n{stdout}"))
    }
}

/// A literal of the body's size; pgbench would read a `:` in JSON as a variable, so the row is
/// plain letters, which Postgres stores as it stores a forward of the same size (no TOAST
/// below 2 kB).
fn insert_script(body_size: usize) -> String {
    let body: String = "strexforce-forward-"
        .chars()
        .cycle()
        .take(body_size)
        .collect();
    format!("INSERT INTO ceiling_insert (body) VALUES ('{body}');\n")
}

fn transactions_per_second(stdout: &str) -> Option<f64> {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|number| number.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_is_read_from_pgbench_output() {
        let output = "latency average = 1.2 ms\n\
                      initial connection time = 3.1 ms\n\
                      tps = 812.345678 (without initial connection time)\n";

        assert_eq!(transactions_per_second(output), Some(812.345678));
    }

    #[test]
    fn the_script_inserts_one_row_of_the_body_size() {
        let script = insert_script(700);

        let literal = script.split('\'').nth(1).unwrap();
        assert_eq!(literal.len(), 700);
        assert!(!literal.contains(':'));
    }
}
