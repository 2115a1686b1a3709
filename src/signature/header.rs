//! Reading the `X-ECDSA-Signature` header value.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::Signature;

use super::SignatureError;

/// The header Strex signs forwards with.
pub const SIGNATURE_HEADER: &str = "x-ecdsa-signature";

/// Key names and nonces longer than this are not Strex's (GUIDs and dates are far shorter),
/// and would only make log lines and cache keys large.
const MAX_NAME_LEN: usize = 64;

/// A parsed header: `keyName:timestamp:nonce:signature`.
#[derive(Debug, Clone)]
pub struct SignatureHeader {
    pub key_name: String,
    /// The timestamp exactly as sent; the message is built from this text.
    pub timestamp_text: String,
    pub timestamp: u64,
    pub nonce: String,
    pub signature: Signature,
}

impl SignatureHeader {
    /// Parses a header value; every way it can be wrong is a [`SignatureError`], never a panic.
    ///
    /// The rules are the strictest of the SDK verifiers: exactly four parts and no scheme
    /// prefix, key name and nonce of `[A-Za-z0-9_-]+`, a decimal timestamp, and standard
    /// padded base64 of exactly 64 bytes (`r‖s`, not DER).
    pub fn parse(value: &str) -> Result<SignatureHeader, SignatureError> {
        let parts: Vec<&str> = value.split(':').collect();
        let [key_name, timestamp_text, nonce, signature] = parts[..] else {
            return Err(malformed("it must have four parts separated by ':'"));
        };
        if !is_token(key_name) {
            return Err(malformed("the key name must be 1-64 of A-Z a-z 0-9 _ -"));
        }
        let timestamp = parse_timestamp(timestamp_text)?;
        if !is_token(nonce) {
            return Err(malformed("the nonce must be 1-64 of A-Z a-z 0-9 _ -"));
        }
        Ok(SignatureHeader {
            key_name: key_name.to_owned(),
            timestamp_text: timestamp_text.to_owned(),
            timestamp,
            nonce: nonce.to_owned(),
            signature: parse_signature(signature)?,
        })
    }
}

fn malformed(reason: &'static str) -> SignatureError {
    SignatureError::MalformedHeader(reason)
}

fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_NAME_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn parse_timestamp(text: &str) -> Result<u64, SignatureError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("the timestamp must be decimal Unix seconds"));
    }
    text.parse()
        .map_err(|_| malformed("the timestamp is out of range"))
}

/// Fixed-width `r‖s`: a leading zero byte of `r` or `s` is kept, so such signatures decode
/// like any other.
fn parse_signature(text: &str) -> Result<Signature, SignatureError> {
    // 64 bytes are 88 base64 characters; refuse longer input before decoding it.
    if text.len() != 88 {
        return Err(malformed("the signature must be base64 of 64 bytes"));
    }
    let bytes = STANDARD
        .decode(text)
        .map_err(|_| malformed("the signature is not standard base64"))?;
    Signature::from_slice(&bytes).map_err(|_| malformed("the signature is not a valid r‖s pair"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD_SIGNATURE: &str =
        "yROxhGBty9wwb1aRp+fM04dKeqhtZ6JME2zsygt7grVPl7Mle4f8St2SJeWt+lmmpDGtGVuMkennE96jjAXJvg==";

    fn reason_for(value: &str) -> &'static str {
        match SignatureHeader::parse(value) {
            Err(SignatureError::MalformedHeader(reason)) => reason,
            other => panic!("{value:?} gave {other:?}"),
        }
    }

    #[test]
    fn a_well_formed_header_is_split_into_its_four_parts() {
        let value = format!("key-1:1741788000:10a74c68-9533:{GOOD_SIGNATURE}");

        let header = SignatureHeader::parse(&value).unwrap();

        assert_eq!(header.key_name, "key-1");
        assert_eq!(header.timestamp, 1_741_788_000);
        assert_eq!(header.timestamp_text, "1741788000");
        assert_eq!(header.nonce, "10a74c68-9533");
    }

    #[test]
    fn every_kind_of_malformed_header_is_refused_with_a_reason() {
        let long_name = "k".repeat(65);
        let cases = [
            String::new(),
            "a:b:c".to_owned(),
            format!("k:1:n:{GOOD_SIGNATURE}:extra"),
            format!(":1:n:{GOOD_SIGNATURE}"),
            format!("{long_name}:1:n:{GOOD_SIGNATURE}"),
            format!("key.name:1:n:{GOOD_SIGNATURE}"),
            format!("k:99999999999999999999999:n:{GOOD_SIGNATURE}"),
            format!("k:-1:n:{GOOD_SIGNATURE}"),
            format!("k:+1:n:{GOOD_SIGNATURE}"),
            format!("k:1:n n:{GOOD_SIGNATURE}"),
            format!("k:1::{GOOD_SIGNATURE}"),
            "k:1:n:not base64!".to_owned(),
            format!("k:1:n:{}", "A".repeat(10_000)),
            format!("k:1:n:{}", &GOOD_SIGNATURE[..86]),
            format!("k:1:n:{}", "A".repeat(86) + "=="),
            format!("k:1:n:{}", "/".repeat(86) + "=="),
        ];

        for value in &cases {
            assert!(!reason_for(value).is_empty());
        }
    }
}
