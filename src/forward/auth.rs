//! Who may write through the public forward URL: Strex, proven by its request signature, or a
//! sender holding the shared forward token. Which proofs count is chosen explicitly
//! (`STREXFORCE_AUTH`); running without any is an insecure mode that has to be asked for.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::http::request::Parts;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::signature::{
    KeyRing, KeyServer, KeyServerConfig, NonceStore, PublicUrl, SIGNATURE_HEADER, SignatureError,
    SignedRequest, SystemClock, Verified, Verifier,
};
use crate::store::{Store, StoreError};

/// How forwards must authenticate, as configured.
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    pub ecdsa: Option<EcdsaConfig>,
    /// The shared secret of token mode.
    pub token: Option<SecretString>,
}

/// What the signature check needs.
#[derive(Debug, Clone)]
pub struct EcdsaConfig {
    pub public_url: PublicUrl,
    pub keys: KeyRing,
    pub key_server: Option<KeyServerConfig>,
}

impl AuthConfig {
    /// No authentication at all: only with `--insecure-no-auth`.
    pub fn is_insecure(&self) -> bool {
        self.ecdsa.is_none() && self.token.is_none()
    }

    /// The mode as `STREXFORCE_AUTH` spells it, for startup logs.
    pub fn label(&self) -> &'static str {
        match (&self.ecdsa, &self.token) {
            (Some(_), Some(_)) => "ecdsa,token",
            (Some(_), None) => "ecdsa",
            (None, Some(_)) => "token",
            (None, None) => "NONE (insecure: anyone can post forwards)",
        }
    }
}

/// How a request proved where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authenticated {
    Signature(Verified),
    Token,
    /// Insecure mode: nothing was checked.
    Nobody,
}

/// Why a request is refused before it is stored.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Signature(#[from] SignatureError),
    #[error("the forward token is missing or wrong")]
    Token,
    #[error("neither a valid signature nor the forward token: {0}")]
    Neither(SignatureError),
    #[error(transparent)]
    Storage(#[from] StoreError),
}

impl AuthError {
    /// A short stable reason, for the answer's `code`, the counters and the logs.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::Signature(error) | AuthError::Neither(error) => error.reason(),
            AuthError::Token => "bad_token",
            AuthError::Storage(_) => "storage_unavailable",
        }
    }
}

/// The configured checks, ready for requests.
#[derive(Clone)]
pub struct ForwardAuth {
    ecdsa: Option<Ecdsa>,
    token_digest: Option<[u8; 32]>,
    failures: Arc<Mutex<BTreeMap<&'static str, u64>>>,
}

impl std::fmt::Debug for ForwardAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ForwardAuth")
            .field("ecdsa", &self.ecdsa)
            .field("token", &self.token_digest.map(|_| "[redacted]"))
            .finish()
    }
}

#[derive(Debug, Clone)]
struct Ecdsa {
    public_url: PublicUrl,
    verifier: Verifier,
    nonces: NonceStore,
}

impl ForwardAuth {
    pub fn new(config: &AuthConfig, store: &Store) -> Result<ForwardAuth, reqwest::Error> {
        let ecdsa = match &config.ecdsa {
            Some(ecdsa) => Some(Ecdsa::new(ecdsa, store)?),
            None => None,
        };
        Ok(ForwardAuth {
            ecdsa,
            token_digest: config.token.as_ref().map(|t| digest(t.expose_secret())),
            failures: Arc::default(),
        })
    }

    /// Refuses, before its body is read, a request that carries nothing that could pass
    /// whatever its body: no matching token, and no signature header to check. Reading the
    /// body of such a request first would let anyone hold a request slot for the whole body
    /// timeout by sending slowly. A request with a signature header still has its body read,
    /// since the signature covers it.
    pub async fn refuse_without_credentials(&self, parts: &Parts) -> Result<(), AuthError> {
        let may_be_signed = self.ecdsa.is_some() && parts.headers.contains_key(SIGNATURE_HEADER);
        if may_be_signed || self.token_matches(parts) {
            return Ok(());
        }
        // Without a signature header the body plays no part in the verdict.
        self.authenticate(parts, &[]).await.map(|_| ())
    }

    /// Checks a request whose body has been read but not parsed.
    pub async fn authenticate(
        &self,
        parts: &Parts,
        body: &[u8],
    ) -> Result<Authenticated, AuthError> {
        if self.token_matches(parts) {
            return Ok(Authenticated::Token);
        }
        let Some(ecdsa) = &self.ecdsa else {
            return match self.token_digest {
                Some(_) => Err(AuthError::Token),
                None => Ok(Authenticated::Nobody),
            };
        };
        match ecdsa.verify(parts, body).await {
            Ok(verified) => Ok(Authenticated::Signature(verified)),
            // A token was offered and it is wrong: that is the problem to report, not the
            // signature the sender never meant to send.
            Err(SignatureError::MissingHeader)
                if self.token_digest.is_some() && !presented_tokens(parts).is_empty() =>
            {
                Err(AuthError::Token)
            }
            Err(error) if self.token_digest.is_some() => Err(AuthError::Neither(error)),
            Err(error) => Err(AuthError::Signature(error)),
        }
    }

    /// Records the signature's nonce; a nonce seen before (by any replica) is a replay.
    pub async fn claim_nonce(&self, authenticated: &Authenticated) -> Result<(), AuthError> {
        let (Some(ecdsa), Authenticated::Signature(verified)) = (&self.ecdsa, authenticated) else {
            return Ok(());
        };
        let now = ecdsa.verifier.now_unix();
        match ecdsa.nonces.remember(verified, now).await? {
            true => Ok(()),
            false => Err(SignatureError::Replayed.into()),
        }
    }

    /// Gives the nonce back when the forward could not be stored, so Strex's retry of the
    /// identical request is accepted.
    pub async fn release_nonce(&self, authenticated: &Authenticated) {
        let (Some(ecdsa), Authenticated::Signature(verified)) = (&self.ecdsa, authenticated) else {
            return;
        };
        if let Err(error) = ecdsa.nonces.forget(verified).await {
            tracing::warn!(%error, "cannot release the nonce of a forward that was not stored");
        }
    }

    /// Counts a refusal by reason.
    pub fn count_failure(&self, reason: &'static str) {
        let mut failures = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        *failures.entry(reason).or_default() += 1;
    }

    /// Refusals so far, by reason.
    pub fn failure_counts(&self) -> BTreeMap<&'static str, u64> {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Token mode: `Authorization: Bearer …` or a `token` query parameter, compared in
    /// constant time (digests of equal length, so the length does not leak either).
    fn token_matches(&self, parts: &Parts) -> bool {
        let Some(expected) = &self.token_digest else {
            return false;
        };
        presented_tokens(parts)
            .iter()
            .any(|token| bool::from(digest(token).ct_eq(expected)))
    }
}

impl Ecdsa {
    fn new(config: &EcdsaConfig, store: &Store) -> Result<Ecdsa, reqwest::Error> {
        let key_server = match &config.key_server {
            Some(server) => Some(KeyServer::new(server.clone())?),
            None => None,
        };
        Ok(Ecdsa {
            public_url: config.public_url.clone(),
            verifier: Verifier::new(config.keys.clone(), key_server, Arc::new(SystemClock)),
            nonces: NonceStore::new(store.clone()),
        })
    }

    async fn verify(&self, parts: &Parts, body: &[u8]) -> Result<Verified, SignatureError> {
        let uri = self
            .public_url
            .absolute_uri(parts.uri.path(), parts.uri.query());
        // Several values: the .NET verifier takes the first, and so do we.
        let header = parts
            .headers
            .get(SIGNATURE_HEADER)
            .map(|value| {
                value
                    .to_str()
                    .map_err(|_| SignatureError::MalformedHeader("not ASCII"))
            })
            .transpose()?;
        let request = SignedRequest {
            method: parts.method.as_str(),
            absolute_uri: &uri,
            header,
            body,
        };
        self.verifier.verify(&request).await
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The credentials of an `Authorization: Bearer …` value; the scheme name is
/// case-insensitive (RFC 7235).
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn presented_tokens(parts: &Parts) -> Vec<String> {
    let mut tokens = Vec::new();
    let bearer = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_token);
    if let Some(token) = bearer {
        tokens.push(token.trim().to_owned());
    }
    if let Some(query) = parts.uri.query() {
        let from_query = url::form_urlencoded::parse(query.as_bytes())
            .filter(|(name, _)| name == "token")
            .map(|(_, value)| value.into_owned());
        tokens.extend(from_query);
    }
    tokens
}
