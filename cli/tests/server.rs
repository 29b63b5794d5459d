//! `admin-token` and `ticket` as a script runs them, against an emulator that verifies TC3
//! signatures and custom-login tickets.

use std::process::Output;

use assert_cmd::prelude::*;
use cloudbase_auth_emulator::{
    CloudSecret, CustomLoginPublicKey, Emulator, EmulatorConfig, PasswordHashing, RunningEmulator,
};
use predicates::str::contains;
use serde_json::Value;

const SECRET_ID: &str = "AKIDcli";
const SECRET_KEY: &str = "cli-secret-key-0001";
const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/custom-login"
);

async fn emulator() -> RunningEmulator {
    let public_key = std::fs::read_to_string(format!("{FIXTURES}/dev-only-public.pem")).unwrap();
    let config = EmulatorConfig {
        password_hashing: PasswordHashing::Fast,
        cloud_secret: Some(CloudSecret {
            secret_id: SECRET_ID.into(),
            secret_key: SECRET_KEY.into(),
            session_token: None,
        }),
        custom_login_keys: vec![CustomLoginPublicKey {
            private_key_id: "dev-only-key-1".into(),
            public_key,
        }],
        ..EmulatorConfig::default()
    };
    Emulator::start(config).await.expect("emulator starts")
}

/// Runs the binary with exactly these `CLOUDBASE_SECRET_*` variables (on a blocking thread:
/// the emulator is served by this test's runtime).
async fn run(args: &[&str], secrets: &[(&str, &str)]) -> Output {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("cloudbase-auth");
    for name in [
        "CLOUDBASE_SECRET_ID",
        "CLOUDBASE_SECRET_KEY",
        "CLOUDBASE_SESSION_TOKEN",
        "CLOUDBASE_ENV",
        "CLOUDBASE_BASE_URL",
        "CLOUDBASE_CLIENT_ID",
        "CLOUDBASE_CLIENT_SECRET",
        "CLOUDBASE_AUTH_CLOCK_OFFSET_SECS",
    ] {
        cmd.env_remove(name);
    }
    let home = tempfile::TempDir::new().unwrap();
    cmd.env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path());
    for (name, value) in secrets {
        cmd.env(name, value);
    }
    cmd.args(args);
    let output = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    drop(home);
    output
}

const KEYS: [(&str, &str); 2] = [
    ("CLOUDBASE_SECRET_ID", SECRET_ID),
    ("CLOUDBASE_SECRET_KEY", SECRET_KEY),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_token_prints_the_expiry_and_the_token_only_when_asked() {
    let emu = emulator().await;
    let url = emu.base_url();
    let base = ["--base-url", url.as_str(), "--env", "demo-env"];
    let output = run(&[&base[..], &["admin-token"]].concat(), &KEYS).await;
    output
        .clone()
        .assert()
        .success()
        .stdout(contains("Admin token granted: expires at"));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        !text.contains("eyJ") && !text.contains(SECRET_KEY),
        "{text}"
    );

    let output = run(
        &[&base[..], &["admin-token", "--print-access-token"]].concat(),
        &KEYS,
    )
    .await;
    output.clone().assert().success();
    let token = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert_eq!(
        token.split('.').count(),
        3,
        "a JWT alone on its line: {token}"
    );

    let output = run(&[&base[..], &["--json", "admin-token"]].concat(), &KEYS).await;
    let value: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        value["expires_in"].as_u64().map(|s| s > 431_000),
        Some(true),
        "{value}"
    );
    assert!(value.get("access_token").is_none());
    assert_eq!(emu.control().request_count("client_credential_token"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_token_failures_have_their_exit_codes_and_name_no_secret() {
    let emu = emulator().await;
    let url = emu.base_url();
    let base = [
        "--base-url",
        url.as_str(),
        "--env",
        "demo-env",
        "admin-token",
    ];
    let wrong = [
        ("CLOUDBASE_SECRET_ID", SECRET_ID),
        ("CLOUDBASE_SECRET_KEY", "wrong-key-123"),
    ];
    let output = run(&base, &wrong).await;
    output
        .clone()
        .assert()
        .code(3)
        .stderr(contains("unauthenticated"));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("wrong-key-123"), "{stderr}");
    run(&base, &[])
        .await
        .assert()
        .code(2)
        .stderr(contains("CLOUDBASE_SECRET_ID"));
    let sts = [
        KEYS[0],
        KEYS[1],
        ("CLOUDBASE_SESSION_TOKEN", "sts-token-not-configured"),
    ];
    run(&base, &sts).await.assert().code(3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ticket_prints_a_ticket_the_emulator_signs_in() {
    let emu = emulator().await;
    let key_file = format!("{FIXTURES}/dev-only-key.json");
    let output = run(
        &["ticket", "--key-file", &key_file, "--uid", "cli-user-01"],
        &[],
    )
    .await;
    output.clone().assert().success();
    let ticket = String::from_utf8_lossy(&output.stdout).trim().to_string();
    assert!(ticket.starts_with("dev-only-key-1/@@/"), "{ticket}");
    let config = cloudbase_auth::Config::for_base_url(emu.base_url()).with_client_id("demo-env");
    let session = cloudbase_auth::Session::new(config).unwrap();
    let signed_in = session
        .sign_in_with_custom_ticket(&cloudbase_auth::CustomLoginTicket::new(ticket))
        .await
        .unwrap();
    assert!(signed_in.sub.is_some());
    run(&["ticket", "--key-file", &key_file, "--uid", "no"], &[])
        .await
        .assert()
        .code(2)
        .stderr(contains("4-32 characters"));
    run(
        &[
            "ticket",
            "--key-file",
            "/nonexistent/key.json",
            "--uid",
            "cli-user-01",
        ],
        &[],
    )
    .await
    .assert()
    .code(2);
}
