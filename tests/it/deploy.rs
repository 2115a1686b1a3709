//! The deployment files agree with the code: ports, probe paths, setting names and the
//! shutdown grace. Docker and Kubernetes are not run here; the files are read as data, and
//! the binary is started with the environment docker-compose.yml gives it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use serde_json::Value;

use crate::common::TestDb;
use crate::common::process::ServeCommand;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(repo(path)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Every setting `serve` reads: its flags' environment names, and the log settings.
fn serve_settings() -> BTreeSet<String> {
    let cli = strexforce::cli::Cli::command();
    let serve = cli.find_subcommand("serve").expect("a serve command");
    let mut names: BTreeSet<String> = serve
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|name| name.to_string_lossy().into_owned())
        .collect();
    names.extend(["RUST_LOG".to_owned(), "STREXFORCE_LOG_FORMAT".to_owned()]);
    names
}

/// The names `.env.example` documents, set or commented out.
fn documented_settings() -> BTreeSet<String> {
    std::fs::read_to_string(repo(".env.example"))
        .unwrap()
        .lines()
        .map(|line| line.trim_start_matches('#').trim())
        .filter_map(|line| line.split_once('=').map(|(name, _)| name))
        .filter(|name| !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .map(str::to_owned)
        .collect()
}

fn assert_known(names: impl IntoIterator<Item = String>, what: &str) {
    let (serve, documented) = (serve_settings(), documented_settings());
    for name in names {
        assert!(
            serve.contains(&name),
            "{what}: {name} is not a setting of serve"
        );
        assert!(
            documented.contains(&name),
            "{what}: {name} is not in .env.example"
        );
    }
}

/// The paths the OpenAPI document (checked against the served one) lists.
fn served_paths() -> Vec<String> {
    let document: Value =
        serde_json::from_str(&std::fs::read_to_string(repo("docs/openapi.json")).unwrap()).unwrap();
    document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

fn listen_port(listen: &str) -> u64 {
    listen.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn the_kubernetes_deployment_probes_real_routes_on_the_port_serve_listens_on() {
    let deployment = yaml("deploy/kubernetes/deployment.yaml");
    let config = yaml("deploy/kubernetes/configmap.yaml");

    let spec = &deployment["spec"]["template"]["spec"];
    let container = &spec["containers"][0];
    assert_eq!(deployment["spec"]["replicas"], 2);
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    let paths = served_paths();
    for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
        let probe = &container[probe]["httpGet"];
        assert!(
            paths.contains(&probe["path"].as_str().unwrap().to_owned()),
            "{probe}"
        );
        assert_eq!(probe["port"], "http");
    }
    let port = &container["ports"][0];
    assert_eq!(port["name"], "http");
    let listen = config["data"]["STREXFORCE_LISTEN"].as_str().unwrap();
    assert_eq!(port["containerPort"].as_u64(), Some(listen_port(listen)));
    assert_eq!(
        deployment["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"],
        "/metrics"
    );
    let service = yaml("deploy/kubernetes/service.yaml");
    assert_eq!(service["spec"]["ports"][0]["targetPort"], "http");
}

#[test]
fn the_kubernetes_grace_period_outlasts_serves_shutdown() {
    let deployment = yaml("deploy/kubernetes/deployment.yaml");

    let spec = &deployment["spec"]["template"]["spec"];
    let grace = spec["terminationGracePeriodSeconds"].as_u64().unwrap();
    let pre_stop = &spec["containers"][0]["lifecycle"]["preStop"]["exec"]["command"];
    let pause: u64 = pre_stop[1].as_str().unwrap().parse().unwrap();

    let needed = strexforce::server::SHUTDOWN_LIMIT.as_secs() + pause;
    assert!(
        grace > needed,
        "grace {grace} s, but shutdown may take {needed} s"
    );
}

#[test]
fn every_setting_the_kubernetes_files_give_is_one_serve_reads() {
    let config = yaml("deploy/kubernetes/configmap.yaml");
    let secret = yaml("deploy/kubernetes/secret.example.yaml");

    let names = config["data"]
        .as_object()
        .unwrap()
        .keys()
        .chain(secret["stringData"].as_object().unwrap().keys())
        .cloned();

    assert_known(names, "kubernetes");
}

#[test]
fn docker_compose_agrees_with_the_code_and_the_dockerfile() {
    let compose = yaml("docker-compose.yml");
    let dockerfile = std::fs::read_to_string(repo("Dockerfile")).unwrap();

    let service = &compose["services"]["strexforce"];
    let environment = service["environment"].as_object().unwrap();
    assert_known(environment.keys().cloned(), "docker-compose.yml");
    let listen = environment["STREXFORCE_LISTEN"].as_str().unwrap();
    let published = service["ports"][0].as_str().unwrap();
    assert_eq!(
        published.rsplit(':').next().unwrap(),
        listen_port(listen).to_string()
    );
    assert!(dockerfile.contains(&format!("EXPOSE {}", listen_port(listen))));
    assert!(dockerfile.contains(&format!("STREXFORCE_LISTEN={listen}")));
    let grace = service["stop_grace_period"].as_str().unwrap();
    let grace: u64 = grace.trim_end_matches('s').parse().unwrap();
    assert!(grace > strexforce::server::SHUTDOWN_LIMIT.as_secs());
    assert_eq!(
        compose["services"]["sf-emulator"]["profiles"][0],
        "emulator"
    );
    let emulator_env = compose["services"]["sf-emulator"]["environment"]
        .as_object()
        .unwrap();
    let emulator_main = std::fs::read_to_string(repo("crates/sf-emulator/src/main.rs")).unwrap();
    for name in emulator_env.keys() {
        assert!(
            emulator_main.contains(&format!("env = \"{name}\"")),
            "{name}"
        );
    }
    // An unprivileged user in every runtime image.
    assert_eq!(dockerfile.matches("USER 10001").count(), 1);
    assert!(!dockerfile.contains("USER root"));
}

/// `${NAME:?message}` and `${NAME:-default}` as compose reads them, from `given`.
fn interpolate(value: &str, given: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        let inner = &rest[start + 2..end];
        let name = inner.split([':', '-', '?']).next().unwrap();
        let default = inner.split_once(":-").map(|(_, d)| d);
        let found = given.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        out.push_str(
            found
                .or(default)
                .unwrap_or_else(|| panic!("{name} is required")),
        );
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn the_binary_starts_with_the_compose_environment_and_answers_health() {
    strexforce::salesforce::install_crypto_provider();
    let db = TestDb::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let emulator = sf_emulator::start(Default::default(), listener)
        .await
        .unwrap();
    let compose = yaml("docker-compose.yml");
    let environment = compose["services"]["strexforce"]["environment"].clone();

    // What .env gives in compose; the database and the port are this test's own.
    let given = [("POSTGRES_PASSWORD", "unused-with-trust-auth")];
    let mut command = ServeCommand::new(&db.url, &emulator.url());
    for (name, value) in environment.as_object().unwrap() {
        let value = interpolate(value.as_str().unwrap(), &given);
        let value = match name.as_str() {
            "DATABASE_URL" => db.url.clone(),
            "STREXFORCE_LISTEN" => format!("127.0.0.1:{}", command.port),
            // The image's copy of the shipped mappings is the repository's.
            "STREXFORCE_MAPPINGS_DIR" => command.mappings_dir.display().to_string(),
            _ => value,
        };
        command.envs.push((name.clone(), value));
    }
    // The child's default is quiet; the startup summary shows the log format at work.
    command
        .envs
        .push(("RUST_LOG".to_owned(), "info".to_owned()));
    let serve = command.start().await;

    let http = reqwest::Client::new();
    let health = http
        .get(format!("{}/healthz", serve.url))
        .send()
        .await
        .unwrap();
    let ready = http
        .get(format!("{}/readyz", serve.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(ready.status(), 200);
    // The compose file asks for JSON logs.
    let log = serve.log_text();
    let summary = log.lines().find(|line| line.contains("\"configuration\""));
    let summary: Value = serde_json::from_str(summary.expect("a startup summary")).unwrap();
    assert_eq!(summary["fields"]["sf_auth_flow"], "client_credentials");
}
