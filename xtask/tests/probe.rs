//! The probe against the emulator: clean when the server follows the spec, drift when
//! the spec and the server disagree.

use cloudbase_auth_emulator::{Emulator, SeedUser};
use cloudbase_auth_testkit::{CLIENT_ID, emulator_config as config};
use serde_json::{Value, json};
use xtask::probe::{Target, probe};

fn spec() -> Value {
    let text = std::fs::read_to_string(xtask::workspace_root().join(xtask::SPEC)).unwrap();
    xtask::openapi::parse(&text, xtask::SPEC).unwrap()
}

fn target(base_url: String, credentials: Option<(&str, &str)>) -> Target {
    Target {
        base_url,
        client_id: CLIENT_ID.into(),
        credentials: credentials.map(|(u, p)| (u.into(), p.into())),
    }
}

#[tokio::test]
async fn the_emulator_answers_as_the_spec_says() {
    let emulator = Emulator::start(config()).await.unwrap();
    emulator.control().seed_user(SeedUser {
        username: Some("probe_user".into()),
        password: Some("Passw0rd!2024".into()),
        ..Default::default()
    });
    let target = target(emulator.base_url(), Some(("probe_user", "Passw0rd!2024")));
    let report = probe(&spec(), &target).await.unwrap();
    let steps: Vec<(&str, u16)> = report.steps.iter().map(|s| (s.path, s.status)).collect();
    assert_eq!(
        steps,
        [
            ("/auth/v1/signin/anonymously", 200),
            ("/auth/v1/user/me", 200),
            ("/auth/v1/token/introspect", 200),
            ("/auth/v1/user/signout", 200),
            ("/auth/v1/signin", 200),
            ("/auth/v1/user/me", 200),
            ("/auth/v1/user/signout", 200),
        ]
    );
    assert!(report.is_clean(), "{}", report.render());
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_spec_that_disagrees_with_the_server_is_reported_as_drift() {
    let emulator = Emulator::start(config()).await.unwrap();
    let mut spec = spec();
    spec["components"]["schemas"]["TokenResponse"]["properties"]["expires_in"] =
        json!({ "type": "string" });
    let report = probe(&spec, &target(emulator.base_url(), None))
        .await
        .unwrap();
    assert!(!report.is_clean());
    let sign_in = &report.steps[0];
    assert_eq!(sign_in.path, "/auth/v1/signin/anonymously");
    assert!(
        sign_in
            .problems
            .iter()
            .any(|p| p.starts_with("/expires_in: ")),
        "{}",
        report.render()
    );
    assert!(
        report.steps[1..].iter().all(|s| s.problems.is_empty()),
        "{}",
        report.render()
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn wrong_credentials_are_drift_not_a_crash() {
    let emulator = Emulator::start(config()).await.unwrap();
    let target = target(emulator.base_url(), Some(("nobody", "wrong")));
    let report = probe(&spec(), &target).await.unwrap();
    let sign_in = &report.steps[4];
    assert_eq!(sign_in.path, "/auth/v1/signin");
    assert!(sign_in.status >= 400, "{}", report.render());
    assert_eq!(
        report.steps.len(),
        5,
        "no token, so nothing after the failed sign-in"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_server_is_an_error() {
    let error = probe(&spec(), &target("http://127.0.0.1:9".into(), None))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("POST http://127.0.0.1:9/auth/v1/signin/anonymously failed"),
        "{error}"
    );
}
