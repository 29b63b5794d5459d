//! Shared helpers for the client tests (httpmock servers, a manual clock, sessions).
#![allow(dead_code)]

pub mod world;

use std::time::{Duration, UNIX_EPOCH};

use cloudbase_auth::{Config, ManualClock, RetryPolicy, Session};
use httpmock::{Mock, MockServer};
use serde_json::{Value, json};

pub const CLIENT_ID: &str = "test-client";
pub const CLIENT_SECRET: &str = "test-secret";
pub const DEVICE_ID: &str = "0123456789abcdef0123456789abcdef";

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
        .with_retry_policy(RetryPolicy {
            base_delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        })
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

/// Resolves every name to one address and counts the look-ups: one per connection
/// attempt, since a connection that was never made cannot be pooled.
pub struct CountingResolver {
    pub addr: std::net::SocketAddr,
    pub lookups: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl reqwest::dns::Resolve for CountingResolver {
    fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
        self.lookups
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let addr = self.addr;
        Box::pin(async move { Ok(Box::new(std::iter::once(addr)) as reqwest::dns::Addrs) })
    }
}
