//! Whether the database schema is the one this binary was built for, for `/readyz`.

use std::collections::HashMap;

use sqlx::migrate::Migrator;

use super::{Store, StoreError};

/// The migrations built into this binary, as `migrate` applies them: a database that a newer
/// release migrated further is left with its extra migrations.
pub fn migrator() -> Migrator {
    let mut migrator = sqlx::migrate!("./migrations");
    migrator.set_ignore_missing(true);
    migrator
}

/// What differs between the built-in migrations and those recorded in `_sqlx_migrations`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemaDrift {
    /// Built-in migrations the database has not applied (or whose apply failed).
    pub missing: Vec<i64>,
    /// Applied migrations whose file has changed since: the schema may not be what it says.
    pub changed: Vec<i64>,
}

impl SchemaDrift {
    pub fn is_current(&self) -> bool {
        self.missing.is_empty() && self.changed.is_empty()
    }
}

impl Store {
    /// Compares the applied migrations with the built-in ones. Migrations the database has
    /// and this binary does not know are not drift: during a rolling upgrade the newer
    /// replicas have migrated, and the older ones keep working on the additive schema.
    pub async fn schema_drift(&self) -> Result<SchemaDrift, StoreError> {
        let applied: Vec<(i64, bool, Vec<u8>)> =
            sqlx::query_as("SELECT version, success, checksum FROM _sqlx_migrations")
                .fetch_all(&self.pool)
                .await
                .or_else(|error| match &error {
                    // No table yet: nothing has been applied.
                    sqlx::Error::Database(db) if db.code().as_deref() == Some("42P01") => {
                        Ok(Vec::new())
                    }
                    _ => Err(error),
                })?;
        let applied: HashMap<i64, (bool, Vec<u8>)> = applied
            .into_iter()
            .map(|(version, success, checksum)| (version, (success, checksum)))
            .collect();
        let mut drift = SchemaDrift::default();
        for migration in migrator()
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
        {
            match applied.get(&migration.version) {
                Some((true, checksum)) if *checksum == *migration.checksum => {}
                Some((true, _)) => drift.changed.push(migration.version),
                _ => drift.missing.push(migration.version),
            }
        }
        Ok(drift)
    }
}
