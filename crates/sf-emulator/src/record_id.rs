//! Salesforce record Ids: a 15-character case-sensitive Id plus a 3-character suffix
//! that makes the 18-character form safe in case-insensitive systems.

use std::sync::atomic::{AtomicU64, Ordering};

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const SUFFIX_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// Two "pod" characters and a reserved one, as in real Ids (`003Kc0…`).
const INSTANCE_PART: &str = "Kc0";

/// Hands out unique record Ids for any key prefix.
#[derive(Debug, Default)]
pub(crate) struct RecordIdGenerator {
    next: AtomicU64,
}

impl RecordIdGenerator {
    /// Counting never restarts, not even on reset, so an Id is never reused.
    pub(crate) fn next_id(&self, key_prefix: &str) -> String {
        let number = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        id_from_number(key_prefix, number)
    }
}

/// The 18-character Id for `key_prefix` and a sequence number.
pub(crate) fn id_from_number(key_prefix: &str, number: u64) -> String {
    let short = format!("{key_prefix}{INSTANCE_PART}{}", base62_padded(number, 9));
    with_suffix(&short)
}

fn base62_padded(mut number: u64, width: usize) -> String {
    let mut digits = vec![b'0'; width];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(number % 62) as usize];
        number /= 62;
    }
    String::from_utf8(digits).expect("base62 digits are ASCII")
}

/// Appends the checksum: for each 5-character chunk, a bit per upper-case letter
/// picks one character of `A..Z0..5`.
pub(crate) fn with_suffix(short_id: &str) -> String {
    let mut id = short_id.to_string();
    for chunk in short_id.as_bytes().chunks(5) {
        let bits = chunk
            .iter()
            .enumerate()
            .filter(|(_, byte)| byte.is_ascii_uppercase())
            .fold(0usize, |acc, (position, _)| acc | (1 << position));
        id.push(SUFFIX_ALPHABET[bits] as char);
    }
    id
}

/// Accepts a 15- or 18-character Id and returns the 18-character form, or `None` if
/// the text is not a well-formed Id.
pub(crate) fn normalise(candidate: &str) -> Option<String> {
    if !candidate.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    match candidate.len() {
        15 => Some(with_suffix(candidate)),
        // The suffix is case-insensitive by design; the 15-character part is not.
        18 => {
            let full = with_suffix(&candidate[..15]);
            full.eq_ignore_ascii_case(candidate).then_some(full)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_matches_a_known_salesforce_id() {
        let short = "001A000001SiB4o";

        let full = with_suffix(short);

        assert_eq!(full, "001A000001SiB4oIAF");
    }

    #[test]
    fn generated_ids_are_18_characters_with_the_prefix() {
        let generator = RecordIdGenerator::default();

        let id = generator.next_id("003");

        assert_eq!(id.len(), 18);
        assert!(id.starts_with("003Kc0"));
        assert_eq!(normalise(&id[..15]).as_deref(), Some(id.as_str()));
    }

    #[test]
    fn an_18_character_id_with_a_wrong_suffix_is_not_an_id() {
        let id = id_from_number("003", 7);
        let broken = format!("{}ZZZ", &id[..15]);

        assert_eq!(normalise(&broken), None);
    }
}
