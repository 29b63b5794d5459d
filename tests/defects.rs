//! One test per defect of issue #13 (a black-box probe of the public API). Each was
//! written first and seen failing against the code before the redesign.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use cloudbase_auth::{
    Config, ConfigError, Error, MemoryTokenStore, RefreshToken, Session, SignInReason,
    StoredSession, TokenStore,
};
use httpmock::MockServer;
use serde_json::json;
use support::*;

fn unauthenticated() -> serde_json::Value {
    json!({"error": "unauthenticated", "error_code": 16, "error_description": "token expired"})
}

async fn me_refused_for<'a>(server: &'a MockServer, access: &str) -> httpmock::Mock<'a> {
    let bearer = format!("Bearer {access}");
    server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/auth/v1/user/me")
                .header("authorization", bearer);
            then.status(401).json_body(unauthenticated());
        })
        .await
}

// ------------------------------------------------------------ 1. the refresh after a 401

#[tokio::test]
async fn defect_1_a_refresh_refused_after_a_401_is_sign_in_required() {
    let server = MockServer::start_async().await;
    let clock = clock();
    let session = session(&server, &clock);
    sign_in(&server, &session, "access-1", "m.refresh-1", 7200).await;
    me_refused_for(&server, "access-1").await;
    server
        .mock_async(|when, then| {
            when.method("POST").path("/auth/v1/token");
            then.status(400)
                .json_body(json!({"error": "invalid_grant", "error_description": "revoked"}));
        })
        .await;
    let error = session.me().await.expect_err("the refresh was refused");
    assert!(
        matches!(
            error,
            Error::SignInRequired {
                reason: SignInReason::RefreshRejected,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!error.is_transient());
    assert!(!session.is_signed_in(), "the session was cleared");
}

#[tokio::test]
async fn defect_1_a_refresh_failing_transiently_after_a_401_is_transient_and_keeps_the_session() {
    let server = MockServer::start_async().await;
    let clock = clock();
    let session = session(&server, &clock);
    sign_in(&server, &session, "access-1", "m.refresh-1", 7200).await;
    me_refused_for(&server, "access-1").await;
    let refresh = server
        .mock_async(|when, then| {
            when.method("POST").path("/auth/v1/token");
            then.status(503).json_body(json!({"error": "unavailable"}));
        })
        .await;
    let error = session.me().await.expect_err("the refresh failed");
    assert!(error.is_transient(), "{error:?}");
    assert_eq!(error.as_api().map(|a| a.status), Some(503), "{error:?}");
    assert!(session.is_signed_in(), "the session is kept");
    // The next call recovers once the server does.
    refresh.delete_async().await;
    mock_refresh(&server, "access-2", "m.refresh-2").await;
    mock_me(&server, "access-2").await;
    session.me().await.expect("recovered");
}

// ------------------------------------------------------------ 2. secrets in raw() errors

#[tokio::test]
async fn defect_2_a_raw_token_answer_that_fails_to_decode_prints_no_token() {
    let server = MockServer::start_async().await;
    let session = session(&server, &clock());
    server
        .mock_async(|when, then| {
            when.method("POST").path("/auth/v1/signin");
            // `expires_in` of the wrong type: the generated decode fails.
            then.status(200).json_body(json!({
                "access_token": "eyJ.secret-access.sig",
                "refresh_token": "m.secret-refresh",
                "expires_in": "soon",
            }));
        })
        .await;
    let body = cloudbase_auth::types::SignInRequest::builder()
        .username("alice".to_string())
        .password("pw-secret".to_string());
    let error = session
        .raw()
        .sign_in()
        .body(body)
        .send()
        .await
        .expect_err("undecodable");
    for printed in [
        format!("{error:?}"),
        format!("{error}"),
        format!("{error:#}"),
    ] {
        for secret in ["secret-access", "secret-refresh", "pw-secret"] {
            assert!(!printed.contains(secret), "{secret} in {printed}");
        }
    }
}

#[tokio::test]
async fn defect_2_a_raw_transport_failure_prints_no_sudo_token() {
    let server = MockServer::start_async().await;
    let clock = clock();
    let session =
        Session::new(config(&server.base_url(), &clock).with_timeout(Duration::from_millis(200)))
            .unwrap();
    sign_in(&server, &session, "access-1", "m.refresh-1", 7200).await;
    server
        .mock_async(|when, then| {
            when.method("DELETE").path("/auth/v1/user/me");
            then.status(204).delay(Duration::from_secs(3));
        })
        .await;
    let error = session
        .raw()
        .delete_user_me()
        .sudo_token("sudo-secret-1")
        .send()
        .await
        .expect_err("timed out");
    for printed in [
        format!("{error:?}"),
        format!("{error}"),
        format!("{error:#}"),
    ] {
        assert!(!printed.contains("sudo-secret-1"), "{printed}");
    }
}

// ------------------------------------------------------------ 3. explicit refresh

#[tokio::test]
async fn defect_3_an_explicit_refresh_that_fails_transiently_returns_the_error() {
    let server = MockServer::start_async().await;
    let clock = clock();
    let session = session(&server, &clock);
    sign_in(&server, &session, "access-1", "m.refresh-1", 7200).await;
    server
        .mock_async(|when, then| {
            when.method("POST").path("/auth/v1/token");
            then.status(503).json_body(json!({"error": "unavailable"}));
        })
        .await;
    let error = session.refresh().await.expect_err("the server is down");
    assert!(error.is_transient(), "{error:?}");
    assert!(session.is_signed_in(), "the session is kept");
    // Automatic refreshes still fall back to the valid token.
    mock_me(&server, "access-1").await;
    clock.advance(Duration::from_secs(7200 - 30));
    session.me().await.expect("the old token is still valid");
}

// ------------------------------------------------------------ 4. a caller's client

#[tokio::test]
async fn defect_4_with_timeout_applies_to_a_caller_provided_client() {
    let server = MockServer::start_async().await;
    let session = Session::new(
        config(&server.base_url(), &clock())
            .with_http_client(reqwest::Client::new())
            .with_timeout(Duration::from_millis(200)),
    )
    .unwrap();
    server
        .mock_async(|when, then| {
            when.method("POST").path("/auth/v1/signin");
            then.status(200)
                .delay(Duration::from_secs(3))
                .json_body(token_body("access-1", Some("m.refresh-1"), 7200, "user"));
        })
        .await;
    let started = std::time::Instant::now();
    let error = session
        .sign_in_with_password("alice", "pw")
        .await
        .expect_err("the 200 ms timeout applies");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        matches!(
            error,
            Error::Transport {
                cause: cloudbase_auth::TransportCause::TimedOut,
                ..
            }
        ),
        "{error:?}"
    );
}

// ------------------------------------------------------------ 5. retries multiply

/// A session restored from a store with a valid pair, against `base_url` through a
/// client that counts connection attempts.
async fn restored_session(
    base_url: String,
    addr: std::net::SocketAddr,
) -> (Session, Arc<AtomicUsize>) {
    let clock = clock();
    let lookups = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::builder()
        .dns_resolver(CountingResolver {
            addr,
            lookups: lookups.clone(),
        })
        .build()
        .unwrap();
    let store = MemoryTokenStore::default();
    store
        .save(&StoredSession {
            access_token: "access-1".into(),
            refresh_token: Some("m.refresh-1".into()),
            expires_at: cloudbase_auth::Clock::now(&clock) + Duration::from_secs(3600),
            scope: Some("user".into()),
            sub: Some("1".into()),
            token_type: None,
        })
        .await
        .unwrap();
    let session = Session::new(
        config(&base_url, &clock)
            .with_http_client(http)
            .with_token_store(store),
    )
    .unwrap();
    assert!(session.restore().await.unwrap());
    (session, lookups)
}

#[tokio::test]
async fn defect_5_one_refresh_makes_at_most_one_plus_max_retries_connection_attempts() {
    // A port nobody listens on: bound, then released.
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let base_url = format!("http://auth.invalid:{}", addr.port());
    let (session, lookups) = restored_session(base_url, addr).await;
    let result = session.refresh().await;
    assert_eq!(
        lookups.load(Ordering::SeqCst),
        3,
        "1 attempt + 2 retries (RetryPolicy::max_retries), not retries of retries"
    );
    let error = result.expect_err("nobody listens");
    let printed = error.to_string();
    assert!(printed.contains("refused"), "{printed}");
    assert!(
        printed.contains(&format!("auth.invalid:{}", addr.port())),
        "{printed}"
    );
    assert!(error.is_transient() && !error.may_have_been_sent());
}

#[tokio::test]
async fn defect_5_a_failed_tls_handshake_names_tls_and_the_host() {
    // Accepts TCP connections and closes them at once: the TLS handshake fails.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    let base_url = format!("https://auth.invalid:{}", addr.port());
    let (session, _) = restored_session(base_url, addr).await;
    let error = session.refresh().await.expect_err("no TLS server");
    let printed = error.to_string();
    assert!(printed.to_ascii_lowercase().contains("tls"), "{printed}");
    assert!(printed.contains("auth.invalid"), "{printed}");
    assert!(
        accepted.load(Ordering::SeqCst) <= 3,
        "bounded by the attempt budget"
    );
}

// ------------------------------------------------------------ 6. the rest

/// A server that refuses `access-1` with 401, accepts any other token, hands out
/// `access-2` on refresh, and records the `x-request-id` of every `user/me`.
async fn recording_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let me = move |headers: HeaderMap| {
        let record = record.clone();
        async move {
            let id = headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            record.lock().unwrap().push(id);
            let bearer = headers.get("authorization").and_then(|v| v.to_str().ok());
            if bearer == Some("Bearer access-1") {
                (StatusCode::UNAUTHORIZED, axum::Json(unauthenticated()))
            } else {
                (StatusCode::OK, axum::Json(json!({"sub": "1"})))
            }
        }
    };
    let token = |access: &'static str| {
        move || async move { axum::Json(token_body(access, Some("m.refresh"), 7200, "user")) }
    };
    let app = Router::new()
        .route("/auth/v1/user/me", get(me))
        .route("/auth/v1/signin", post(token("access-1")))
        .route("/auth/v1/token", post(token("access-2")));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn defect_6_the_resend_after_a_401_has_a_fresh_request_id() {
    let (base_url, seen) = recording_server().await;
    let session = Session::new(config(&base_url, &clock())).unwrap();
    session.sign_in_with_password("alice", "pw").await.unwrap();
    session.me().await.expect("refreshed and resent");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_ne!(seen[0], seen[1], "each attempt has its own request id");
}

#[test]
fn defect_6_a_base_url_with_a_path_is_refused() {
    for url in [
        "http://127.0.0.1:8080/auth/v1",
        "http://127.0.0.1:8080/prefix/",
        "http://127.0.0.1:8080/?env=x",
    ] {
        let error = Session::new(Config::for_base_url(url).with_client_id("c")).unwrap_err();
        assert!(
            matches!(error, Error::Config(ConfigError::InvalidBaseUrl(_))),
            "{url}: {error:?}"
        );
        assert!(error.to_string().contains("without a path"), "{error}");
    }
    Session::new(Config::for_base_url("http://127.0.0.1:8080/").with_client_id("c"))
        .expect("a trailing slash is fine");
}

#[tokio::test]
async fn defect_6_question_mark_works_on_raw_calls_with_the_redacted_error() {
    let server = MockServer::start_async().await;
    let session = session(&server, &clock());
    async fn profile(session: &Session) -> Result<(), Error> {
        // Not signed in: the pre hook refuses before sending.
        session.raw().list_user_providers().send().await?;
        Ok(())
    }
    let error = profile(&session).await.expect_err("not signed in");
    assert!(matches!(error, Error::InvalidRequest { .. }), "{error:?}");
    // The same call through `Session::send` keeps the typed error.
    let error = session
        .send(|raw| raw.list_user_providers().send())
        .await
        .expect_err("not signed in");
    assert!(
        matches!(
            error,
            Error::SignInRequired {
                reason: SignInReason::NotSignedIn,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn defect_6_revoke_takes_a_typed_token() {
    let server = MockServer::start_async().await;
    let session = session(&server, &clock());
    sign_in(&server, &session, "access-1", "m.refresh-1", 7200).await;
    let revoke = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/auth/v1/revoke")
                .json_body_includes(r#"{"token":"m.refresh-1"}"#);
            then.status(200).json_body(json!({}));
        })
        .await;
    let own = session.refresh_token().expect("signed in");
    session.revoke(&own).await.expect("revoked");
    assert_eq!(revoke.calls_async().await, 1);
    assert!(
        !session.is_signed_in(),
        "revoking its own token ends the session"
    );
    let _: RefreshToken = own;
}

/// The transport withholds undecodable success bodies of the operations that return a
/// secret; this keeps its list in step with the spec.
#[test]
fn defect_2_every_operation_returning_a_token_has_its_success_body_guarded() {
    let spec = cloudbase_auth_testkit::contract::spec();
    let schemas = &spec["components"]["schemas"];
    let guarded = cloudbase_auth::__fuzz::guarded_operations();
    let secret = |name: &str| name.ends_with("_token") || name == "device_code";
    let mut checked = 0;
    for op in cloudbase_auth::operations() {
        let entry = &spec["paths"][op.path][op.method.to_ascii_lowercase().as_str()];
        let Some(responses) = entry["responses"].as_object() else {
            continue;
        };
        for (status, response) in responses {
            if !status.starts_with('2') {
                continue;
            }
            let schema = &response["content"]["application/json"]["schema"];
            let schema = match schema["$ref"].as_str() {
                Some(reference) => &schemas[reference.rsplit('/').next().unwrap()],
                None => schema,
            };
            let Some(properties) = schema["properties"].as_object() else {
                continue;
            };
            if properties.keys().any(|k| secret(k)) {
                checked += 1;
                assert!(
                    guarded.contains(&op.operation_id),
                    "`{}` returns a secret: add it to src/transport/secret_bodies.rs",
                    op.operation_id
                );
            }
        }
    }
    assert!(
        checked >= 8,
        "the spec walk found only {checked} operations"
    );
}
