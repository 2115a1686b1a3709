//! Which combinations of settings `serve` accepts.

use clap::Parser;

use super::*;

#[derive(Debug, Parser)]
struct Serve {
    #[command(flatten)]
    args: ServeArgs,
}

const KEY: &str = include_str!("../../tests/fixtures/strex/signatures/test-public-key.b64");
const TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn config(extra: &[&str]) -> Result<ServeConfig, ConfigError> {
    let mut argv = vec![
        "serve",
        "--database-url=postgres://u@127.0.0.1/db",
        "--sf-login-url=https://acme.my.salesforce.com",
        "--sf-client-id=id",
        "--sf-client-secret=secret",
    ];
    argv.extend_from_slice(extra);
    Serve::try_parse_from(argv)
        .expect("the flags parse")
        .args
        .config()
}

#[test]
fn settings_that_cannot_work_are_refused_naming_what_to_change() {
    let keys = format!("--strex-public-keys=k={}", KEY.trim());
    let url = "--public-url=https://connector.example.com";
    let cases: [(&[&str], &str); 8] = [
        (&[], "no auth mode"),
        (&["--auth=ecdsa", "--insecure-no-auth"], "contradict"),
        (&["--auth=ecdsa", &keys], "STREXFORCE_PUBLIC_URL"),
        (&["--auth=ecdsa", url], "public key"),
        (
            &["--auth=ecdsa", url, "--strex-public-keys=k=AAAA"],
            "STREX_PUBLIC_KEYS",
        ),
        (
            &["--auth=token", "--forward-token=short"],
            "STREXFORCE_FORWARD_TOKEN",
        ),
        (
            &["--insecure-no-auth", "--admin-listen=127.0.0.1:9090"],
            "ADMIN_TOKEN",
        ),
        (
            &["--insecure-no-auth", "--admin-token=short"],
            "at least 32",
        ),
    ];

    for (flags, message) in cases {
        let error = config(flags).unwrap_err().to_string();
        assert!(error.contains(message), "{flags:?}: {error}");
    }
}

#[test]
fn each_auth_mode_is_built_from_its_settings() {
    let keys = format!("--strex-public-keys=k={}", KEY.trim());
    let url = "--public-url=https://connector.example.com/strex/";
    let token = format!("--forward-token={TOKEN}");

    let ecdsa = config(&["--auth=ecdsa", url, &keys]).unwrap().auth;
    let both = config(&["--auth=ecdsa,token", url, &keys, &token])
        .unwrap()
        .auth;
    let fetched = config(&["--auth=ecdsa", url, "--strex-key-fetch"])
        .unwrap()
        .auth;
    let insecure = config(&["--insecure-no-auth"]).unwrap().auth;

    assert_eq!(ecdsa.label(), "ecdsa");
    let public_url = &ecdsa.ecdsa.as_ref().unwrap().public_url;
    assert_eq!(public_url.as_str(), "https://connector.example.com/strex");
    assert_eq!(both.label(), "ecdsa,token");
    assert!(fetched.ecdsa.unwrap().key_server.is_some());
    assert!(insecure.is_insecure());
}

#[test]
fn keys_are_read_from_a_file_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keys");
    std::fs::write(
        &path,
        format!("# Strex\nk1={}\nk2={}\n", KEY.trim(), KEY.trim()),
    )
    .unwrap();
    let file = format!("--strex-public-keys-file={}", path.display());

    let auth = config(&["--auth=ecdsa", "--public-url=https://c.example", &file])
        .unwrap()
        .auth;

    assert_eq!(auth.ecdsa.unwrap().keys.names(), ["k1", "k2"]);
}

#[test]
fn the_admin_endpoints_are_off_unless_a_token_is_set() {
    let token = format!("--admin-token={TOKEN}");

    let off = config(&["--insecure-no-auth"]).unwrap().admin;
    let on = config(&[
        "--insecure-no-auth",
        &token,
        "--admin-listen=127.0.0.1:9090",
    ])
    .unwrap()
    .admin;

    assert!(off.is_none());
    assert_eq!(on.unwrap().listen, Some("127.0.0.1:9090".parse().unwrap()));
}

#[test]
fn a_printed_configuration_shows_no_secret() {
    let token = format!("--forward-token={TOKEN}");
    let admin = "--admin-token=admin-0123456789abcdef0123456789abcdef";
    let flags = [
        "--auth=token",
        &token,
        admin,
        "--strex-api-key=api-key-1234",
    ];

    let printed = format!("{:?}", config(&flags).unwrap());

    for secret in [
        TOKEN,
        "admin-0123456789",
        "api-key-1234",
        "--sf-client-secret=secret",
    ] {
        assert!(!printed.contains(secret), "{secret} in {printed}");
    }
    assert!(!printed.contains("\"secret\""), "{printed}");
}

#[test]
fn a_slow_down_share_is_between_zero_and_one() {
    assert_eq!(super::share("0.9").unwrap(), 0.9);
    assert!(super::share("90").is_err());
}

#[test]
fn a_country_code_is_one_to_three_digits() {
    assert_eq!(super::country_code("+47").unwrap(), "47");
    assert_eq!(super::country_code("358").unwrap(), "358");
    for bad in ["abc", "", "+", "4747", "4 7"] {
        assert!(super::country_code(bad).is_err(), "{bad:?} accepted");
    }
}

#[test]
fn a_body_limit_leaves_room_for_a_forward() {
    assert_eq!(super::body_limit("262144").unwrap(), 262_144);
    assert!(
        super::body_limit("0")
            .unwrap_err()
            .contains("at least 1024")
    );
    assert!(super::body_limit("lots").is_err());
}
