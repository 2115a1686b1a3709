//! The signed assertion of the JWT bearer flow (reference §1, JWT bearer flow).
//!
//! Salesforce accepts only RS256 and wants the expiry "within 3 minutes"; the assertion is
//! made fresh for every login and expires two minutes after it is made, which leaves room
//! for a clock that runs a little ahead.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use super::flow::JwtBearer;
use super::token_error::AuthError;

/// How long an assertion stays valid after it is made.
pub const ASSERTION_LIFETIME: Duration = Duration::from_secs(120);

/// The claims Salesforce reads.
#[derive(Debug, Serialize)]
struct Claims<'a> {
    /// The app's consumer key.
    iss: &'a str,
    /// The username the token acts as.
    sub: &'a str,
    /// The login host, or an Experience Cloud site URL.
    aud: &'a str,
    /// Seconds since the epoch.
    exp: u64,
}

/// Signs assertions with the configured private key.
pub struct AssertionSigner {
    key: EncodingKey,
    client_id: String,
    username: String,
    audience: String,
}

impl AssertionSigner {
    /// Reads the private key now, so that a bad key file is reported before any login.
    pub fn new(settings: &JwtBearer, client_id: &str) -> Result<AssertionSigner, AuthError> {
        let pem = settings.private_key_pem.expose_secret().as_bytes();
        let key = EncodingKey::from_rsa_pem(pem)
            .map_err(|error| AuthError::BadPrivateKey(error.to_string()))?;
        Ok(AssertionSigner {
            key,
            client_id: client_id.to_owned(),
            username: settings.username.clone(),
            audience: settings.audience.clone(),
        })
    }

    /// A new assertion, valid for [`ASSERTION_LIFETIME`] from `now`.
    pub fn sign(&self, now: SystemTime) -> Result<SecretString, AuthError> {
        let since_epoch = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let claims = Claims {
            iss: &self.client_id,
            sub: &self.username,
            aud: &self.audience,
            exp: (since_epoch + ASSERTION_LIFETIME).as_secs(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &self.key)
            .map(SecretString::from)
            .map_err(|error| AuthError::BadPrivateKey(error.to_string()))
    }
}

impl std::fmt::Debug for AssertionSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionSigner")
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_that_is_not_pem_is_reported_as_a_private_key_problem() {
        let settings = JwtBearer {
            username: "integration@example.com".into(),
            private_key_pem: SecretString::from("not a key"),
            audience: "https://login.salesforce.com".into(),
        };

        let error = AssertionSigner::new(&settings, "app").unwrap_err();

        assert!(error.to_string().contains("SF_PRIVATE_KEY_FILE"), "{error}");
    }
}
