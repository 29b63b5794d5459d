//! The emulator under abuse (issue #14): it refuses what CloudBase refuses and holds its
//! bounds. Each test names the defect it pins down.

use std::time::{Duration, Instant};

use cloudbase_auth_emulator::{ClientConfig, EmulatorConfig, Limits, PasswordHashing, SeedUser};
use reqwest::Method;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use crate::common::{Emu, PASSWORD, Reply, reply, test_config};

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn timed(emu: &Emu, login: &str) -> Duration {
    let started = Instant::now();
    emu.sign_in(login, "wrong-password")
        .await
        .assert_error(400, "invalid_password");
    started.elapsed()
}

/// The emulator with production password hashing (OWASP argon2 parameters) that never
/// asks for a captcha, so every guess reaches the password check; `alice_01` seeded.
async fn guessable() -> Emu {
    let emu = Emu::start_with(EmulatorConfig {
        password_hashing: PasswordHashing::Owasp,
        captcha_after_failed_sign_ins: u32::MAX,
        ..test_config()
    })
    .await;
    emu.seed("alice_01");
    emu
}

/// Item 2: a wrong password for a known login and any unknown login take the same time, and
/// a user without a password answers like an unknown login.
#[tokio::test]
async fn unknown_logins_answer_like_wrong_passwords_and_take_as_long() {
    let emu = guessable().await;
    emu.control.seed_user(SeedUser {
        username: Some("no_password".into()),
        ..SeedUser::default()
    });
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for i in 0..21 {
        known.push(timed(&emu, "alice_01").await);
        unknown.push(timed(&emu, &format!("nobody_{i}")).await);
    }
    let ratio = median(known).as_secs_f64() / median(unknown).as_secs_f64();
    println!("RESULT timing known/unknown median ratio = {ratio:.2}");
    assert!(
        (0.5..2.0).contains(&ratio),
        "wrong-password vs unknown-login median ratio {ratio:.2}"
    );
    emu.sign_in("no_password", "anything-at-all")
        .await
        .assert_error(400, "invalid_password");
}

async fn parallel_wrong_guesses(emu: &Emu, login: &str, count: usize) -> Vec<Reply> {
    let mut guesses = JoinSet::new();
    for _ in 0..count {
        let request = emu
            .request(Method::POST, "/auth/v1/signin")
            .json(&json!({"username": login, "password": "wrong-password"}));
        guesses.spawn(reply(request));
    }
    guesses.join_all().await
}

fn evaluated(replies: &[Reply]) -> usize {
    replies
        .iter()
        .filter(|r| r.body["error"] == "invalid_password")
        .count()
}

/// Item 3: parallel guesses cannot exceed the captcha point.
#[tokio::test]
async fn parallel_guesses_stop_at_the_captcha_point() {
    let emu = Emu::start_with(EmulatorConfig {
        password_hashing: PasswordHashing::Owasp,
        ..test_config()
    })
    .await;
    emu.seed("alice_01");
    let replies = parallel_wrong_guesses(&emu, "alice_01", 64).await;
    assert_eq!(
        evaluated(&replies),
        5,
        "guesses evaluated past the captcha point"
    );
}

/// Item 3: parallel guesses cannot exceed the hourly cap.
#[tokio::test]
async fn parallel_guesses_stop_at_the_hourly_cap() {
    let emu = guessable().await;
    let replies = parallel_wrong_guesses(&emu, "alice_01", 130).await;
    assert_eq!(
        evaluated(&replies),
        100,
        "guesses evaluated past the hourly cap"
    );
}

/// Item 3: every spelling of a login (username, e-mail in any case, phone) shares one budget.
#[tokio::test]
async fn failures_count_per_account_not_per_spelling() {
    let emu = Emu::start().await;
    emu.control.seed_user(SeedUser {
        username: Some("alice_01".into()),
        email: Some("alice@example.com".into()),
        phone_number: Some("+86 13800000000".into()),
        password: Some(PASSWORD.into()),
        ..SeedUser::default()
    });
    for login in [
        "alice_01",
        "alice@example.com",
        "ALICE@EXAMPLE.COM",
        "+86 13800000000",
        "+0086 13800000000",
    ] {
        emu.sign_in(login, "wrong-password")
            .await
            .assert_error(400, "invalid_password");
    }
    emu.sign_in("Alice@Example.com", PASSWORD)
        .await
        .assert_error(400, "captcha_required");
}

/// Item 3: `captcha/init` hands out a challenge, never a token that skips it.
#[tokio::test]
async fn captcha_init_does_not_hand_out_a_usable_token() {
    let emu = Emu::start().await;
    emu.seed("alice_01");
    for _ in 0..5 {
        emu.sign_in("alice_01", "wrong-password").await;
    }
    let init = emu.post("/auth/v1/captcha/init", json!({})).await;
    init.assert_ok();
    let token = init.str("captcha_token");
    let request = emu
        .request(Method::POST, "/auth/v1/signin")
        .header("x-captcha-token", token)
        .json(&json!({"username": "alice_01", "password": "wrong-password"}));
    reply(request).await.assert_error(400, "captcha_required");
}

/// Item 4: a bearer cannot set an unverified e-mail or phone (account takeover).
#[tokio::test]
async fn basic_edit_cannot_set_unverified_contacts() {
    let emu = Emu::start().await;
    let anonymous = reply(emu.request(Method::POST, "/auth/v1/signin/anonymously")).await;
    let access = anonymous.str("access_token");
    let edit = |body| {
        emu.call(
            Method::POST,
            "/auth/v1/user/basic/edit",
            &access,
            Some(body),
        )
    };
    edit(json!({"email": "victim@example.com"}))
        .await
        .assert_error(403, "permission_denied");
    edit(json!({"phone": "+86 13800000000"}))
        .await
        .assert_error(403, "permission_denied");
    edit(json!({"nickname": "still allowed"})).await.assert_ok();
    let me = emu.me(&access).await;
    assert!(me.body.get("email").is_none(), "{me:?}");
    assert_eq!(me.body["email_verified"], false);
    // The real owner can still sign up with their address.
    emu.control.advance_clock(Duration::from_secs(60));
    let token = emu
        .verification_token("NOT_USER", "victim@example.com")
        .await;
    emu.post(
        "/auth/v1/signup",
        json!({"email": "victim@example.com", "verification_token": token}),
    )
    .await
    .assert_ok();
}

fn two_clients() -> EmulatorConfig {
    EmulatorConfig {
        clients: vec![
            ClientConfig {
                client_id: "demo-env".into(),
                client_secret: Some("demo-secret".into()),
            },
            ClientConfig {
                client_id: "other".into(),
                client_secret: Some("other-secret".into()),
            },
        ],
        ..test_config()
    }
}

/// Item 5: a junk bearer does not skip client authentication.
#[tokio::test]
async fn a_junk_bearer_does_not_skip_the_client_secret() {
    let emu = Emu::start_with(two_clients()).await;
    let junk = emu
        .request(Method::POST, "/auth/v1/verification")
        .bearer_auth("junk")
        .json(&json!({"target": "ANY", "email": "a@example.com"}));
    reply(junk).await.assert_error(401, "unauthenticated");
    let anonymous = emu
        .request(Method::POST, "/auth/v1/verification")
        .json(&json!({"target": "ANY", "email": "a@example.com"}));
    reply(anonymous).await.assert_error(401, "invalid_client");
}

/// Item 5: only the owning client revokes a refresh token (RFC 7009 §2.1); a junk bearer
/// does not stand in for the client.
#[tokio::test]
async fn only_the_owning_client_revokes_a_refresh_token() {
    let emu = Emu::start_with(two_clients()).await;
    emu.seed("alice_01");
    let signed_in = emu
        .request(Method::POST, "/auth/v1/signin")
        .basic_auth("demo-env", Some("demo-secret"))
        .json(&json!({"username": "alice_01", "password": PASSWORD}));
    let refresh_token = reply(signed_in).await.str("refresh_token");
    let revoke = json!({"token": refresh_token});
    let by_other = emu
        .request(Method::POST, "/auth/v1/revoke")
        .basic_auth("other", Some("other-secret"))
        .json(&revoke);
    reply(by_other).await.assert_ok();
    let by_junk = emu
        .request(Method::POST, "/auth/v1/revoke")
        .bearer_auth("junk")
        .json(&revoke);
    reply(by_junk).await.assert_error(401, "unauthenticated");
    let refresh = emu
        .request(Method::POST, "/auth/v1/token")
        .basic_auth("demo-env", Some("demo-secret"))
        .json(&json!({"grant_type": "refresh_token", "refresh_token": refresh_token}));
    reply(refresh).await.assert_ok();
}

/// Item 6: no web page can read the control API or drive it with a simple request.
#[tokio::test]
async fn the_control_api_refuses_cross_origin_requests() {
    let emu = Emu::start().await;
    let before = emu.control.now();
    let read = emu
        .http
        .get(emu.url("/emulator/v1/state"))
        .header("origin", "http://evil.example");
    let read = reply(read).await;
    read.assert_error(403, "permission_denied");
    assert!(!read.headers.contains_key("access-control-allow-origin"));
    let simple_post = emu
        .http
        .post(emu.url("/emulator/v1/clock/advance"))
        .header("origin", "http://evil.example")
        .header("content-type", "text/plain")
        .body(r#"{"seconds": 3600}"#);
    reply(simple_post)
        .await
        .assert_error(403, "permission_denied");
    assert_eq!(emu.control.now(), before);
    let fetched = emu
        .http
        .post(emu.url("/emulator/v1/reset"))
        .header("sec-fetch-site", "cross-site");
    reply(fetched).await.assert_error(403, "permission_denied");
    // Tools (no Origin) still work, and the Auth API keeps its CORS for the JS SDK.
    reply(emu.http.get(emu.url("/emulator/v1/clock")))
        .await
        .assert_ok();
    let api = emu
        .http
        .get(emu.url("/auth/v1/certs"))
        .header("origin", "http://app.example");
    let api = reply(api).await;
    assert_eq!(
        api.headers["access-control-allow-origin"],
        "http://app.example"
    );
}

/// Item 7: expired records are pruned, anonymous users with them.
#[tokio::test]
async fn expired_records_are_pruned() {
    let emu = Emu::start().await;
    for i in 0..20 {
        let device = format!("device-{i}");
        reply(
            emu.http
                .post(emu.url("/auth/v1/signin/anonymously"))
                .header("x-device-id", device),
        )
        .await
        .assert_ok();
    }
    emu.seeded_session("alice_01").await;
    emu.send_code("ANY", "a@example.com").await.assert_ok();
    let state = emu.control.export_state();
    assert_eq!(
        state["state"]["users"]["by_sub"].as_object().unwrap().len(),
        21
    );
    // Past every lifetime (30-day refresh tokens), any request sweeps.
    emu.control.advance_clock(Duration::from_secs(31 * 86_400));
    reply(emu.http.get(emu.url("/auth/v1/user/me"))).await;
    let state = emu.control.export_state()["state"].clone();
    let users = state["users"]["by_sub"].as_object().unwrap();
    assert_eq!(users.len(), 1, "only the seeded user stays");
    assert!(state["sessions"]["by_id"].as_object().unwrap().is_empty());
    assert!(state["sessions"]["refresh"].as_object().unwrap().is_empty());
    assert!(
        state["verifications"]["codes"]
            .as_object()
            .unwrap()
            .is_empty()
    );
}

fn limits(limits: Limits) -> EmulatorConfig {
    EmulatorConfig {
        limits,
        ..test_config()
    }
}

/// Waits (at most 5 s) for the server to close the connection; false if it stays open.
async fn closed_by_server(stream: &mut TcpStream) -> bool {
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

async fn connect(emu: &Emu) -> TcpStream {
    TcpStream::connect(emu.running.local_addr()).await.unwrap()
}

/// Item 8: a slowloris header, a slow body and an idle keep-alive connection are all cut.
#[tokio::test]
async fn slow_and_idle_connections_are_closed() {
    let emu = Emu::start_with(limits(Limits {
        header_timeout_ms: 300,
        body_timeout_ms: 300,
        ..Limits::default()
    }))
    .await;
    let mut slow_headers = connect(&emu).await;
    slow_headers
        .write_all(b"POST /auth/v1/signin HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    assert!(closed_by_server(&mut slow_headers).await, "slow headers");

    let mut slow_body = connect(&emu).await;
    slow_body
        .write_all(b"POST /auth/v1/signin HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"user")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read =
        tokio::time::timeout(Duration::from_secs(5), slow_body.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(read.is_ok(), "slow body still open");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("deadline_exceeded"), "{answer}");

    let mut idle = connect(&emu).await;
    idle.write_all(b"GET /auth/v1/certs HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    assert!(closed_by_server(&mut idle).await, "idle keep-alive");
}

/// Item 8: connections beyond the cap are closed at once, so descriptors stay available.
#[tokio::test]
async fn connections_beyond_the_cap_are_closed() {
    let emu = Emu::start_with(limits(Limits {
        max_connections: 4,
        ..Limits::default()
    }))
    .await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect(&emu).await);
    }
    let mut extra = connect(&emu).await;
    assert!(closed_by_server(&mut extra).await, "fifth connection kept");
    drop(held);
    // Slots come back when connections end.
    let mut again = None;
    for _ in 0..50 {
        let mut stream = connect(&emu).await;
        stream
            .write_all(b"GET /auth/v1/certs HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer).await;
        if answer.starts_with(b"HTTP/1.1 200") {
            again = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "no slot came back");
}

/// Item 9: shutdown finishes within its deadline even with a half-sent request open.
#[tokio::test]
async fn shutdown_finishes_with_a_half_sent_request_open() {
    let emu = Emu::start_with(limits(Limits {
        header_timeout_ms: 60_000,
        body_timeout_ms: 60_000,
        shutdown_grace_ms: 300,
        ..Limits::default()
    }))
    .await;
    let mut half = connect(&emu).await;
    half.write_all(b"POST /auth/v1/signin HTTP/1.1\r\nhost: x\r\ncontent-length: 50\r\n\r\n{")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let stopped = tokio::time::timeout(Duration::from_secs(5), emu.running.shutdown()).await;
    assert!(stopped.is_ok(), "shutdown waited for the half-sent request");
}

/// Item 11: too many or too large headers get 431 with the JSON error body.
#[tokio::test]
async fn header_limits_answer_431_with_a_json_body() {
    let emu = Emu::start().await;
    let mut many = emu.http.get(emu.url("/auth/v1/certs"));
    for i in 0..150 {
        many = many.header(format!("x-filler-{i}"), "1");
    }
    reply(many).await.assert_error(431, "invalid_argument");
    let large = emu
        .http
        .get(emu.url("/auth/v1/certs"))
        .header("x-large", "a".repeat(40 * 1024));
    reply(large).await.assert_error(431, "invalid_argument");
}

/// Item 12: "+86", "+086" and "+0086" are one number with one resend limit.
#[tokio::test]
async fn phone_country_codes_are_normalized() {
    let emu = Emu::start().await;
    emu.send_code("ANY", "+86 13800000000").await.assert_ok();
    for spelling in ["+086 13800000000", "+0086 13800000000"] {
        emu.send_code("ANY", spelling)
            .await
            .assert_error(429, "rate_limit_exceeded");
    }
    emu.send_code("ANY", "+0 13800000000")
        .await
        .assert_error(400, "invalid_phone_number");
}

/// Item 12: a resend invalidates the earlier code.
#[tokio::test]
async fn a_resend_invalidates_the_earlier_code() {
    let emu = Emu::start().await;
    let first = emu.send_code("ANY", "a@example.com").await;
    let first_code = emu.control.latest_code_for("a@example.com").unwrap();
    emu.control.advance_clock(Duration::from_secs(60));
    let second = emu.send_code("ANY", "a@example.com").await;
    let verify = |sent: &Reply, code: &str| {
        emu.post(
            "/auth/v1/verification/verify",
            json!({"verification_id": sent.str("verification_id"), "verification_code": code}),
        )
    };
    verify(&first, &first_code)
        .await
        .assert_error(400, "invalid_verification_code");
    let second_code = emu.control.latest_code_for("a@example.com").unwrap();
    verify(&second, &second_code).await.assert_ok();
}

/// Item 12: sign-out ends the session's sudo tokens.
#[tokio::test]
async fn sign_out_revokes_sudo_tokens() {
    let emu = Emu::start().await;
    let session = emu.seeded_session("alice_01").await;
    let access = session.str("access_token");
    let sudo = emu
        .call(
            Method::POST,
            "/auth/v1/user/sudo",
            &access,
            Some(json!({"password": PASSWORD})),
        )
        .await
        .str("sudo_token");
    emu.call(
        Method::POST,
        "/auth/v1/user/signout",
        &access,
        Some(json!({})),
    )
    .await
    .assert_ok();
    let next = emu.sign_in("alice_01", PASSWORD).await.str("access_token");
    let path = format!("/auth/v1/user/me?sudo_token={sudo}");
    emu.call(Method::DELETE, &path, &next, None)
        .await
        .assert_error(403, "permission_denied");
}
