//! Any X-ECDSA-Signature value: parsing never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use strexforce::signature::SignatureHeader;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = SignatureHeader::parse(text);
    }
});
