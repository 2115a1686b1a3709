//! Nonces already used, kept in Postgres so that every replica refuses a replay.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::store::{Store, StoreError};

use super::MAX_CLOCK_DRIFT_SECS;
use super::verify::Verified;

/// How often expired nonces are deleted, at most, by each process.
const CLEAN_EVERY_SECS: i64 = 60;

/// The replay check.
#[derive(Debug, Clone)]
pub struct NonceStore {
    store: Store,
    last_cleaned: Arc<AtomicI64>,
}

impl NonceStore {
    pub fn new(store: Store) -> NonceStore {
        NonceStore {
            store,
            last_cleaned: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Records the nonce of a verified signature; `false` when it was recorded before.
    ///
    /// A nonce is kept until its timestamp can no longer pass the clock check (timestamp plus
    /// the drift window, and never less than the window from now).
    pub async fn remember(&self, verified: &Verified, now_unix: i64) -> Result<bool, StoreError> {
        self.clean_if_due(now_unix).await;
        let signed_at = i64::try_from(verified.timestamp).unwrap_or(i64::MAX);
        let window = i64::try_from(MAX_CLOCK_DRIFT_SECS).unwrap_or(i64::MAX);
        let expires_at = signed_at.max(now_unix).saturating_add(window);
        let inserted = sqlx::query(
            "INSERT INTO signature_nonce (key_name, nonce, signed_at, expires_at)
             VALUES ($1, $2, to_timestamp($3), to_timestamp($4))
             ON CONFLICT ON CONSTRAINT signature_nonce_pkey DO NOTHING",
        )
        .bind(&verified.key_name)
        .bind(&verified.nonce)
        .bind(signed_at as f64)
        .bind(expires_at as f64)
        .execute(self.store.pool())
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Forgets a nonce whose forward could not be stored, so that Strex's retry of the very
    /// same request is not refused as a replay.
    pub async fn forget(&self, verified: &Verified) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM signature_nonce WHERE key_name = $1 AND nonce = $2")
            .bind(&verified.key_name)
            .bind(&verified.nonce)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    async fn clean_if_due(&self, now_unix: i64) {
        let last = self.last_cleaned.load(Ordering::Relaxed);
        if now_unix - last < CLEAN_EVERY_SECS {
            return;
        }
        let claimed = self.last_cleaned.compare_exchange(
            last,
            now_unix,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        if claimed.is_err() {
            return;
        }
        let cleaned =
            sqlx::query("DELETE FROM signature_nonce WHERE expires_at < to_timestamp($1)")
                .bind(now_unix as f64)
                .execute(self.store.pool())
                .await;
        match cleaned {
            Ok(done) => tracing::debug!(deleted = done.rows_affected(), "expired nonces deleted"),
            Err(error) => tracing::warn!(%error, "cannot delete expired nonces"),
        }
    }
}
