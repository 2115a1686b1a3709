//! The forwards the benchmark posts: the shipped DLR and MO fixtures, made unique and signed
//! with the test key the signature tests use, as Strex would sign them.

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use strexforce::signature::{RequestSigner, SIGNATURE_HEADER};

const DLR_FIXTURE: &str = include_str!("../../../tests/fixtures/strex/dlr-subscribe.json");
const MO_FIXTURE: &str = include_str!("../../../tests/fixtures/strex/mo-plain.json");
const TEST_KEY_PEM: &str =
    include_str!("../../../tests/fixtures/strex/signatures/TEST-ONLY-DO-NOT-USE-private-key.pem");
const TEST_KEY_NAME: &str = "test-key-2025-01";
/// The fixtures' own values, replaced in every copy.
const FIXTURE_MSISDN: &str = "+4700000001";
const DLR_TRANSACTION_ID: &str = "dbdcee79-c23e-4b20-a696-c87bde2eadba";
const MO_TRANSACTION_ID: &str = "df1c6a90-7179-4807-83e9-50bf03d72cb3";
/// Distinct subscribers in a run. Many, as on a real short number: forwards of one subscriber
/// are serialised by intake, so a handful would measure lock waits instead of commits.
const SUBSCRIBERS: u64 = 100_000;

/// Which fixtures a run posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// Delivery reports and incoming SMS in turn.
    DlrAndMo,
    /// Incoming SMS only: each plans a Contact and a Strex_Event__c upsert.
    Mo,
}

/// A signed request ready to post.
pub struct SignedForward {
    pub url: String,
    pub body: Vec<u8>,
    pub signature: String,
}

/// Makes forwards with unique transaction ids for one service.
pub struct ForwardMaker {
    base_url: String,
    signer: RequestSigner,
    next: AtomicU64,
    run: u64,
}

impl ForwardMaker {
    /// `run` keeps transaction ids unique across the runs that share a database.
    pub fn new(base_url: &str, run: u64) -> anyhow::Result<ForwardMaker> {
        let signer = RequestSigner::from_pkcs8_pem(TEST_KEY_NAME, TEST_KEY_PEM)
            .context("the test signing key in tests/fixtures/strex/signatures does not load")?;
        Ok(ForwardMaker {
            base_url: base_url.trim_end_matches('/').to_owned(),
            signer,
            next: AtomicU64::new(0),
            run,
        })
    }

    /// The public key `serve` must trust, in the `STREX_PUBLIC_KEYS` form.
    pub fn public_keys_setting() -> anyhow::Result<String> {
        let signer = RequestSigner::from_pkcs8_pem(TEST_KEY_NAME, TEST_KEY_PEM)
            .context("the test signing key does not load")?;
        Ok(format!("{TEST_KEY_NAME}={}", signer.public_key_base64()))
    }

    /// The next forward of the mix, signed now.
    pub fn next(&self, mix: Mix) -> SignedForward {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let is_dlr = mix == Mix::DlrAndMo && n.is_multiple_of(2);
        let (kind, fixture, fixture_id) = if is_dlr {
            ("dlr", DLR_FIXTURE, DLR_TRANSACTION_ID)
        } else {
            ("mo", MO_FIXTURE, MO_TRANSACTION_ID)
        };
        // Same length as the fixture's ids, so that bodies keep the fixtures' size.
        let transaction_id = format!("{:08x}-0000-4000-8000-{n:012x}", self.run);
        let msisdn = format!("+4790{:06}", n % SUBSCRIBERS);
        let body = fixture
            .replace(fixture_id, &transaction_id)
            .replace(FIXTURE_MSISDN, &msisdn)
            .into_bytes();
        let url = format!("{}/forward/{kind}", self.base_url);
        let signature = self.signer.header_now("POST", &url, &body);
        SignedForward {
            url,
            body,
            signature,
        }
    }

    /// The mean body size of the mix, for the ceiling's rows.
    pub fn body_size(mix: Mix) -> usize {
        match mix {
            Mix::DlrAndMo => (DLR_FIXTURE.len() + MO_FIXTURE.len()) / 2,
            Mix::Mo => MO_FIXTURE.len(),
        }
    }
}

impl SignedForward {
    pub fn request(self, http: &reqwest::Client) -> reqwest::RequestBuilder {
        http.post(self.url)
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, self.signature)
            .body(self.body)
    }
}
