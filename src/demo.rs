//! `strexforce demo`: the whole path on one machine. A Postgres (temporary unless
//! DATABASE_URL is set), the Salesforce emulator and `serve` start on free loopback ports; the
//! sample forwards are posted over HTTP as Strex would post them; when the sync is done the
//! sync log and the records in the emulator are printed.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::forward::auth::{AuthConfig, EcdsaConfig};
use crate::forward::limits::ReceiveLimits;
use crate::forward::{ForwardKind, NumberingPlan, parse};
use crate::mapping::MappingSettings;
use crate::report;
use crate::salesforce::{LoginFlow, LoginStartup, SalesforceConfig};
use crate::server::{RunningService, ServeConfig};
use crate::signature::{KeyRing, PublicUrl, RequestSigner};
use crate::store::retention::RetentionPolicy;
use crate::store::temp_server::{Durability, TempServer};
use crate::store::{LogFilter, PoolSettings, Store};
use crate::sync::SyncSettings;

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Use this database instead of a temporary server.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Folder holding the mapping files.
    #[arg(
        long = "mappings",
        env = "STREXFORCE_MAPPINGS_DIR",
        default_value = "mappings"
    )]
    pub mappings_dir: PathBuf,
    /// How long to wait for the sync to finish, in seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
}

/// A sample forward: file name, kind and bytes.
pub struct Sample {
    pub file: &'static str,
    pub kind: ForwardKind,
    pub body: &'static [u8],
}

macro_rules! sample {
    ($kind:ident, $file:literal) => {
        Sample {
            file: $file,
            kind: ForwardKind::$kind,
            body: include_bytes!(concat!("../tests/fixtures/strex/", $file)),
        }
    };
}

/// The fixtures in the order a subscriber's story would produce them: a keyword MO with
/// number lookup, the subscription's delivery reports, other services, and the opt-out last.
pub const SAMPLES: [Sample; 24] = [
    sample!(Mo, "mo-lookup.json"),
    sample!(Dlr, "dlr-subscribe.json"),
    sample!(Dlr, "dlr-recurring.json"),
    sample!(Dlr, "dlr-alter-price.json"),
    sample!(Dlr, "dlr-alter-price-invalid.json"),
    sample!(Dlr, "dlr-already-registered.json"),
    sample!(Dlr, "dlr-recurring-preauth-failed.json"),
    sample!(Dlr, "dlr-reversed.json"),
    sample!(Dlr, "dlr-signup.json"),
    sample!(Dlr, "dlr-recurring-insufficient-funds.json"),
    sample!(Dlr, "dlr-subscribe-preauth-failed.json"),
    sample!(Dlr, "dlr-validation-failed.json"),
    sample!(Dlr, "dlr-lookup-failed.json"),
    sample!(Mo, "mo-lookup-nested.json"),
    sample!(Mo, "mo-plain.json"),
    sample!(Mo, "mo-minimal.json"),
    sample!(Mo, "mo-preauth.json"),
    sample!(Mo, "mo-preauth-failed.json"),
    sample!(Mo, "mo-unicode.json"),
    sample!(Mo, "mo-unicode-escaped.json"),
    sample!(Dlr, "dlr-plain-sms-delivered.json"),
    sample!(Dlr, "dlr-properties-null.json"),
    sample!(Dlr, "dlr-sfmcsms.json"),
    sample!(Mo, "mo-stop.json"),
];

/// Opt-out comes last in the story, after the stop MO.
pub const LAST_SAMPLE: Sample = sample!(Dlr, "dlr-unsubscribe.json");

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let (database_url, _temp_server) = database(&args).await?;
    let emulator_listener = TcpListener::bind("127.0.0.1:0").await?;
    let emulator =
        sf_emulator::start(sf_emulator::EmulatorConfig::default(), emulator_listener).await?;
    println!("Salesforce emulator at {}", emulator.url());

    // The demo plays Strex: it signs every forward with a key it makes up for this run.
    let signer = RequestSigner::generate("demo-key");
    let service = start_service(&args, &database_url, &emulator.url(), &signer).await?;
    println!("strexforce listening at {}", service.url());
    println!(
        "forwards are signed with a fresh demo key ({})\n",
        signer.key_name()
    );
    let posted = post_samples(&service.url(), &signer).await?;
    let event_ids = event_ids(&service.store, &posted).await?;
    let settled = wait_for_sync(
        &service.store,
        &event_ids,
        Duration::from_secs(args.timeout_secs),
    )
    .await?;

    let all_succeeded = print_results(&service.store, &event_ids, &posted, &emulator).await?;
    service.stop().await?;
    emulator.shutdown().await;
    if !settled {
        println!("the sync did not finish within {} s", args.timeout_secs);
    }
    Ok(if settled && all_succeeded {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn database(args: &DemoArgs) -> anyhow::Result<(String, Option<TempServer>)> {
    if let Some(url) = &args.database_url {
        println!(
            "using the database in DATABASE_URL (the sample forwards are stored there; unset it \
             to use a temporary server)"
        );
        return Ok((url.clone(), None));
    }
    println!("starting a temporary PostgreSQL server (set DATABASE_URL to use your own)");
    let server = TempServer::start(Durability::Relaxed).await?;
    Ok((server.url("postgres"), Some(server)))
}

async fn start_service(
    args: &DemoArgs,
    database_url: &str,
    emulator_url: &str,
    signer: &RequestSigner,
) -> anyhow::Result<RunningService> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let public_url = PublicUrl::parse(&format!("http://{}", listener.local_addr()?))?;
    let mut keys = KeyRing::default();
    keys.insert(signer.key_name(), signer.public_key());
    let config = ServeConfig {
        database_url: database_url.to_owned(),
        pool: PoolSettings::default(),
        mappings_dir: args.mappings_dir.clone(),
        mapping_settings: MappingSettings::default(),
        salesforce: SalesforceConfig {
            login_url: emulator_url.parse()?,
            client_id: sf_emulator::DEFAULT_CLIENT_ID.to_owned(),
            client_secret: sf_emulator::DEFAULT_CLIENT_SECRET.to_owned().into(),
            flow: LoginFlow::ClientCredentials,
            api_version: "66.0".to_owned(),
            request_timeout: Duration::from_secs(30),
        },
        salesforce_startup: LoginStartup::default(),
        sync: SyncSettings::default(),
        retention: RetentionPolicy::default(),
        retention_interval: None,
        limits: ReceiveLimits::default(),
        auth: AuthConfig {
            ecdsa: Some(EcdsaConfig {
                public_url,
                keys,
                key_server: None,
            }),
            token: None,
        },
        admin: None,
    };
    crate::server::start(config, listener, CancellationToken::new())
        .await
        .with_context(|| {
            format!(
                "cannot start strexforce (run the demo from the repository root, or set \
                 STREXFORCE_MAPPINGS_DIR to the mappings folder; now {})",
                args.mappings_dir.display()
            )
        })
}

/// What Strex got back for one sample.
pub struct Posted {
    pub sample: &'static Sample,
    pub status: u16,
    pub outcome: String,
}

async fn post_samples(base_url: &str, signer: &RequestSigner) -> anyhow::Result<Vec<Posted>> {
    crate::salesforce::install_crypto_provider();
    let http = reqwest::Client::new();
    let mut posted = Vec::new();
    for sample in SAMPLES.iter().chain(std::iter::once(&LAST_SAMPLE)) {
        let url = format!("{base_url}/forward/{}", sample.kind);
        let signature = signer.header_now("POST", &url, sample.body);
        let response = http
            .post(url)
            .header("content-type", "application/json")
            .header(crate::signature::SIGNATURE_HEADER, signature)
            .body(sample.body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let outcome = body["status"]
            .as_str()
            .or(body["code"].as_str())
            .unwrap_or("?")
            .to_owned();
        posted.push(Posted {
            sample,
            status,
            outcome,
        });
    }
    Ok(posted)
}

/// The events behind the samples, duplicates included (they point at the first copy).
async fn event_ids(store: &Store, posted: &[Posted]) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::new();
    for post in posted {
        let Ok(forward) = parse(
            post.sample.kind,
            post.sample.body,
            &NumberingPlan::default(),
        ) else {
            continue;
        };
        if let Some(id) = store.event_id_by_dedupe_key(&forward.dedupe_key()).await? {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Polls until no row of these events is pending or in flight; `false` on timeout.
async fn wait_for_sync(store: &Store, event_ids: &[i64], limit: Duration) -> anyhow::Result<bool> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if store.open_rows(event_ids).await? == 0 {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(false)
}

async fn print_results(
    store: &Store,
    event_ids: &[i64],
    posted: &[Posted],
    emulator: &sf_emulator::RunningEmulator,
) -> anyhow::Result<bool> {
    println!("Forwards posted:");
    let mut forwards = comfy_table::Table::new();
    forwards.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    forwards.set_header(["file", "kind", "HTTP", "outcome"]);
    for post in posted {
        forwards.add_row([
            post.sample.file.to_owned(),
            post.sample.kind.to_string(),
            post.status.to_string(),
            post.outcome.clone(),
        ]);
    }
    println!("{forwards}\n");

    let filter = LogFilter {
        event_ids: Some(event_ids.to_vec()),
        limit: 10_000,
        ..LogFilter::default()
    };
    let entries = store.sync_log(&filter).await?;
    println!(
        "Sync log ({} rows):\n{}\n",
        entries.len(),
        report::sync_log_table(&entries)
    );

    let mut objects: Vec<&str> = entries.iter().map(|e| e.sobject.as_str()).collect();
    objects.sort_unstable();
    objects.dedup();
    for object in objects {
        let records = emulator.records(object);
        println!(
            "{object} records in Salesforce ({}):\n{}\n",
            records.len(),
            report::records_table(&records)
        );
    }
    let all_posted = posted.iter().all(|post| post.status == 200);
    let all_succeeded = !entries.is_empty() && entries.iter().all(|e| e.status == "succeeded");
    println!(
        "{}",
        if all_posted && all_succeeded {
            "Every forward was accepted and every sync_log row succeeded."
        } else {
            "Some forwards or sync_log rows did not succeed; see above."
        }
    );
    Ok(all_posted && all_succeeded)
}
