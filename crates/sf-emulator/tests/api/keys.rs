//! RSA key pairs for JWT bearer tests, made once per test run (never committed), and
//! assertions signed with them.

use std::sync::OnceLock;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{Value, json};

pub struct TestKeys {
    pub private_pem: String,
    pub public_pem: String,
    /// A self-signed certificate for the key, as uploaded to a Connected App.
    pub certificate_pem: String,
}

/// The app's key pair.
pub fn app_keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(generate)
}

/// A key pair the app does not know.
pub fn stranger_keys() -> &'static TestKeys {
    static KEYS: OnceLock<TestKeys> = OnceLock::new();
    KEYS.get_or_init(generate)
}

fn generate() -> TestKeys {
    let private = rsa::PrivateKey::new(&mut rand::rng(), 2048).unwrap();
    let private_pem = private.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    let public_pem = private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let key_pair =
        rcgen::KeyPair::from_pkcs8_pem_and_sign_algo(&private_pem, &rcgen::PKCS_RSA_SHA256)
            .unwrap();
    let params = rcgen::CertificateParams::new(vec!["strexforce.local".to_string()]).unwrap();
    let certificate_pem = params.self_signed(&key_pair).unwrap().pem();
    TestKeys {
        private_pem,
        public_pem,
        certificate_pem,
    }
}

/// The claims of a good assertion for `client_id` and `username`, expiring in 2 minutes.
pub fn claims(client_id: &str, username: &str) -> Value {
    json!({
        "iss": client_id,
        "sub": username,
        "aud": "https://login.salesforce.com",
        "exp": chrono::Utc::now().timestamp() + 120,
    })
}

pub fn sign(keys: &TestKeys, claims: &Value) -> String {
    let key = EncodingKey::from_rsa_pem(keys.private_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&Header::new(Algorithm::RS256), claims, &key).unwrap()
}
