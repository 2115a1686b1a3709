//! Signature checks per second: what every forward costs before its body is parsed. Run with
//! `cargo bench --bench signature`.

use std::sync::Arc;

use divan::Bencher;
use strexforce::signature::{KeyRing, RequestSigner, SignedRequest, SystemClock, Verifier};

fn main() {
    divan::main();
}

const URL: &str = "https://connector.example.com/forward/dlr";

/// One X-ECDSA-Signature check of a delivery report, as intake runs it (P-256, SHA-256).
#[divan::bench]
fn verify(bencher: Bencher) {
    let body = include_bytes!("../tests/fixtures/strex/dlr-subscribe.json");
    let signer = RequestSigner::generate("bench-key");
    let mut keys = KeyRing::default();
    keys.insert(signer.key_name(), signer.public_key());
    let verifier = Verifier::new(keys, None, Arc::new(SystemClock));
    let header = signer.header_now("POST", URL, body);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a current-thread runtime starts");
    let request = SignedRequest {
        method: "POST",
        absolute_uri: URL,
        header: Some(&header),
        body,
    };
    bencher.bench(|| {
        let verified = runtime.block_on(verifier.verify(divan::black_box(&request)));
        verified.expect("the signature is valid")
    });
}

/// Signing the same request, as the load generator of the benchmark harness does.
#[divan::bench]
fn sign(bencher: Bencher) {
    let body = include_bytes!("../tests/fixtures/strex/dlr-subscribe.json");
    let signer = RequestSigner::generate("bench-key");
    bencher.bench(|| signer.header_now("POST", URL, divan::black_box(body)));
}
