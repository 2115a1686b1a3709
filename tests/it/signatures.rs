//! The X-ECDSA-Signature check against the shared test vectors, the replay store and the
//! key server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use strexforce::signature::{
    Clock, KeyRing, KeyServer, KeyServerConfig, NonceStore, PublicKey, RequestSigner,
    SignedRequest, Verifier,
};

use crate::common::TestDb;

const SIGNATURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/strex/signatures"
);

/// A clock that always says the same time.
#[derive(Debug)]
struct FixedClock(i64);

impl Clock for FixedClock {
    fn now_unix(&self) -> i64 {
        self.0
    }
}

fn vectors() -> Value {
    let text = std::fs::read_to_string(format!("{SIGNATURES}/vectors.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn test_key_ring() -> KeyRing {
    let vectors = vectors();
    let mut keys = KeyRing::default();
    let key = PublicKey::from_spki_base64(vectors["public_key_b64"].as_str().unwrap()).unwrap();
    keys.insert(vectors["key_name"].as_str().unwrap(), key);
    keys
}

fn verifier_at(now: i64) -> Verifier {
    Verifier::new(test_key_ring(), None, Arc::new(FixedClock(now)))
}

fn test_signer() -> RequestSigner {
    let pem = std::fs::read_to_string(format!("{SIGNATURES}/TEST-ONLY-DO-NOT-USE-private-key.pem"))
        .unwrap();
    RequestSigner::from_pkcs8_pem("test-key-2025-01", &pem).unwrap()
}

struct Vector {
    id: String,
    method: String,
    uri: String,
    header: Option<String>,
    body: Vec<u8>,
    now: i64,
    expected_error: Option<String>,
}

fn vector(json: &Value) -> Vector {
    Vector {
        id: json["id"].as_str().unwrap().to_owned(),
        method: json["method"].as_str().unwrap().to_owned(),
        uri: json["absolute_uri"].as_str().unwrap().to_owned(),
        header: json["x_ecdsa_signature"].as_str().map(str::to_owned),
        body: STANDARD
            .decode(json["body_base64"].as_str().unwrap())
            .unwrap(),
        now: json["now"].as_i64().unwrap(),
        expected_error: json["error_kind"].as_str().map(str::to_owned),
    }
}

impl Vector {
    fn request(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: &self.method,
            absolute_uri: &self.uri,
            header: self.header.as_deref(),
            body: &self.body,
        }
    }
}

#[tokio::test]
async fn every_shared_vector_gets_its_expected_verdict_and_error_kind() {
    let vectors = vectors();
    let all = vectors["vectors"].as_array().unwrap();

    let mut checked = 0;
    for json in all {
        let vector = vector(json);
        let verdict = verifier_at(vector.now).verify(&vector.request()).await;

        let error_kind = verdict
            .as_ref()
            .err()
            .map(|error| error.reason().to_owned());
        assert_eq!(error_kind, vector.expected_error, "vector {}", vector.id);
        checked += 1;
    }

    assert_eq!(checked, 41);
}

#[tokio::test]
async fn the_vector_bodies_are_the_fixture_files_byte_for_byte() {
    for json in vectors()["vectors"].as_array().unwrap() {
        let Some(file) = json["body_file"].as_str() else {
            continue;
        };
        if json.get("body_file_signed").is_some() {
            continue;
        }
        let on_disk = std::fs::read(format!("{SIGNATURES}/{file}")).unwrap();
        assert_eq!(on_disk, vector(json).body, "{file} differs from its vector");
    }
}

#[tokio::test]
async fn a_replayed_vector_passes_the_signature_check_but_not_the_nonce_store() {
    let db = TestDb::new().await;
    let nonces = NonceStore::new(db.store.clone());
    let vectors = vectors();
    let all = vectors["vectors"].as_array().unwrap();
    let replay = all
        .iter()
        .find(|v| v["replay_of"].is_string())
        .map(vector)
        .unwrap();
    let original = all
        .iter()
        .find(|v| v["id"] == all.iter().find(|v| v["replay_of"].is_string()).unwrap()["replay_of"])
        .map(vector)
        .unwrap();
    let verifier = verifier_at(original.now);

    let first = verifier.verify(&original.request()).await.unwrap();
    let again = verifier.verify(&replay.request()).await.unwrap();

    assert!(nonces.remember(&first, original.now).await.unwrap());
    assert!(!nonces.remember(&again, replay.now).await.unwrap());
}

#[tokio::test]
async fn a_nonce_seen_by_another_replica_is_refused_and_a_forgotten_one_accepted_again() {
    let db = TestDb::new().await;
    let replica_a = NonceStore::new(db.store.clone());
    let replica_b = NonceStore::new(db.store.clone());
    let verified = strexforce::signature::Verified {
        key_name: "k".into(),
        nonce: "n-1".into(),
        timestamp: 1_741_788_000,
    };

    assert!(replica_a.remember(&verified, 1_741_788_000).await.unwrap());
    assert!(!replica_b.remember(&verified, 1_741_788_001).await.unwrap());
    replica_a.forget(&verified).await.unwrap();
    assert!(replica_b.remember(&verified, 1_741_788_002).await.unwrap());
}

#[tokio::test]
async fn expired_nonces_are_deleted() {
    let db = TestDb::new().await;
    let nonces = NonceStore::new(db.store.clone());
    let old = strexforce::signature::Verified {
        key_name: "k".into(),
        nonce: "old".into(),
        timestamp: 1_000_000,
    };
    let new = strexforce::signature::Verified {
        nonce: "new".into(),
        timestamp: 2_000_000,
        ..old.clone()
    };

    nonces.remember(&old, 1_000_000).await.unwrap();
    nonces.remember(&new, 2_000_000).await.unwrap();

    let left: Vec<String> = sqlx::query_scalar("SELECT nonce FROM signature_nonce")
        .fetch_all(db.store.pool())
        .await
        .unwrap();
    assert_eq!(left, ["new"]);
}

#[tokio::test]
async fn signatures_whose_r_or_s_start_with_a_zero_byte_verify() {
    let signer = test_signer();
    let verifier = verifier_at(1_741_788_000);
    let uri = "https://strex-connector.example.com/strex/mo";
    let body = b"{\"transactionId\":\"zero\"}";

    let mut found = [false, false];
    for attempt in 0..20_000u32 {
        let nonce = format!("nonce-{attempt}");
        let bytes = signer
            .signature("POST", uri, 1_741_788_000, &nonce, body)
            .to_bytes();
        let slot = match (bytes[0], bytes[32]) {
            (0, _) if !found[0] => 0,
            (_, 0) if !found[1] => 1,
            _ => continue,
        };
        let header = signer.header("POST", uri, 1_741_788_000, &nonce, body);
        let request = SignedRequest {
            method: "POST",
            absolute_uri: uri,
            header: Some(&header),
            body,
        };
        assert!(
            verifier.verify(&request).await.is_ok(),
            "leading zero in {}",
            ["r", "s"][slot]
        );
        found[slot] = true;
        if found == [true, true] {
            break;
        }
    }

    assert_eq!(
        found,
        [true, true],
        "no signature with a leading zero byte was produced"
    );
}

#[tokio::test]
async fn a_key_outside_its_usable_window_is_refused() {
    let signer = RequestSigner::generate("windowed");
    let mut key = signer.public_key();
    key.not_usable_before = chrono::DateTime::from_timestamp(2_000, 0);
    key.expiry = chrono::DateTime::from_timestamp(3_000, 0);
    let mut keys = KeyRing::default();
    keys.insert("windowed", key);
    let header_at = |t: u64| signer.header("POST", "https://x/forward/mo", t, "n", b"{}");

    for (now, expected) in [
        (1_999, Some("key_not_usable")),
        (2_500, None),
        (3_000, Some("key_not_usable")),
    ] {
        let verifier = Verifier::new(keys.clone(), None, Arc::new(FixedClock(now)));
        let header = header_at(now as u64);
        let request = SignedRequest {
            method: "POST",
            absolute_uri: "https://x/forward/mo",
            header: Some(&header),
            body: b"{}",
        };

        let verdict = verifier.verify(&request).await;

        assert_eq!(verdict.err().map(|e| e.reason()), expected, "at {now}");
    }
}

/// A stand-in for the Target365 key resource that counts the requests it gets.
async fn key_server_stub() -> (String, Arc<AtomicUsize>) {
    key_server_answering(std::fs::read_to_string(format!("{SIGNATURES}/public-key.json")).unwrap())
        .await
}

/// A key server that answers `body` for the key the vectors are signed with.
async fn key_server_answering(body: String) -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = axum::Router::new().route(
        "/api/server/public-keys/{name}",
        axum::routing::get(
            move |axum::extract::Path(name): axum::extract::Path<String>| {
                counter.fetch_add(1, Ordering::SeqCst);
                let body = body.clone();
                async move {
                    if name == "test-key-2025-01" {
                        (axum::http::StatusCode::OK, body)
                    } else {
                        (axum::http::StatusCode::NOT_FOUND, String::new())
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, hits)
}

#[tokio::test]
async fn keys_are_fetched_from_the_key_server_once_and_unknown_names_are_not_asked_for_again() {
    let (url, hits) = key_server_stub().await;
    let server = KeyServer::new(KeyServerConfig::new(url.parse().unwrap())).unwrap();
    let vectors = vectors();
    let valid = vector(&vectors["vectors"][0]);
    let unknown = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["error_kind"] == "unknown_key")
        .map(vector)
        .unwrap();
    let verifier = Verifier::new(
        KeyRing::default(),
        Some(server),
        Arc::new(FixedClock(valid.now)),
    );

    for _ in 0..3 {
        assert!(verifier.verify(&valid.request()).await.is_ok());
        let refused = verifier.verify(&unknown.request()).await.unwrap_err();
        assert_eq!(refused.reason(), "unknown_key");
    }

    assert_eq!(hits.load(Ordering::SeqCst), 2, "one fetch per name");
}

#[tokio::test]
async fn an_oversized_key_server_answer_is_not_read_to_the_end_nor_trusted() {
    // Valid JSON for the right key, but padded far past what a key resource can be.
    let key = std::fs::read_to_string(format!("{SIGNATURES}/public-key.json")).unwrap();
    let (url, hits) = key_server_answering(key + &" ".repeat(200_000)).await;
    let server = KeyServer::new(KeyServerConfig::new(url.parse().unwrap())).unwrap();
    let valid = vector(&vectors()["vectors"][0]);
    let verifier = Verifier::new(
        KeyRing::default(),
        Some(server),
        Arc::new(FixedClock(valid.now)),
    );

    let refused = verifier.verify(&valid.request()).await.unwrap_err();

    assert_eq!(refused.reason(), "unknown_key");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn random_key_names_cannot_make_more_fetches_than_the_budget() {
    let (url, hits) = key_server_stub().await;
    let server = KeyServer::new(KeyServerConfig::new(url.parse().unwrap())).unwrap();
    let verifier = Verifier::new(
        KeyRing::default(),
        Some(server),
        Arc::new(FixedClock(1_000)),
    );
    let vectors = vectors();
    let valid_header = vectors["vectors"][0]["x_ecdsa_signature"].as_str().unwrap();
    let signature = valid_header.rsplit(':').next().unwrap();

    for attempt in 0..50 {
        let header = format!("forged-{attempt}:1000:n:{signature}");
        let request = SignedRequest {
            method: "POST",
            absolute_uri: "https://x/",
            header: Some(&header),
            body: b"",
        };
        let refused = verifier.verify(&request).await.unwrap_err();
        assert_eq!(refused.reason(), "unknown_key");
    }

    assert_eq!(hits.load(Ordering::SeqCst), 10);
}
