//! Bad input always gets a JSON error; state export/import; the control API over HTTP.

use std::time::Duration;

use cloudbase_auth_emulator::{Emulator, EmulatorConfig, SeedUser};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Emu, PASSWORD, reply, test_config};

#[tokio::test]
async fn malformed_requests_get_json_errors() {
    let emu = Emu::start_with(EmulatorConfig {
        max_body_bytes: 1024,
        ..test_config()
    })
    .await;
    let signin = || emu.request(Method::POST, "/auth/v1/signin");
    reply(
        signin()
            .header("content-type", "application/json")
            .body("{\"username\":"),
    )
    .await
    .assert_error(400, "invalid_argument");
    reply(
        signin()
            .header("content-type", "application/xml")
            .body("<a/>"),
    )
    .await
    .assert_error(415, "invalid_argument");
    // What the official JS SDK sends: a JSON string that fetch labels text/plain.
    let sdk_style = signin().header("content-type", "text/plain;charset=UTF-8");
    reply(sdk_style.body(r#"{"username":"x"}"#))
        .await
        .assert_error(400, "invalid_argument");
    // What `curl -d` sends.
    let form = signin().header("content-type", "application/x-www-form-urlencoded");
    reply(form.body("username=a&password=b"))
        .await
        .assert_error(415, "invalid_argument");
    reply(signin().json(&json!({"username": 5, "password": "x"})))
        .await
        .assert_error(400, "invalid_argument");
    reply(signin().json(&json!([1, 2])))
        .await
        .assert_error(400, "invalid_argument");
    reply(signin()).await.assert_error(400, "invalid_argument");
    reply(
        signin()
            .header("content-type", "application/json")
            .body(vec![0xff, 0xfe]),
    )
    .await
    .assert_error(400, "invalid_argument");
    emu.post(
        "/auth/v1/verification",
        json!({"target": "SOMEONE", "email": "a@b.c"}),
    )
    .await
    .assert_error(400, "invalid_argument");
    emu.post("/auth/v1/verification/verify", json!({}))
        .await
        .assert_error(400, "invalid_argument");

    let big = json!({"username": "a".repeat(2000), "password": "x"});
    reply(signin().json(&big))
        .await
        .assert_error(413, "payload_too_large");
    reply(emu.http.get(emu.url("/auth/v1/nowhere")))
        .await
        .assert_error(404, "not_found");
    reply(emu.http.get(emu.url("/")))
        .await
        .assert_error(404, "not_found");
    reply(emu.http.put(emu.url("/auth/v1/signin")))
        .await
        .assert_error(405, "method_not_allowed");
    reply(
        emu.http
            .get(emu.url("/auth/v1/user/me"))
            .header("authorization", "Bearer a.b.c"),
    )
    .await
    .assert_error(401, "unauthenticated");
    reply(signin().header("authorization", "Basic !!!"))
        .await
        .assert_error(401, "invalid_client");
    // User operations authenticate by the token alone.
    reply(
        emu.http
            .get(emu.url("/auth/v1/user/me"))
            .header("authorization", "Basic !!!"),
    )
    .await
    .assert_error(401, "unauthenticated");
    let long_device = "d".repeat(72);
    let anonymous = emu
        .http
        .post(emu.url("/auth/v1/signin/anonymously"))
        .header("x-device-id", long_device);
    let rejected = reply(anonymous).await;
    rejected.assert_error(400, "invalid_argument");
    assert_eq!(
        rejected.body["error_description"],
        "device id must less than 72"
    );
    reply(
        emu.http
            .get(emu.url("/auth/v1/provider/uri?provider_id=github")),
    )
    .await
    .assert_error(400, "invalid_argument");
}

#[tokio::test]
async fn state_export_import_round_trip() {
    let first = Emu::start().await;
    let session = first.seeded_session("alice_01").await;
    let exported = first.control.export_state();
    assert_eq!(exported["version"], 1);
    assert!(
        !exported.to_string().contains(&session.str("refresh_token")),
        "no plain-text tokens"
    );

    let second = Emu::start().await;
    second.control.import_state(exported.clone()).unwrap();
    assert_eq!(
        second.control.export_state()["state"]["users"],
        exported["state"]["users"]
    );
    let again = second.sign_in("alice_01", PASSWORD).await;
    assert_eq!(again.str("sub"), session.str("sub"));
    second.me(&session.str("access_token")).await.assert_ok();
    second
        .refresh(&session.str("refresh_token"))
        .await
        .assert_ok();

    // The same through HTTP.
    let third = Emu::start().await;
    let state: Value = reply(first.http.get(first.url("/emulator/v1/state")))
        .await
        .body;
    reply(third.http.put(third.url("/emulator/v1/state")).json(&state))
        .await
        .assert_ok();
    third.sign_in("alice_01", PASSWORD).await.assert_ok();
    let wrong = reply(
        third
            .http
            .put(third.url("/emulator/v1/state"))
            .json(&json!({"version": 9})),
    )
    .await;
    wrong.assert_error(400, "invalid_argument");
    assert!(
        third
            .control
            .import_state(json!({"version": 1, "state": 5}))
            .is_err()
    );
}

#[tokio::test]
async fn the_http_control_api_mirrors_control() {
    let emu = Emu::start().await;
    let control = |method: Method, path: &str| emu.http.request(method, emu.url(path));
    let now = reply(control(Method::GET, "/emulator/v1/clock")).await.body["now"]
        .as_u64()
        .unwrap();
    assert_eq!(now, emu.control.now());
    let set =
        reply(control(Method::PUT, "/emulator/v1/clock").json(&json!({"now": 2_000_000_000u64})))
            .await;
    assert_eq!(set.body["now"], 2_000_000_000u64);
    let advanced =
        reply(control(Method::POST, "/emulator/v1/clock/advance").json(&json!({"seconds": 10})))
            .await;
    assert_eq!(advanced.body["now"], 2_000_000_010u64);
    emu.control.advance_clock(Duration::from_secs(5));
    assert_eq!(emu.control.now(), 2_000_000_015);

    let seeded = reply(
        control(Method::POST, "/emulator/v1/users")
            .json(&json!({"username": "alice_01", "password": PASSWORD})),
    )
    .await;
    assert_eq!(seeded.str("sub").len(), 19);
    let lifetimes = json!({"access_token_ttl_secs": 30, "refresh_token_ttl_secs": 60});
    reply(control(Method::PUT, "/emulator/v1/config/token-lifetimes").json(&lifetimes))
        .await
        .assert_ok();
    assert_eq!(
        emu.sign_in("alice_01", PASSWORD).await.body["expires_in"],
        30
    );

    emu.send_code("ANY", "dave@example.com").await.assert_ok();
    let codes = reply(control(Method::GET, "/emulator/v1/codes")).await;
    assert_eq!(codes.body["codes"][0]["target"], "dave@example.com");
    emu.post("/auth/v1/captcha/data", json!({}))
        .await
        .assert_ok();
    let captchas = reply(control(Method::GET, "/emulator/v1/captcha")).await;
    assert_eq!(
        captchas.body["captchas"][0]["answer"]
            .as_str()
            .unwrap()
            .len(),
        4
    );

    reply(control(Method::POST, "/emulator/v1/reset"))
        .await
        .assert_ok();
    emu.sign_in("alice_01", PASSWORD)
        .await
        .assert_error(400, "invalid_password");
    assert_eq!(emu.control.request_count("sign_in"), 1);
    assert!(emu.control.verification_codes().is_empty());
    let sub = emu.control.seed_user(SeedUser {
        sub: Some("1234567890123456789".into()),
        username: Some("fixed".into()),
        password: Some(PASSWORD.into()),
        ..Default::default()
    });
    assert_eq!(sub, "1234567890123456789");
    assert_eq!(
        emu.sign_in("fixed", PASSWORD).await.body["expires_in"],
        7200,
        "reset restores lifetimes"
    );
}

#[tokio::test]
async fn the_in_process_router_serves_the_same_api() {
    let (router, control) = Emulator::router(test_config());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    control.seed_user(SeedUser {
        username: Some("alice_01".into()),
        password: Some(PASSWORD.into()),
        ..Default::default()
    });
    let body = json!({"username": "alice_01", "password": PASSWORD});
    reply(
        reqwest::Client::new()
            .post(format!("{base}/auth/v1/signin"))
            .json(&body),
    )
    .await
    .assert_ok();
    assert_eq!(control.request_count("sign_in"), 1);
    server.abort();
}
