//! The OAuth 2.0 token endpoint (reference §1). Each grant type is its own function:
//! client credentials, JWT bearer, refresh token and username-password. Others answer
//! `unsupported_grant_type`.

use std::collections::HashMap;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

use crate::state::Emulator;

/// The form fields of a token request, plus HTTP Basic client credentials if sent.
#[derive(Debug, Default)]
pub(crate) struct TokenRequest {
    form: HashMap<String, String>,
    basic: Option<(String, String)>,
}

/// A successful token response. Salesforce sends no `expires_in`.
#[derive(Debug, Serialize)]
pub(crate) struct TokenResponse {
    access_token: String,
    signature: String,
    scope: &'static str,
    instance_url: String,
    id: String,
    token_type: &'static str,
    issued_at: String,
    token_format: &'static str,
    /// Only from the refresh token flow, and only when rotation is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

/// Token endpoint failures, answered as `{"error", "error_description"}` with 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OAuthError {
    #[error("client identifier invalid")]
    InvalidClientId,
    #[error("invalid client credentials")]
    InvalidClient,
    #[error("grant type not supported")]
    UnsupportedGrantType,
    /// `invalid_grant` with Salesforce's description of why.
    #[error("{0}")]
    InvalidGrant(&'static str),
    /// A refusal by an org or app policy, with its own code.
    #[error("{1}")]
    Policy(&'static str, &'static str),
}

impl OAuthError {
    fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidClientId => "invalid_client_id",
            OAuthError::InvalidClient => "invalid_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::Policy(code, _) => code,
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.code(), "error_description": self.to_string()});
        (StatusCode::BAD_REQUEST, Json(body)).into_response()
    }
}

impl TokenRequest {
    /// Parses an `application/x-www-form-urlencoded` body and an optional
    /// `Authorization: Basic` header.
    pub(crate) fn parse(body: &[u8], authorization: Option<&str>) -> TokenRequest {
        let form = form_urlencoded::parse(body).into_owned().collect();
        let basic = authorization.and_then(basic_credentials);
        TokenRequest { form, basic }
    }

    fn field(&self, name: &str) -> Option<&str> {
        self.form.get(name).map(String::as_str)
    }

    /// Body parameters win over the Basic header when both are present.
    fn client_credentials(&self) -> (Option<&str>, Option<&str>) {
        let basic = self.basic.as_ref();
        let id = self.field("client_id").or(basic.map(|(id, _)| id.as_str()));
        let secret = self
            .field("client_secret")
            .or(basic.map(|(_, secret)| secret.as_str()));
        (id, secret)
    }
}

fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(BASE64.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// The grant type of the JWT bearer flow (RFC 7523).
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Dispatches on `grant_type`; a login policy in force refuses every grant once the
/// client is known.
pub(crate) fn grant(state: &Emulator, request: &TokenRequest) -> Result<TokenResponse, OAuthError> {
    match request.field("grant_type") {
        Some("client_credentials") => client_credentials(state, request),
        Some(JWT_BEARER) => jwt_bearer(state, request),
        Some("refresh_token") => refresh_token(state, request),
        Some("password") => password(state, request),
        _ => Err(OAuthError::UnsupportedGrantType),
    }
}

fn refuse_by_policy(state: &Emulator) -> Result<(), OAuthError> {
    match state.login_policy.current() {
        Some(refusal) => {
            let (code, description) = refusal.error();
            Err(OAuthError::Policy(code, description))
        }
        None => Ok(()),
    }
}

/// Client credentials flow: the app's key and secret buy a token for its Run As user.
fn client_credentials(
    state: &Emulator,
    request: &TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    check_client(state, request, true)?;
    issue_token(state, None)
}

/// The consumer key must be known; the secret must match when `required`, or when sent.
fn check_client(
    state: &Emulator,
    request: &TokenRequest,
    required: bool,
) -> Result<(), OAuthError> {
    let (client_id, client_secret) = request.client_credentials();
    if client_id != Some(state.client_id.as_str()) {
        return Err(OAuthError::InvalidClientId);
    }
    let secret_ok = match client_secret {
        Some(secret) => secret == state.client_secret,
        None => !required,
    };
    if !secret_ok {
        return Err(OAuthError::InvalidClient);
    }
    Ok(())
}

/// JWT bearer flow: an assertion signed with the key of the app's certificate; no secret.
fn jwt_bearer(state: &Emulator, request: &TokenRequest) -> Result<TokenResponse, OAuthError> {
    let assertion = request
        .field("assertion")
        .ok_or(OAuthError::InvalidGrant("invalid assertion"))?;
    let now = chrono::Utc::now().timestamp();
    state
        .assertion_rules
        .check(assertion, &state.client_id, &state.username, now)?;
    issue_token(state, None)
}

/// Refresh token flow. With rotation on, the used token stops working and a new one comes
/// back with the access token.
fn refresh_token(state: &Emulator, request: &TokenRequest) -> Result<TokenResponse, OAuthError> {
    check_client(state, request, false)?;
    let token = request.field("refresh_token").unwrap_or_default();
    if !state.refresh_tokens.is_valid(token) {
        return Err(OAuthError::InvalidGrant("expired access/refresh token"));
    }
    refuse_by_policy(state)?;
    let rotated = state.rotate_refresh_tokens.then(|| {
        state.refresh_tokens.revoke(token);
        state.refresh_tokens.issue(&state.org_id)
    });
    issue_token(state, rotated)
}

/// Username-password flow: the password with the security token appended.
fn password(state: &Emulator, request: &TokenRequest) -> Result<TokenResponse, OAuthError> {
    check_client(state, request, true)?;
    let expected = format!("{}{}", state.password, state.security_token);
    let username_ok = request.field("username") == Some(state.username.as_str());
    if !username_ok || request.field("password") != Some(expected.as_str()) {
        return Err(OAuthError::InvalidGrant("authentication failure"));
    }
    issue_token(state, None)
}

/// A new session, unless a login policy refuses it.
fn issue_token(
    state: &Emulator,
    refresh_token: Option<String>,
) -> Result<TokenResponse, OAuthError> {
    refuse_by_policy(state)?;
    let id = format!("{}/id/{}/{}", state.base_url, state.org_id, state.user_id);
    let issued_at = chrono::Utc::now().timestamp_millis().to_string();
    Ok(TokenResponse {
        access_token: state.sessions.issue(&state.org_id),
        signature: signature(&state.client_secret, &id, &issued_at),
        scope: "api",
        instance_url: state.instance_url.clone(),
        id,
        token_type: "Bearer",
        issued_at,
        token_format: "opaque",
        refresh_token,
    })
}

/// Base64 of HMAC-SHA256 over `id + issued_at`, keyed with the consumer secret; lets
/// the client check that the response came from the org.
pub(crate) fn signature(client_secret: &str, id: &str, issued_at: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(client_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(id.as_bytes());
    mac.update(issued_at.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_header_credentials_are_used_when_the_body_has_none() {
        let header = format!("Basic {}", BASE64.encode("app:secret"));

        let request = TokenRequest::parse(b"grant_type=client_credentials", Some(&header));

        assert_eq!(request.client_credentials(), (Some("app"), Some("secret")));
    }

    #[test]
    fn signature_is_a_base64_sha256_mac() {
        let signature = signature("secret", "https://x/id/00D/005", "1700000000000");

        assert_eq!(BASE64.decode(signature).unwrap().len(), 32);
    }
}
