//! Strex's request signature: the `X-ECDSA-Signature` header StrexConnect puts on every
//! forward, checked against the raw body before anything else reads it.
//!
//! The scheme (Target365 SDKs, `VerifyRequestSignatureAsync`): the header is
//! `keyName:timestamp:nonce:signature`; the signed message is the lowercased method, the
//! lowercased absolute URI Strex posted to, the Unix timestamp, the nonce and base64 of the
//! body's SHA-256 (nothing for an empty body), signed with ECDSA P-256 / SHA-256 and sent as
//! base64 of the 64-byte `r‖s`.

mod header;
mod key_server;
mod keys;
mod message;
mod replay;
mod signer;
mod verify;

pub use header::{SIGNATURE_HEADER, SignatureHeader};
pub use key_server::{KeyServer, KeyServerConfig};
pub use keys::{KeyError, KeyRing, PublicKey, parse_key_list};
pub use message::{PublicUrl, PublicUrlError, signed_message};
pub use replay::NonceStore;
pub use signer::RequestSigner;
pub use verify::{Clock, SignedRequest, SystemClock, Verified, Verifier};

/// Largest difference between the signature's timestamp and our clock, both ways; the .NET
/// verifier's rule (exactly 300 s still passes).
pub const MAX_CLOCK_DRIFT_SECS: u64 = 300;

/// Why a signature was refused, in the order the checks run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the X-ECDSA-Signature header is missing")]
    MissingHeader,
    #[error("the X-ECDSA-Signature header is malformed: {0}")]
    MalformedHeader(&'static str),
    #[error("the signature timestamp is {drift} s away from our clock (at most 300 s allowed)")]
    ClockDrift { drift: u64 },
    /// The name is safe to show: the header check allows only `[A-Za-z0-9_-]{1,64}`.
    #[error("the signing key `{0}` is not known")]
    UnknownKey(String),
    #[error("the signing key is not usable at this time")]
    KeyNotUsable,
    #[error("the signature does not match the request")]
    BadSignature,
    #[error("this signature was seen before")]
    Replayed,
}

impl SignatureError {
    /// A stable reason for answers, counters and logs; the first five are the error kinds of
    /// the signature test vectors.
    pub fn reason(&self) -> &'static str {
        match self {
            SignatureError::MissingHeader => "missing_header",
            SignatureError::MalformedHeader(_) => "malformed_header",
            SignatureError::ClockDrift { .. } => "clock_drift",
            SignatureError::UnknownKey(_) => "unknown_key",
            SignatureError::KeyNotUsable => "key_not_usable",
            SignatureError::BadSignature => "bad_signature",
            SignatureError::Replayed => "replayed_nonce",
        }
    }
}
