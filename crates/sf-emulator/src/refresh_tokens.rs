//! Refresh tokens the org accepts (reference §1, refresh token flow).

use std::collections::HashSet;
use std::sync::Mutex;

use rand::RngExt;

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";

#[derive(Debug, Default)]
pub(crate) struct RefreshTokens {
    valid: Mutex<HashSet<String>>,
}

impl RefreshTokens {
    pub(crate) fn accept(&self, token: &str) {
        self.lock().insert(token.to_string());
    }

    /// A new token shaped like Salesforce's: the org Id's first 15 characters, `!`, and
    /// random characters.
    pub(crate) fn issue(&self, org_id: &str) -> String {
        let mut rng = rand::rng();
        let secret: String = (0..86)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        let token = format!("5Aep861{}{secret}", &org_id[..15]);
        self.accept(&token);
        token
    }

    pub(crate) fn is_valid(&self, token: &str) -> bool {
        self.lock().contains(token)
    }

    pub(crate) fn revoke(&self, token: &str) {
        self.lock().remove(token);
    }

    pub(crate) fn revoke_all(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.valid.lock().expect("refresh token lock poisoned")
    }
}
