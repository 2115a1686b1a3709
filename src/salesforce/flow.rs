//! The OAuth 2.0 flows strexforce can log in with, and the login hosts they go to
//! (reference §1).

use std::fmt;

use secrecy::SecretString;
use url::Url;

/// Production and Developer Edition orgs log in here, and it is the JWT audience for them.
pub const PRODUCTION_LOGIN_URL: &str = "https://login.salesforce.com";
/// Sandboxes log in here, and it is the JWT audience for them.
pub const SANDBOX_LOGIN_URL: &str = "https://test.salesforce.com";

/// How strexforce obtains an access token; chosen by `SF_AUTH_FLOW`.
#[derive(Debug, Clone)]
pub enum LoginFlow {
    /// The app's key and secret buy a token for the app's Run As user. Salesforce serves
    /// this flow on the org's My Domain host only.
    ClientCredentials,
    /// A signed assertion names the user; no secret travels.
    JwtBearer(JwtBearer),
    /// A refresh token from an earlier interactive approval. With rotation on, Salesforce
    /// answers each use with a new one, which replaces the old one in memory only.
    RefreshToken { refresh_token: SecretString },
    /// The user's password with the security token appended. Salesforce is retiring this
    /// flow; it is here for orgs that cannot switch yet.
    Password {
        username: String,
        password: SecretString,
        security_token: SecretString,
    },
}

/// The settings of the JWT bearer flow.
#[derive(Debug, Clone)]
pub struct JwtBearer {
    /// The user the tokens act as (`sub`).
    pub username: String,
    /// PEM of the RSA private key whose certificate is uploaded to the app.
    pub private_key_pem: SecretString,
    /// The `aud` claim: the login host, or an Experience Cloud site URL.
    pub audience: String,
}

impl LoginFlow {
    /// The name used in `SF_AUTH_FLOW`, in logs and in messages.
    pub fn name(&self) -> &'static str {
        match self {
            LoginFlow::ClientCredentials => "client_credentials",
            LoginFlow::JwtBearer(_) => "jwt_bearer",
            LoginFlow::RefreshToken { .. } => "refresh_token",
            LoginFlow::Password { .. } => "password",
        }
    }

    /// The Salesforce user the flow names, when it names one.
    pub fn username(&self) -> Option<&str> {
        match self {
            LoginFlow::JwtBearer(jwt) => Some(&jwt.username),
            LoginFlow::Password { username, .. } => Some(username),
            _ => None,
        }
    }
}

impl fmt::Display for LoginFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Reads `SF_LOGIN_URL`: `production`, `sandbox`, or a URL such as the org's My Domain.
pub fn parse_login_url(text: &str) -> Result<Url, String> {
    let text = text.trim();
    let url = match text.to_ascii_lowercase().as_str() {
        "production" | "login" => PRODUCTION_LOGIN_URL,
        "sandbox" | "test" => SANDBOX_LOGIN_URL,
        _ => text,
    };
    let url = Url::parse(url).map_err(|error| {
        format!("{error}; give production, sandbox or a URL such as https://acme.my.salesforce.com")
    })?;
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return Err("the login URL needs a host, such as https://acme.my.salesforce.com".into());
    }
    Ok(url)
}

/// The JWT audience that goes with a login URL when `SF_JWT_AUDIENCE` is not set: the
/// sandbox login host for sandboxes (test.salesforce.com and `*.sandbox.my.salesforce.com`),
/// the production one otherwise. Salesforce names only these two hosts and Experience Cloud
/// sites as audiences; whether a My Domain URL is also accepted is not documented, so it is
/// never chosen unless configured.
pub fn default_audience(login_url: &Url) -> &'static str {
    let host = login_url
        .host_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if host == "test.salesforce.com" || host.ends_with(".sandbox.my.salesforce.com") {
        SANDBOX_LOGIN_URL
    } else {
        PRODUCTION_LOGIN_URL
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_and_sandbox_name_the_generic_login_hosts() {
        assert_eq!(
            parse_login_url("production").unwrap().as_str(),
            "https://login.salesforce.com/"
        );
        assert_eq!(
            parse_login_url("Sandbox").unwrap().as_str(),
            "https://test.salesforce.com/"
        );
        assert!(parse_login_url("acme.my.salesforce.com").is_err());
    }

    #[test]
    fn sandboxes_get_the_sandbox_audience_and_everything_else_production() {
        let cases = [
            ("https://test.salesforce.com", SANDBOX_LOGIN_URL),
            (
                "https://acme--uat.sandbox.my.salesforce.com",
                SANDBOX_LOGIN_URL,
            ),
            ("https://acme.my.salesforce.com", PRODUCTION_LOGIN_URL),
            ("https://login.salesforce.com", PRODUCTION_LOGIN_URL),
        ];

        for (login_url, audience) in cases {
            let url = Url::parse(login_url).unwrap();

            assert_eq!(default_audience(&url), audience, "{login_url}");
        }
    }
}
