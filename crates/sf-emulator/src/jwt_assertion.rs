//! Checking the assertion of the JWT bearer flow against the certificate uploaded to the
//! app (reference §1, JWT bearer flow).

use anyhow::Context;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::oauth::OAuthError;

/// Salesforce wants the expiry "within 3 minutes"; a few seconds of skew are allowed.
const MAX_LIFETIME_SECS: i64 = 180;
const CLOCK_SKEW_SECS: i64 = 5;

/// The audiences Salesforce names for the JWT bearer flow.
const LOGIN_AUDIENCES: [&str; 2] = [
    "https://login.salesforce.com",
    "https://test.salesforce.com",
];

#[derive(Debug, Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: Option<i64>,
}

/// `aud` may be one string or a list of them (RFC 7519).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains_any(&self, accepted: &[String]) -> bool {
        let given: Vec<&str> = match self {
            Audience::One(one) => vec![one.as_str()],
            Audience::Many(many) => many.iter().map(String::as_str).collect(),
        };
        given.iter().any(|aud| {
            accepted
                .iter()
                .any(|ok| ok.trim_end_matches('/') == aud.trim_end_matches('/'))
        })
    }
}

/// What an assertion must be signed with and say.
pub(crate) struct AssertionRules {
    key: Option<DecodingKey>,
    audiences: Vec<String>,
}

impl std::fmt::Debug for AssertionRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssertionRules")
            .field("has_key", &self.key.is_some())
            .field("audiences", &self.audiences)
            .finish()
    }
}

impl AssertionRules {
    /// `public_key_pem` is a certificate or a public key; a bad one stops the emulator.
    pub(crate) fn new(
        public_key_pem: Option<&str>,
        audience: Option<&str>,
        base_url: &str,
    ) -> anyhow::Result<AssertionRules> {
        let key = public_key_pem
            .map(|pem| DecodingKey::from_rsa_pem(pem.as_bytes()))
            .transpose()
            .context("the JWT public key is not a PEM RSA certificate or public key")?;
        let audiences = match audience {
            Some(one) => vec![one.to_string()],
            None => LOGIN_AUDIENCES
                .iter()
                .map(|aud| aud.to_string())
                .chain([base_url.to_string()])
                .collect(),
        };
        Ok(AssertionRules { key, audiences })
    }

    /// Accepts an assertion for `client_id` and `username` at `now` (seconds since the
    /// epoch), or answers as Salesforce does.
    pub(crate) fn check(
        &self,
        assertion: &str,
        client_id: &str,
        username: &str,
        now: i64,
    ) -> Result<(), OAuthError> {
        let claims = self.verified_claims(assertion)?;
        if claims.iss.as_deref() != Some(client_id) {
            return Err(OAuthError::InvalidClientId);
        }
        if !claims
            .aud
            .is_some_and(|aud| aud.contains_any(&self.audiences))
        {
            return Err(OAuthError::InvalidGrant("Audience validation failed"));
        }
        let exp = claims
            .exp
            .ok_or(OAuthError::InvalidGrant("invalid assertion"))?;
        if exp < now - CLOCK_SKEW_SECS {
            return Err(OAuthError::InvalidGrant("expired authorization code"));
        }
        if exp > now + MAX_LIFETIME_SECS + CLOCK_SKEW_SECS {
            return Err(OAuthError::InvalidGrant("invalid assertion"));
        }
        if claims.sub.as_deref() != Some(username) {
            return Err(OAuthError::InvalidGrant("invalid assertion"));
        }
        Ok(())
    }

    /// The claims, once the RS256 signature is verified; time and audience are checked
    /// by [`AssertionRules::check`] with Salesforce's rules.
    fn verified_claims(&self, assertion: &str) -> Result<Claims, OAuthError> {
        let key = self
            .key
            .as_ref()
            .ok_or(OAuthError::InvalidGrant("invalid assertion"))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<Claims>(assertion, key, &validation)
            .map(|data| data.claims)
            .map_err(|_| OAuthError::InvalidGrant("invalid assertion"))
    }
}
