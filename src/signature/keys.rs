//! Strex's public keys, by the name the signature header carries.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use p256::ecdsa::VerifyingKey;
use p256::pkcs8::DecodePublicKey;

/// One server key and the period it may be used in.
#[derive(Debug, Clone)]
pub struct PublicKey {
    pub key: VerifyingKey,
    pub not_usable_before: Option<DateTime<Utc>>,
    pub expiry: Option<DateTime<Utc>>,
}

impl PublicKey {
    /// A key from base64 DER SubjectPublicKeyInfo, the form of the key resource's
    /// `publicKeyString`; PEM armour and line breaks are tolerated.
    pub fn from_spki_base64(text: &str) -> Result<PublicKey, KeyError> {
        let body: String = text
            .lines()
            .filter(|line| !line.starts_with("-----"))
            .flat_map(|line| line.chars())
            .filter(|ch| !ch.is_whitespace())
            .collect();
        let der = STANDARD.decode(body).map_err(|_| KeyError::NotBase64)?;
        // Decoding checks the algorithm identifiers: an EC key on P-256, nothing else.
        let key = VerifyingKey::from_public_key_der(&der).map_err(|_| KeyError::NotP256)?;
        Ok(PublicKey {
            key,
            not_usable_before: None,
            expiry: None,
        })
    }

    /// Whether the key may verify a signature made at `unix_time`.
    pub fn usable_at(&self, unix_time: i64) -> bool {
        let after_start = self
            .not_usable_before
            .is_none_or(|start| start.timestamp() <= unix_time);
        let before_end = self.expiry.is_none_or(|end| unix_time < end.timestamp());
        after_start && before_end
    }
}

/// Why a configured key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("the key is not base64")]
    NotBase64,
    #[error("the key is not a P-256 public key in DER SubjectPublicKeyInfo form")]
    NotP256,
    #[error("`{0}` is not `name=BASE64KEY`")]
    NotAPair(String),
    #[error("key name `{0}` must be 1-64 of A-Z a-z 0-9 _ -")]
    BadName(String),
    #[error("key `{name}`: {error}")]
    InKey { name: String, error: Box<KeyError> },
}

/// The keys configured statically, by name.
#[derive(Debug, Clone, Default)]
pub struct KeyRing {
    keys: HashMap<String, PublicKey>,
}

impl KeyRing {
    pub fn insert(&mut self, name: impl Into<String>, key: PublicKey) {
        self.keys.insert(name.into(), key);
    }

    pub fn get(&self, name: &str) -> Option<&PublicKey> {
        self.keys.get(name)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.keys.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
}

/// Reads `name=BASE64[,name=BASE64…]`, separated by commas or line breaks; blank lines and
/// lines starting with `#` are skipped (the same text works in a variable and in a file).
pub fn parse_key_list(text: &str) -> Result<Vec<(String, PublicKey)>, KeyError> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|entry| !entry.is_empty() && !entry.starts_with('#'))
        .map(parse_pair)
        .collect()
}

fn parse_pair(entry: &str) -> Result<(String, PublicKey), KeyError> {
    let Some((name, key)) = entry.split_once('=') else {
        let shown: String = entry.chars().take(24).collect();
        return Err(KeyError::NotAPair(shown));
    };
    let name = name.trim();
    let valid_name = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid_name {
        return Err(KeyError::BadName(name.chars().take(64).collect()));
    }
    let key = PublicKey::from_spki_base64(key).map_err(|error| KeyError::InKey {
        name: name.to_owned(),
        error: Box::new(error),
    })?;
    Ok((name.to_owned(), key))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEST_KEY: &str =
        include_str!("../../tests/fixtures/strex/signatures/test-public-key.b64");
    const TEST_PEM: &str =
        include_str!("../../tests/fixtures/strex/signatures/test-public-key.pem");

    #[test]
    fn keys_are_read_from_comma_or_line_separated_pairs() {
        let text = format!(
            "# Strex keys\na={}\n\nb={},c={}",
            TEST_KEY.trim(),
            TEST_KEY.trim(),
            TEST_KEY.trim()
        );

        let keys = parse_key_list(&text).unwrap();

        let names: Vec<&str> = keys.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn a_key_with_pem_armour_is_accepted() {
        assert!(PublicKey::from_spki_base64(TEST_PEM).is_ok());
    }

    #[test]
    fn bad_key_entries_are_refused_naming_the_problem() {
        let cases = [
            ("no-equals-sign", "is not `name=BASE64KEY`"),
            ("bad name=AAAA", "key name `bad name`"),
            ("k=not base64!", "key `k`: the key is not base64"),
            ("k=AAAA", "key `k`: the key is not a P-256"),
        ];

        for (entry, message) in cases {
            let error = parse_key_list(entry).unwrap_err().to_string();
            assert!(error.contains(message), "{entry}: {error}");
        }
    }

    #[test]
    fn a_key_is_usable_only_inside_its_window() {
        let mut key = PublicKey::from_spki_base64(TEST_KEY).unwrap();
        key.not_usable_before = DateTime::from_timestamp(1000, 0);
        key.expiry = DateTime::from_timestamp(2000, 0);

        assert!(!key.usable_at(999));
        assert!(key.usable_at(1000));
        assert!(key.usable_at(1999));
        assert!(!key.usable_at(2000));
    }
}
