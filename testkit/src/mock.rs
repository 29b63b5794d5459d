//! Client tests against a scripted server (httpmock): a manual clock, sessions with
//! deterministic refresh timing, token bodies and the usual mocks.

use std::time::{Duration, UNIX_EPOCH};

use cloudbase_auth::{Config, ManualClock, Session};
use httpmock::{Mock, MockServer};
use serde_json::{Value, json};

use crate::{DEVICE_ID, fast_retries};

/// The client the scripted server expects (a client with a secret, unlike the emulator's).
pub const CLIENT_ID: &str = "test-client";
pub const CLIENT_SECRET: &str = "test-secret";

/// A clock at a fixed, round instant.
pub fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_800_000_000))
}

/// A session against `server` with deterministic refresh timing and fast retries.
pub fn session(server: &MockServer, clock: &ManualClock) -> Session {
    Session::new(config(&server.base_url(), clock)).expect("valid config")
}

pub fn config(base_url: &str, clock: &ManualClock) -> Config {
    Config::for_base_url(base_url)
        .with_client_id(CLIENT_ID)
        .with_client_secret(CLIENT_SECRET)
        .with_device_id(DEVICE_ID)
        .with_clock(clock.clone())
        .with_refresh_jitter(Duration::ZERO)
        .with_retry_policy(fast_retries())
}

pub fn token_body(access: &str, refresh: Option<&str>, expires_in: i64, scope: &str) -> Value {
    let mut body = json!({
        "token_type": "Bearer",
        "access_token": access,
        "expires_in": expires_in,
        "scope": scope,
        "sub": "1234567890123456789",
        "groups": [],
    });
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    body
}

/// `Basic base64(CLIENT_ID:CLIENT_SECRET)`.
pub fn basic_header() -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    )
}

/// Signs the session in through a mocked password sign-in with the given tokens.
pub async fn sign_in(
    server: &MockServer,
    session: &Session,
    access: &str,
    refresh: &str,
    expires_in: i64,
) {
    let mock = server
        .mock_async(|when, then| {
            when.method("POST").path("/auth/v1/signin");
            then.status(200)
                .json_body(token_body(access, Some(refresh), expires_in, "user"));
        })
        .await;
    session
        .sign_in_with_password("alice", "pw-1")
        .await
        .expect("sign-in");
    mock.delete_async().await;
}

/// `POST /auth/v1/token` answering a new pair (any request body).
pub async fn mock_refresh<'a>(server: &'a MockServer, access: &str, refresh: &str) -> Mock<'a> {
    let body = token_body(access, Some(refresh), 7200, "user");
    server
        .mock_async(|when, then| {
            when.method("POST").path("/auth/v1/token");
            then.status(200).json_body(body);
        })
        .await
}

/// `GET /auth/v1/user/me` answering only `Authorization: Bearer <access>`.
pub async fn mock_me<'a>(server: &'a MockServer, access: &str) -> Mock<'a> {
    let bearer = format!("Bearer {access}");
    server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/auth/v1/user/me")
                .header("authorization", bearer);
            then.status(200)
                .json_body(serde_json::json!({"sub": "1234567890123456789"}));
        })
        .await
}
