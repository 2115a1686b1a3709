//! An emulated org set up for each login flow, and strexforce's settings for it.

use std::sync::OnceLock;
use std::time::Duration;

use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use secrecy::SecretString;
use sf_emulator::{EmulatorConfig, RunningEmulator};
use strexforce::salesforce::{JwtBearer, LoginFlow, SalesforceConfig};
use tokio::net::TcpListener;

pub const CLIENT_ID: &str = "strexforce-test-app";
pub const CLIENT_SECRET: &str = "strexforce-test-secret";
pub const REFRESH_TOKEN: &str = "5Aep861-test-refresh-token";

/// The flows strexforce logs in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    ClientCredentials,
    JwtBearer,
    RefreshToken,
    Password,
}

pub const EVERY_FLOW: [Flow; 4] = [
    Flow::ClientCredentials,
    Flow::JwtBearer,
    Flow::RefreshToken,
    Flow::Password,
];

/// An RSA key pair made once per test run; never committed.
pub struct KeyPair {
    pub private_pem: String,
    pub public_pem: String,
}

pub fn app_key() -> &'static KeyPair {
    static KEY: OnceLock<KeyPair> = OnceLock::new();
    KEY.get_or_init(|| {
        let private = rsa::PrivateKey::new(&mut rand::rng(), 2048).unwrap();
        KeyPair {
            private_pem: private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
            public_pem: private
                .to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap(),
        }
    })
}

/// An emulator that accepts every flow: the app key for JWT, a refresh token, the user's
/// password and security token.
pub fn emulator_config() -> EmulatorConfig {
    EmulatorConfig {
        jwt_public_key: Some(app_key().public_pem.clone()),
        refresh_token: Some(REFRESH_TOKEN.to_owned()),
        ..EmulatorConfig::new(CLIENT_ID, CLIENT_SECRET)
    }
}

pub async fn start_emulator(config: EmulatorConfig) -> RunningEmulator {
    strexforce::salesforce::install_crypto_provider();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    sf_emulator::start(config, listener).await.unwrap()
}

/// strexforce's settings for `flow` against the emulator at `url`.
pub fn salesforce_config(flow: Flow, url: &str) -> SalesforceConfig {
    let login_flow = match flow {
        Flow::ClientCredentials => LoginFlow::ClientCredentials,
        Flow::JwtBearer => LoginFlow::JwtBearer(JwtBearer {
            username: sf_emulator::DEFAULT_USERNAME.to_owned(),
            private_key_pem: SecretString::from(app_key().private_pem.clone()),
            audience: strexforce::salesforce::PRODUCTION_LOGIN_URL.to_owned(),
        }),
        Flow::RefreshToken => LoginFlow::RefreshToken {
            refresh_token: SecretString::from(REFRESH_TOKEN),
        },
        Flow::Password => LoginFlow::Password {
            username: sf_emulator::DEFAULT_USERNAME.to_owned(),
            password: SecretString::from(sf_emulator::DEFAULT_PASSWORD),
            security_token: SecretString::from(sf_emulator::DEFAULT_SECURITY_TOKEN),
        },
    };
    let client_secret = match flow {
        Flow::JwtBearer => String::new(),
        _ => CLIENT_SECRET.to_owned(),
    };
    SalesforceConfig {
        login_url: url.parse().unwrap(),
        client_id: CLIENT_ID.to_owned(),
        client_secret: SecretString::from(client_secret),
        flow: login_flow,
        api_version: "66.0".to_owned(),
        // Half the test sync lease: a claim must outlive the request sent under it.
        request_timeout: Duration::from_secs(5),
    }
}
