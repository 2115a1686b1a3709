//! Keys fetched on demand from the Target365 public-key resource,
//! `GET {base}api/server/public-keys/{keyName}`, and kept for the life of the process.
//!
//! A key name nobody configured is asked for at most once per negative-cache period, and
//! all fetches together are capped per minute, so forged headers with random key names cannot
//! make this service hammer the key server.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::keys::PublicKey;

/// Where and how to fetch keys.
#[derive(Debug, Clone)]
pub struct KeyServerConfig {
    /// The API base, such as `https://shared.target365.io/`.
    pub base_url: Url,
    /// Sent as `X-ApiKey` when set.
    pub api_key: Option<SecretString>,
    /// How long a name the server did not give a key for stays refused without asking again.
    pub negative_ttl: Duration,
    /// Most fetches in any minute, whatever the names.
    pub max_fetches_per_minute: u32,
    pub request_timeout: Duration,
}

impl KeyServerConfig {
    pub fn new(base_url: Url) -> KeyServerConfig {
        KeyServerConfig {
            base_url,
            api_key: None,
            negative_ttl: Duration::from_secs(300),
            max_fetches_per_minute: 10,
            request_timeout: Duration::from_secs(5),
        }
    }
}

/// The key resource's body (camelCase, as the SDK models have it).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyResource {
    name: Option<String>,
    public_key_string: String,
    sign_algo: Option<String>,
    not_usable_before: Option<DateTime<Utc>>,
    expiry: Option<DateTime<Utc>>,
}

#[derive(Debug, Default)]
struct Cache {
    found: HashMap<String, PublicKey>,
    refused_until: HashMap<String, Instant>,
    window_start: Option<Instant>,
    fetches_in_window: u32,
}

/// A caching client of the key resource.
#[derive(Debug)]
pub struct KeyServer {
    config: KeyServerConfig,
    http: reqwest::Client,
    cache: Mutex<Cache>,
}

impl KeyServer {
    pub fn new(config: KeyServerConfig) -> Result<KeyServer, reqwest::Error> {
        crate::salesforce::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(KeyServer {
            config,
            http,
            cache: Mutex::new(Cache::default()),
        })
    }

    /// The key called `name`, from the cache or the server; `None` when there is none (or
    /// asking is not allowed right now).
    pub async fn key(&self, name: &str) -> Option<PublicKey> {
        if let Some(key) = self.cached_or_refused(name)? {
            return Some(key);
        }
        let fetched = self.fetch(name).await;
        let mut cache = self.lock();
        match &fetched {
            Some(key) => {
                cache.found.insert(name.to_owned(), key.clone());
            }
            None => {
                let until = Instant::now() + self.config.negative_ttl;
                cache.refused_until.insert(name.to_owned(), until);
            }
        }
        fetched
    }

    /// `Some(Some(key))` when cached, `None` when the name is refused or the fetch budget is
    /// spent, `Some(None)` when a fetch may go ahead (and is counted).
    fn cached_or_refused(&self, name: &str) -> Option<Option<PublicKey>> {
        let mut cache = self.lock();
        if let Some(key) = cache.found.get(name) {
            return Some(Some(key.clone()));
        }
        let now = Instant::now();
        cache.refused_until.retain(|_, until| *until > now);
        if cache.refused_until.contains_key(name) {
            return None;
        }
        let window_over = cache
            .window_start
            .is_none_or(|start| now.duration_since(start) >= Duration::from_secs(60));
        if window_over {
            cache.window_start = Some(now);
            cache.fetches_in_window = 0;
        }
        if cache.fetches_in_window >= self.config.max_fetches_per_minute {
            tracing::warn!(
                key_name = name,
                "key fetch budget spent; unknown key refused"
            );
            return None;
        }
        cache.fetches_in_window += 1;
        Some(None)
    }

    #[tracing::instrument(skip(self), fields(status))]
    async fn fetch(&self, name: &str) -> Option<PublicKey> {
        let url = self
            .config
            .base_url
            .join(&format!("api/server/public-keys/{name}"))
            .ok()?;
        let mut request = self.http.get(url);
        if let Some(api_key) = &self.config.api_key {
            request = request.header("X-ApiKey", api_key.expose_secret());
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                tracing::warn!(error = %error.without_url(), "cannot reach the key server");
                return None;
            }
        };
        let status = response.status();
        tracing::Span::current().record("status", status.as_u16());
        if status == reqwest::StatusCode::NOT_FOUND {
            tracing::warn!("the key server has no such key");
            return None;
        }
        if !status.is_success() {
            tracing::warn!("the key server refused the key request");
            return None;
        }
        let body = match read_capped(response, MAX_KEY_RESOURCE_BYTES).await {
            Ok(body) => body,
            Err(problem) => {
                tracing::warn!(%problem, "cannot read the key server's answer");
                return None;
            }
        };
        match serde_json::from_slice::<KeyResource>(&body) {
            Ok(resource) => accept_resource(name, resource),
            Err(error) => {
                tracing::warn!(%error, "the key server's answer is not a public key resource");
                None
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A public key resource is a few hundred bytes; a larger answer is not one.
const MAX_KEY_RESOURCE_BYTES: usize = 64 * 1024;

/// Reads a response body, giving up once it passes `limit` bytes, so a misbehaving key
/// server cannot make the process buffer an unbounded answer.
async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|error| error.without_url().to_string())?
    {
        if body.len() + chunk.len() > limit {
            return Err(format!("the answer is larger than {limit} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Server keys must be P-256 (`ECDsaP256`), as the .NET verifier requires, and carry the
/// name that was asked for.
fn accept_resource(name: &str, resource: KeyResource) -> Option<PublicKey> {
    let algorithm_ok = resource
        .sign_algo
        .as_deref()
        .is_none_or(|algo| algo.eq_ignore_ascii_case("ECDsaP256"));
    let name_ok = resource.name.as_deref().is_none_or(|found| found == name);
    if !algorithm_ok || !name_ok {
        tracing::warn!(
            key_name = name,
            "the key server's key is not a P-256 key of that name"
        );
        return None;
    }
    let mut key = PublicKey::from_spki_base64(&resource.public_key_string).ok()?;
    key.not_usable_before = resource.not_usable_before;
    key.expiry = resource.expiry;
    Some(key)
}
