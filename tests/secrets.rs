//! No secret in any `Debug`, `Display` or log line: exact `Debug` outputs, and a
//! scenario run with tracing at TRACE scanned for every secret it handled.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudbase_auth::{AccessToken, Config, RefreshToken, StoredSession};
use httpmock::MockServer;
use serde_json::json;
use support::*;

#[test]
fn config_debug_is_exact_and_redacted() {
    let config = Config::for_env("my-env")
        .with_client_secret("s3cret-client")
        .with_cloud_secret("AKIDexample", "cloud-s3cret")
        .with_device_id("0123456789abcdef0123456789abcdef");
    assert_eq!(
        format!("{config:?}"),
        "Config { endpoint: Regional { env_id: \"my-env\", region: \"ap-shanghai\" }, client_id: None, \
         client_secret: Some(ClientSecret([redacted])), cloud_secret: Some(ServerCredential(Tc3(Tc3Credential { secret_id: \"AKIDexample\", \
         secret_key: CloudSecretKey([redacted]), session_token: None }))), \
         device_id: Some(\"0123456789abcdef0123456789abcdef\"), timeout: 15s, refresh_margin: 60s, .. }"
    );
}

#[test]
fn server_credential_debug_is_exact_and_redacted() {
    use cloudbase_auth::server::ServerCredential;
    assert_eq!(
        format!(
            "{:?}",
            ServerCredential::tc3_with_session_token("AKIDexample", "key-s3cret", "sts-s3cret")
        ),
        "ServerCredential(Tc3(Tc3Credential { secret_id: \"AKIDexample\", secret_key: CloudSecretKey([redacted]), \
         session_token: Some(StsToken([redacted])) }))"
    );
    assert_eq!(
        format!("{:?}", ServerCredential::api_key("api-s3cret")),
        "ServerCredential(ApiKey(ApiKey([redacted])))"
    );
    assert_eq!(
        format!(
            "{:?}",
            ServerCredential::basic_sending_secret_key("AKIDexample", "key-s3cret")
        ),
        "ServerCredential(Basic { secret_id: \"AKIDexample\", secret_key: CloudSecretKey([redacted]) })"
    );
}

#[test]
fn stored_session_debug_is_exact_and_redacted() {
    let stored = StoredSession {
        access_token: AccessToken::new("eyJhbGciOiJSUzI1NiJ9.secret.sig"),
        refresh_token: Some(RefreshToken::new("m.refresh-secret")),
        expires_at: std::time::UNIX_EPOCH,
        scope: Some("user".into()),
        sub: Some("1".into()),
        token_type: Some("Bearer".into()),
    };
    assert_eq!(
        format!("{stored:?}"),
        "StoredSession { access_token: AccessToken([redacted]), refresh_token: Some(RefreshToken([redacted])), \
         expires_at: SystemTime { tv_sec: 0, tv_nsec: 0 }, scope: Some(\"user\"), sub: Some(\"1\"), token_type: Some(\"Bearer\") }"
    );
}

#[tokio::test]
async fn session_and_raw_client_debug_are_exact() {
    let server = MockServer::start_async().await;
    let session = session(&server, &clock());
    sign_in(
        &server,
        &session,
        "access-secret-1",
        "m.refresh-secret-1",
        7200,
    )
    .await;
    let expected = format!(
        "Session {{ base_url: \"{}\", client_id: \"test-client\", device_id: \"{DEVICE_ID}\", signed_in: true }}",
        server.base_url()
    );
    assert_eq!(format!("{session:?}"), expected);
    let raw = format!("{:?}", session.raw());
    assert!(
        raw.contains("SessionCore { base_url:") && !raw.contains("secret"),
        "{raw}"
    );
}

/// The binary-wide capture of every tracing event at TRACE.
fn capture() -> &'static Capture {
    static CAPTURE: std::sync::OnceLock<Capture> = std::sync::OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        // Everything at TRACE except the mock server's own logs, which print the
        // requests it received (bodies included) and are not this crate's output.
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("trace,httpmock=off")
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        capture
    })
}

/// A writer into a shared buffer, for capturing tracing output.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn a_full_scenario_at_trace_level_prints_no_secret() {
    // A global subscriber: a thread-local one misses spans when callsite interest was
    // cached by a test running in parallel without one.
    let capture = capture();
    let server = MockServer::start_async().await;
    let clock = clock();
    let session = session(&server, &clock);
    let secrets = [
        "pw-1",
        "access-secret-1",
        "m.refresh-secret-1",
        "access-secret-2",
        "m.refresh-secret-2",
        CLIENT_SECRET,
        "sudo-secret",
    ];
    sign_in(
        &server,
        &session,
        "access-secret-1",
        "m.refresh-secret-1",
        7200,
    )
    .await;
    mock_refresh(&server, "access-secret-2", "m.refresh-secret-2").await;
    server
        .mock_async(|when, then| {
            when.method("POST").path("/auth/v1/user/sudo");
            then.status(200)
                .json_body(json!({"sudo_token": "sudo-secret", "expires_in": 900}));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.method("PATCH").path("/auth/v1/user/password");
            then.status(400)
                .json_body(json!({"error": "weak_password", "error_code": 4005}));
        })
        .await;
    clock.advance(Duration::from_secs(7200));
    let error = session
        .change_password("pw-1", "pw-1")
        .await
        .expect_err("weak password");
    let raw_error = session
        .raw()
        .get_user_me()
        .send()
        .await
        .expect_err("no mock for me");

    let mut text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    text.push_str(&format!("{error}\n{error:?}\n{raw_error}\n{raw_error:?}\n"));
    text.push_str(&format!("{session:?}"));
    assert!(
        text.contains("cloudbase_auth.request"),
        "spans were captured: {text}"
    );
    for secret in secrets {
        // A long prefix counts as a leak too.
        let prefix = &secret[..secret.len().min(8)];
        assert!(!text.contains(prefix), "`{prefix}` leaked:\n{text}");
    }
}
