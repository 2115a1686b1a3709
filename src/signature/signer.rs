//! Signing requests the way Strex does: for the demo, the tests and anyone checking a
//! deployment end to end with a key of their own.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePublicKey};

use super::keys::PublicKey;
use super::message::signed_message;

/// A private key and the name the header gives for it.
#[derive(Clone)]
pub struct RequestSigner {
    key_name: String,
    key: SigningKey,
}

impl std::fmt::Debug for RequestSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestSigner")
            .field("key_name", &self.key_name)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl RequestSigner {
    /// A fresh random key.
    pub fn generate(key_name: &str) -> RequestSigner {
        loop {
            let bytes: [u8; 32] = rand::random();
            // Almost every 32-byte string is a valid scalar; the loop skips the rare others.
            if let Ok(key) = SigningKey::from_slice(&bytes) {
                return RequestSigner::new(key_name, key);
            }
        }
    }

    pub fn from_pkcs8_pem(key_name: &str, pem: &str) -> Option<RequestSigner> {
        let key = SigningKey::from_pkcs8_pem(pem).ok()?;
        Some(RequestSigner::new(key_name, key))
    }

    pub fn new(key_name: &str, key: SigningKey) -> RequestSigner {
        RequestSigner {
            key_name: key_name.to_owned(),
            key,
        }
    }

    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The public half as base64 DER SubjectPublicKeyInfo, the form `STREX_PUBLIC_KEYS` takes.
    pub fn public_key_base64(&self) -> String {
        let der = self
            .key
            .verifying_key()
            .to_public_key_der()
            .expect("a P-256 public key always encodes");
        STANDARD.encode(der.as_bytes())
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_spki_base64(&self.public_key_base64()).expect("our own key decodes")
    }

    /// The `X-ECDSA-Signature` value for a request.
    pub fn header(
        &self,
        method: &str,
        absolute_uri: &str,
        timestamp: u64,
        nonce: &str,
        body: &[u8],
    ) -> String {
        let signature = self.signature(method, absolute_uri, timestamp, nonce, body);
        format!(
            "{}:{timestamp}:{nonce}:{}",
            self.key_name,
            STANDARD.encode(signature.to_bytes())
        )
    }

    /// The header for a request sent now, with a fresh random nonce, as Strex sends them.
    pub fn header_now(&self, method: &str, absolute_uri: &str, body: &[u8]) -> String {
        let timestamp = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or_default();
        let nonce = uuid::Uuid::new_v4().to_string();
        self.header(method, absolute_uri, timestamp, &nonce, body)
    }

    /// The raw signature, for tests that look at its bytes.
    pub fn signature(
        &self,
        method: &str,
        absolute_uri: &str,
        timestamp: u64,
        nonce: &str,
        body: &[u8],
    ) -> Signature {
        let message = signed_message(method, absolute_uri, &timestamp.to_string(), nonce, body);
        self.key.sign(message.as_bytes())
    }
}
