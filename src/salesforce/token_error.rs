//! Why logging in failed, phrased so that the setting or the app policy to fix is named.
//!
//! Salesforce answers a refused token request with `{"error", "error_description"}`
//! (reference §1, token error responses). The code alone is too coarse: `invalid_grant`
//! covers an unapproved user, a wrong password, an expired assertion and a wrong host, and
//! only the description tells them apart. Descriptions are matched case-insensitively on a
//! distinctive part, since Salesforce does not document them as stable.

use std::fmt;

use super::flow::LoginFlow;

/// A refused login or a login that could not be attempted.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuthError {
    #[error("Salesforce refused the {flow} login ({code}: {description}); {advice}")]
    Refused {
        flow: &'static str,
        code: String,
        description: String,
        advice: Advice,
    },
    #[error("cannot reach the Salesforce token endpoint at {url}: {detail}; check SF_LOGIN_URL")]
    Unreachable { url: String, detail: String },
    #[error("the token endpoint answered something that is not a token response: {0}")]
    BadResponse(String),
    #[error(
        "cannot sign the JWT assertion: {0}; check SF_PRIVATE_KEY_FILE holds a PEM RSA private key"
    )]
    BadPrivateKey(String),
    #[error("the login URL {0} cannot hold the token path; check SF_LOGIN_URL")]
    BadLoginUrl(String),
}

/// What to do about a refusal; each names the setting or the app policy to check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    UnknownClient,
    WrongClientSecret,
    UserNotApproved,
    WrongPassword,
    AssertionExpired,
    AssertionRejected,
    AudienceRejected,
    NeedsMyDomain,
    NoRunAsUser,
    RefreshTokenRevoked,
    AppAccessDenied,
    IpRestricted,
    InactiveUser,
    FlowNotEnabled,
    RateLimited,
    /// Another `invalid_grant`: the usual causes of the flow.
    GrantRefused(&'static str),
    Other,
}

impl AuthError {
    /// Whether trying again later may succeed without a configuration change.
    pub fn is_transient(&self) -> bool {
        match self {
            AuthError::Unreachable { .. } | AuthError::BadResponse(_) => true,
            AuthError::Refused { advice, .. } => *advice == Advice::RateLimited,
            _ => false,
        }
    }

    /// The advice of a refusal, for callers and tests that tell refusals apart.
    pub fn advice(&self) -> Option<Advice> {
        match self {
            AuthError::Refused { advice, .. } => Some(*advice),
            _ => None,
        }
    }

    /// Turns Salesforce's error code and description into a refusal with advice.
    pub fn refused(flow: &LoginFlow, code: &str, description: &str) -> AuthError {
        AuthError::Refused {
            flow: flow.name(),
            code: code.to_owned(),
            description: description.to_owned(),
            advice: Advice::for_refusal(flow, code, description),
        }
    }
}

impl Advice {
    fn for_refusal(flow: &LoginFlow, code: &str, description: &str) -> Advice {
        let description = description.to_ascii_lowercase();
        let says = |part: &str| description.contains(part);
        match code {
            "invalid_client_id" => Advice::UnknownClient,
            "invalid_client" => Advice::WrongClientSecret,
            "invalid_app_access" => Advice::AppAccessDenied,
            "unsupported_grant_type" | "unauthorized_client" => Advice::FlowNotEnabled,
            "inactive_user" | "inactive_org" => Advice::InactiveUser,
            "rate_limit_exceeded" => Advice::RateLimited,
            _ if says("ip restricted") || says("login hours") => Advice::IpRestricted,
            "invalid_grant" if says("hasn't approved") || says("not approved") => {
                Advice::UserNotApproved
            }
            "invalid_grant" if says("not supported on this domain") => Advice::NeedsMyDomain,
            "invalid_grant" if says("client credentials user") => Advice::NoRunAsUser,
            "invalid_grant" if says("audience") => Advice::AudienceRejected,
            "invalid_grant" if says("inactive user") => Advice::InactiveUser,
            "invalid_grant" => Advice::for_invalid_grant(flow, &description),
            _ => Advice::Other,
        }
    }

    /// `invalid_grant` descriptions whose meaning depends on the flow.
    fn for_invalid_grant(flow: &LoginFlow, description: &str) -> Advice {
        let says = |part: &str| description.contains(part);
        match flow {
            LoginFlow::Password { .. } if says("authentication failure") => Advice::WrongPassword,
            LoginFlow::JwtBearer(_) if says("expired") => Advice::AssertionExpired,
            LoginFlow::JwtBearer(_) if says("assertion") => Advice::AssertionRejected,
            LoginFlow::RefreshToken { .. } if says("expired") || says("revoked") => {
                Advice::RefreshTokenRevoked
            }
            LoginFlow::ClientCredentials => Advice::GrantRefused(
                "check that SF_LOGIN_URL is the org's My Domain URL and that the app has \
                 a Run As user",
            ),
            LoginFlow::JwtBearer(_) => Advice::GrantRefused(
                "check SF_USERNAME, SF_PRIVATE_KEY_FILE against the app's certificate, and \
                 SF_JWT_AUDIENCE",
            ),
            LoginFlow::RefreshToken { .. } => Advice::GrantRefused(
                "check that SF_REFRESH_TOKEN is current and was issued to SF_CLIENT_ID",
            ),
            LoginFlow::Password { .. } => {
                Advice::GrantRefused("check SF_USERNAME, SF_PASSWORD and SF_SECURITY_TOKEN")
            }
        }
    }

    fn text(self) -> &'static str {
        match self {
            Advice::UnknownClient => {
                "check SF_CLIENT_ID is the app's consumer key (a new app can take a few \
                 minutes to become usable)"
            }
            Advice::WrongClientSecret => "check SF_CLIENT_SECRET is the app's consumer secret",
            Advice::UserNotApproved => {
                "the user in SF_USERNAME is not pre-authorized: set the app's Permitted Users \
                 to \"Admin approved users are pre-authorized\" and assign the user's profile \
                 or a permission set to the app"
            }
            Advice::WrongPassword => {
                "check SF_USERNAME, SF_PASSWORD and SF_SECURITY_TOKEN (the security token is \
                 needed unless this server's IP address is trusted)"
            }
            Advice::AssertionExpired => {
                "the JWT assertion had expired on arrival; check this machine's clock (NTP)"
            }
            Advice::AssertionRejected => {
                "check SF_PRIVATE_KEY_FILE matches the certificate uploaded to the app, \
                 SF_USERNAME names an active user, and this machine's clock is right"
            }
            Advice::AudienceRejected => {
                "check SF_JWT_AUDIENCE (https://login.salesforce.com for production, \
                 https://test.salesforce.com for sandboxes, or the Experience Cloud site URL)"
            }
            Advice::NeedsMyDomain => {
                "the client-credentials flow needs SF_LOGIN_URL to be the org's My Domain URL, \
                 such as https://acme.my.salesforce.com"
            }
            Advice::NoRunAsUser => {
                "set a Run As user in the app's policies (client credentials flow)"
            }
            Advice::RefreshTokenRevoked => {
                "SF_REFRESH_TOKEN was revoked, expired, or already replaced by rotation; \
                 approve the app again and set the new refresh token"
            }
            Advice::AppAccessDenied => {
                "the user is not admin approved for the app: assign the user's profile or a \
                 permission set to the app (Manage Profiles / Manage Permission Sets)"
            }
            Advice::IpRestricted => {
                "Salesforce refuses logins from this IP address or at this hour: add it to the \
                 app's or the profile's trusted IP ranges, or relax the app's IP restrictions"
            }
            Advice::InactiveUser => "the user or the org is inactive; check SF_USERNAME",
            Advice::FlowNotEnabled => {
                "the app does not allow this flow: enable it in the app's OAuth settings, or \
                 change SF_AUTH_FLOW"
            }
            Advice::RateLimited => "too many logins; strexforce tries again later",
            Advice::GrantRefused(text) => text,
            Advice::Other => "check the SF_* settings and the app's OAuth policies",
        }
    }
}

impl fmt::Display for Advice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::salesforce::JwtBearer;

    fn jwt() -> LoginFlow {
        LoginFlow::JwtBearer(JwtBearer {
            username: "integration@example.com".into(),
            private_key_pem: SecretString::from(""),
            audience: "https://login.salesforce.com".into(),
        })
    }

    #[test]
    fn an_assertion_that_expired_on_arrival_points_at_the_clock() {
        let error = AuthError::refused(&jwt(), "invalid_grant", "expired authorization code");

        assert_eq!(error.advice(), Some(Advice::AssertionExpired));
        assert!(error.to_string().contains("clock"), "{error}");
    }

    #[test]
    fn descriptions_are_matched_whatever_their_case() {
        let error = AuthError::refused(
            &LoginFlow::ClientCredentials,
            "invalid_grant",
            "IP Restricted",
        );

        assert_eq!(error.advice(), Some(Advice::IpRestricted));
    }

    #[test]
    fn an_unknown_invalid_grant_gives_the_flows_usual_causes() {
        let refresh = LoginFlow::RefreshToken {
            refresh_token: SecretString::from("x"),
        };

        let error = AuthError::refused(&refresh, "invalid_grant", "something new");

        assert!(error.to_string().contains("SF_REFRESH_TOKEN"), "{error}");
        assert!(!error.is_transient());
    }

    #[test]
    fn only_a_rate_limit_is_worth_retrying_among_refusals() {
        let limited = AuthError::refused(&jwt(), "rate_limit_exceeded", "rate limit exceeded");
        let disabled =
            AuthError::refused(&jwt(), "unsupported_grant_type", "grant type not supported");

        assert!(limited.is_transient());
        assert!(!disabled.is_transient());
        assert!(disabled.to_string().contains("SF_AUTH_FLOW"), "{disabled}");
    }
}
