//! The one log line `serve` writes at start with the configuration in force, so that an
//! operator can see what a running process was given. Secrets never appear in it: they are
//! named as set or not set, and the password in the database URL is masked.

use std::net::SocketAddr;

use secrecy::ExposeSecret;

use super::ServeConfig;
use crate::salesforce::LoginFlow;

/// Logs the configuration at info level.
pub fn log(config: &ServeConfig, listen: SocketAddr) {
    let salesforce = &config.salesforce;
    let ecdsa = config.auth.ecdsa.as_ref();
    tracing::info!(
        %listen,
        database = %redacted_database_url(&config.database_url),
        db_max_connections = config.pool.max_connections,
        mappings_dir = %config.mappings_dir.display(),
        sf_auth_flow = salesforce.flow.name(),
        sf_login_url = %salesforce.login_url,
        sf_client_id = %salesforce.client_id,
        sf_username = salesforce.flow.username(),
        sf_client_secret = set_or_not(!salesforce.client_secret.expose_secret().is_empty()),
        sf_flow_secrets = flow_secrets(&salesforce.flow),
        sf_api_version = %salesforce.api_version,
        sf_request_timeout_secs = salesforce.request_timeout.as_secs(),
        start_without_salesforce = config.salesforce_startup.start_without_salesforce,
        auth = config.auth.label(),
        public_url = ecdsa.map(|ecdsa| ecdsa.public_url.as_str()),
        strex_public_keys = ?ecdsa.map(|ecdsa| ecdsa.keys.names()).unwrap_or_default(),
        strex_key_fetch = ecdsa.is_some_and(|ecdsa| ecdsa.key_server.is_some()),
        strex_api_key = set_or_not(
            ecdsa
                .and_then(|ecdsa| ecdsa.key_server.as_ref())
                .is_some_and(|server| server.api_key.is_some())
        ),
        forward_token = set_or_not(config.auth.token.is_some()),
        admin = admin_summary(config),
        sync_workers = config.sync.workers,
        sync_batch_size = config.sync.batch_size,
        sync_lease_secs = config.sync.lease.as_secs(),
        sync_max_age_hours = config.sync.max_age.as_secs() / 3600,
        retention_days = config.retention.age.as_secs() / 86_400,
        retention_mode = ?config.retention.mode,
        retention_interval_mins = config.retention_interval.map(|every| every.as_secs() / 60),
        body_limit = config.limits.body_limit,
        "configuration"
    );
}

fn set_or_not(set: bool) -> &'static str {
    if set { "set" } else { "not set" }
}

/// The secrets of the login flow beyond the client secret, named only.
fn flow_secrets(flow: &LoginFlow) -> String {
    match flow {
        LoginFlow::ClientCredentials => "none".to_owned(),
        LoginFlow::JwtBearer(_) => "private key set".to_owned(),
        LoginFlow::RefreshToken { .. } => "refresh token set".to_owned(),
        LoginFlow::Password { security_token, .. } => format!(
            "password set, security token {}",
            set_or_not(!security_token.expose_secret().is_empty())
        ),
    }
}

fn admin_summary(config: &ServeConfig) -> String {
    match &config.admin {
        None => "off".to_owned(),
        Some(admin) => match admin.listen {
            Some(addr) => format!("on {addr}, token set"),
            None => "on the forward listener, token set".to_owned(),
        },
    }
}

/// The URL with its password, if any, replaced by `***`; an unreadable URL is not shown.
pub fn redacted_database_url(text: &str) -> String {
    let Ok(mut url) = url::Url::parse(text) else {
        return "(not a URL)".to_owned();
    };
    if url.password().is_some() {
        // Only fails for URLs that cannot have a password, which this one has.
        let _ = url.set_password(Some("***"));
    }
    // libpq also takes the password as a query parameter.
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(key, value)| {
            let value = if key == "password" {
                "***".into()
            } else {
                value
            };
            (key.into_owned(), value.into_owned())
        })
        .collect();
    if !pairs.is_empty() {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_password_is_masked_and_the_rest_kept() {
        let url = "postgres://strexforce:s3cret@db.internal:5432/strexforce";

        assert_eq!(
            redacted_database_url(url),
            "postgres://strexforce:***@db.internal:5432/strexforce"
        );
        assert_eq!(
            redacted_database_url("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
        assert_eq!(
            redacted_database_url("postgres://h/x?sslmode=require&password=s3cret"),
            "postgres://h/x?sslmode=require&password=***"
        );
    }
}
