//! The verification procedure, in the order the checks run: header present, header well
//! formed, timestamp within the drift window, key known and usable, signature valid.

use std::sync::Arc;

use p256::ecdsa::signature::Verifier as _;

use super::header::SignatureHeader;
use super::key_server::KeyServer;
use super::keys::{KeyRing, PublicKey};
use super::message::signed_message;
use super::{MAX_CLOCK_DRIFT_SECS, SignatureError};

/// The current Unix time; injected so tests can fix it.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_unix(&self) -> i64;
}

/// The machine's clock (keep it synchronised with NTP: the drift window is ±300 s).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        chrono::Utc::now().timestamp()
    }
}

/// What one request brings to the check.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The URI Strex posted to, built from the configured public URL.
    pub absolute_uri: &'a str,
    /// The first `X-ECDSA-Signature` value, if any.
    pub header: Option<&'a str>,
    /// The raw body bytes, before any parsing.
    pub body: &'a [u8],
}

/// A signature that checked out; the nonce still has to be new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub key_name: String,
    pub nonce: String,
    pub timestamp: u64,
}

/// Checks signatures against the configured keys and, optionally, the key server.
#[derive(Debug, Clone)]
pub struct Verifier {
    keys: Arc<KeyRing>,
    key_server: Option<Arc<KeyServer>>,
    clock: Arc<dyn Clock>,
}

impl Verifier {
    pub fn new(keys: KeyRing, key_server: Option<KeyServer>, clock: Arc<dyn Clock>) -> Verifier {
        Verifier {
            keys: Arc::new(keys),
            key_server: key_server.map(Arc::new),
            clock,
        }
    }

    pub fn now_unix(&self) -> i64 {
        self.clock.now_unix()
    }

    pub async fn verify(&self, request: &SignedRequest<'_>) -> Result<Verified, SignatureError> {
        let value = request.header.ok_or(SignatureError::MissingHeader)?;
        let header = SignatureHeader::parse(value)?;
        let now = self.clock.now_unix();
        let drift = now.abs_diff(i64::try_from(header.timestamp).unwrap_or(i64::MAX));
        if drift > MAX_CLOCK_DRIFT_SECS {
            return Err(SignatureError::ClockDrift { drift });
        }
        let key = self
            .key(&header.key_name)
            .await
            .ok_or_else(|| SignatureError::UnknownKey(header.key_name.clone()))?;
        if !key.usable_at(now) {
            return Err(SignatureError::KeyNotUsable);
        }
        let message = signed_message(
            request.method,
            request.absolute_uri,
            &header.timestamp_text,
            &header.nonce,
            request.body,
        );
        // p256 accepts high-S signatures, as Strex's .NET signer produces about half the time.
        key.key
            .verify(message.as_bytes(), &header.signature)
            .map_err(|_| SignatureError::BadSignature)?;
        Ok(Verified {
            key_name: header.key_name,
            nonce: header.nonce,
            timestamp: header.timestamp,
        })
    }

    async fn key(&self, name: &str) -> Option<PublicKey> {
        if let Some(key) = self.keys.get(name) {
            return Some(key.clone());
        }
        self.key_server.as_ref()?.key(name).await
    }
}
