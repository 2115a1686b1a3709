//! Access tokens handed out by the token endpoint and accepted as Bearer tokens.

use std::collections::HashSet;
use std::sync::Mutex;

use rand::RngExt;

const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";

/// The org's live sessions. Sessions have no timeout of their own; tests end them
/// with `expire_sessions` or the `expire_session_every` fault.
#[derive(Debug, Default)]
pub(crate) struct SessionStore {
    tokens: Mutex<HashSet<String>>,
}

impl SessionStore {
    /// A new opaque token shaped like Salesforce's: the 15-character org Id, `!`, and
    /// random characters.
    pub(crate) fn issue(&self, org_id: &str) -> String {
        let mut rng = rand::rng();
        let secret: String = (0..96)
            .map(|_| TOKEN_ALPHABET[rng.random_range(0..TOKEN_ALPHABET.len())] as char)
            .collect();
        let token = format!("{}!{secret}", &org_id[..15]);
        self.lock().insert(token.clone());
        token
    }

    pub(crate) fn is_valid(&self, token: &str) -> bool {
        self.lock().contains(token)
    }

    pub(crate) fn revoke(&self, token: &str) {
        self.lock().remove(token);
    }

    pub(crate) fn expire_all(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.tokens.lock().expect("session lock poisoned")
    }
}
