//! The client under injected faults: the emulator's fault injection (5xx bursts, resets,
//! slow and truncated responses, gateway errors, oversized bodies, a rotation committed
//! and then lost) and httpmock for what the emulator cannot send. Retries happen only
//! where they are safe (a connection never made, `GET`s, the refresh grant), bounded,
//! honouring `Retry-After`. Every test counts the requests the server saw.

mod support;

use support::CountingResolver;
use support::world::{PASSWORD, World, fast_retries};

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cloudbase_auth::{Config, Error, Session, TransportCause};
use cloudbase_auth_emulator::Fault;
use httpmock::MockServer;
use serde_json::json;

fn status(code: u16) -> Fault {
    Fault::Status {
        status: code,
        body: None,
        retry_after_secs: None,
    }
}

fn api_error(error: &Error) -> &cloudbase_auth::ApiError {
    error
        .as_api()
        .unwrap_or_else(|| panic!("an API error: {error:?}"))
}

// ---------------------------------------------------------------- 5xx bursts

#[tokio::test]
async fn a_get_with_503_503_200_succeeds_after_two_retries() {
    let world = World::start().await;
    let session = world.signed_in().await;
    world.inject("get_user_me", status(503), 2);
    session.me().await.expect("survived two 503s");
    assert_eq!(world.count("get_user_me"), 3);
}

#[tokio::test]
async fn a_burst_longer_than_the_retry_budget_fails_with_the_status_kept() {
    let world = World::start().await;
    let session = world.signed_in().await;
    world.inject("get_user_me", status(503), 5);
    let error = session.me().await.expect_err("3 attempts, all 503");
    let api = api_error(&error);
    assert_eq!((api.status, api.error.as_str()), (503, "unavailable"));
    assert!(error.is_transient());
    assert_eq!(world.count("get_user_me"), 3, "bounded: 1 + 2 retries");
    // The two faults left are absorbed by the next call's retries.
    session.me().await.expect("the burst ends");
    assert_eq!(world.count("get_user_me"), 6);
}

#[tokio::test]
async fn a_post_that_fails_with_503_is_not_retried() {
    let world = World::start().await;
    world.inject("sign_in", status(503), 1);
    let session = world.session();
    let error = session
        .sign_in_with_password("alice", PASSWORD)
        .await
        .expect_err("503");
    assert_eq!(api_error(&error).status, 503);
    assert_eq!(world.count("sign_in"), 1, "a POST is never resent");
    session
        .sign_in_with_password("alice", PASSWORD)
        .await
        .expect("the caller may try again");
    // Each 5xx status of the retryable set on a GET.
    for code in [500, 504] {
        world.inject("get_user_me", status(code), 1);
    }
    session.me().await.expect("a 500 then a 504, each retried");
    assert_eq!(world.count("get_user_me"), 3);
}

#[tokio::test]
async fn a_501_and_4xx_are_not_retried() {
    let world = World::start().await;
    let session = world.signed_in().await;
    world.inject("get_user_me", status(501), 1);
    let error = session.me().await.expect_err("501");
    assert_eq!(api_error(&error).status, 501);
    assert!(!error.is_transient());
    world.inject("get_user_me", status(404), 1);
    assert_eq!(api_error(&session.me().await.unwrap_err()).status, 404);
    assert_eq!(world.count("get_user_me"), 2);
}

#[tokio::test]
async fn the_refresh_grant_is_retried_through_a_5xx_burst() {
    let world = World::start().await;
    let session = world.signed_in().await;
    world.inject("grant_token", status(503), 2);
    world.advance(7200 - 30);
    session.me().await.expect("refreshed on the third attempt");
    assert_eq!(world.count("grant_token"), 3);
    world.advance(7200);
    session.me().await.expect("the new pair works");
}

// ---------------------------------------------------------------- Retry-After

#[tokio::test]
async fn retry_after_is_honoured_on_a_get() {
    let world = World::start().await;
    let session = world.signed_in().await;
    let fault = Fault::Status {
        status: 503,
        body: None,
        retry_after_secs: Some(1),
    };
    world.inject("get_user_me", fault, 1);
    let started = Instant::now();
    session.me().await.expect("after waiting");
    let waited = started.elapsed();
    // The backoff alone is at most 5 ms: the second is Retry-After's.
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(world.count("get_user_me"), 2);
}

#[tokio::test]
async fn a_retry_after_beyond_the_policy_is_returned_not_waited_for() {
    let world = World::start().await;
    let session = world.signed_in().await;
    let fault = Fault::Status {
        status: 429,
        body: None,
        retry_after_secs: Some(3600),
    };
    world.inject("get_user_me", fault, 1);
    let started = Instant::now();
    let error = session.me().await.expect_err("an hour is too long");
    assert!(started.elapsed() < Duration::from_secs(5));
    let api = api_error(&error);
    assert_eq!(api.status, 429);
    assert_eq!(api.retry_after, Some(Duration::from_secs(3600)));
    assert_eq!(world.count("get_user_me"), 1);
}

#[tokio::test]
async fn retry_after_is_honoured_on_the_refresh_grant() {
    let world = World::start().await;
    let session = world.signed_in().await;
    let fault = Fault::Status {
        status: 503,
        body: None,
        retry_after_secs: Some(1),
    };
    world.inject("grant_token", fault, 1);
    let started = Instant::now();
    session.refresh().await.expect("refreshed on the retry");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(world.count("grant_token"), 2);
}

// ---------------------------------------------------------------- connection resets

#[tokio::test]
async fn a_reset_connection_on_a_get_is_retried() {
    let world = World::start().await;
    let session = world.signed_in().await;
    world.inject("get_user_me", Fault::DropConnection, 2);
    session.me().await.expect("survived two resets");
    assert_eq!(world.count("get_user_me"), 3);
}

#[tokio::test]
async fn a_reset_connection_on_a_post_is_not_retried_and_may_have_been_sent() {
    let world = World::start().await;
    world.inject("sign_in", Fault::DropConnection, 1);
    let session = world.session();
    let error = session
        .sign_in_with_password("alice", PASSWORD)
        .await
        .expect_err("reset");
    assert!(
        matches!(
            error,
            Error::Transport {
                may_have_been_sent: true,
                cause: TransportCause::ConnectionLost,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.is_transient());
    assert_eq!(world.count("sign_in"), 1);
    assert!(!session.is_signed_in());
    // The sign-in ran on the server but its answer was lost: the caller signs in again.
    world.inject("sign_in", Fault::CommitThenDrop, 1);
    assert!(
        session
            .sign_in_with_password("alice", PASSWORD)
            .await
            .is_err()
    );
    session
        .sign_in_with_password("alice", PASSWORD)
        .await
        .expect("a fresh sign-in works");
    assert_eq!(world.count("sign_in"), 3);
}

#[tokio::test]
async fn a_reset_connection_on_the_refresh_grant_is_retried() {
    let world = World::start().await;
    let session = world.signed_in().await;
    world.inject("grant_token", Fault::DropConnection, 1);
    world.advance(7200 - 30);
    session.me().await.expect("refreshed on the retry");
    assert_eq!(world.count("grant_token"), 2);
}

#[tokio::test]
async fn a_connect_failure_is_retried_even_for_a_post() {
    // A port nobody listens on: bound, then released.
    let addr = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let lookups = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::builder()
        .dns_resolver(CountingResolver {
            addr,
            lookups: lookups.clone(),
        })
        .build()
        .unwrap();
    let session = Session::new(
        Config::for_base_url(format!("http://auth.invalid:{}", addr.port()))
            .with_client_id("demo-env")
            .with_http_client(http)
            .with_retry_policy(fast_retries()),
    )
    .unwrap();
    let error = session
        .sign_in_with_password("alice", PASSWORD)
        .await
        .expect_err("nobody listens");
    assert!(
        matches!(
            error,
            Error::Transport {
                may_have_been_sent: false,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!error.may_have_been_sent() && error.is_transient());
    assert_eq!(
        lookups.load(Ordering::SeqCst),
        3,
        "1 attempt + 2 retries, each a new connection"
    );
}

// ---------------------------------------------------------------- slow responses

#[tokio::test]
async fn a_get_slower_than_the_timeout_is_retried() {
    let world = World::start().await;
    world.signed_in().await;
    let session = world.session_with(|c| c.with_timeout(Duration::from_millis(300)));
    session
        .sign_in_with_password("alice", PASSWORD)
        .await
        .unwrap();
    world.inject("get_user_me", Fault::Delay { millis: 3000 }, 1);
    let started = Instant::now();
    session.me().await.expect("the retry is fast");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(
        took < Duration::from_millis(2500),
        "did not wait for the slow one: {took:?}"
    );
    assert_eq!(world.count("get_user_me"), 2);
}

#[tokio::test]
async fn a_post_slower_than_the_timeout_is_a_timed_out_transport_error() {
    let world = World::start().await;
    let session = world.session_with(|c| c.with_timeout(Duration::from_millis(300)));
    world.inject("sign_in", Fault::Delay { millis: 3000 }, 1);
    let started = Instant::now();
    let error = session
        .sign_in_with_password("alice", PASSWORD)
        .await
        .expect_err("timed out");
    assert!(started.elapsed() < Duration::from_millis(2500));
    assert!(
        matches!(
            error,
            Error::Transport {
                cause: TransportCause::TimedOut,
                may_have_been_sent: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(world.count("sign_in"), 1, "not resent");
}

#[tokio::test]
async fn a_refresh_slower_than_the_timeout_is_retried_inside_the_reuse_window() {
    let world = World::start().await;
    let session = world.session_with(|c| c.with_refresh_timeout(Duration::from_millis(300)));
    session
        .sign_in_with_password("alice", PASSWORD)
        .await
        .unwrap();
    world.inject("grant_token", Fault::Delay { millis: 3000 }, 1);
    world.advance(7200 - 30);
    session.me().await.expect("refreshed on the retry");
    assert_eq!(world.count("grant_token"), 2);
}

// ---------------------------------------------------------------- broken bodies

#[tokio::test]
async fn truncated_json_is_a_decode_error_and_not_retried() {
    let world = World::start().await;
    let session = world.signed_in().await;
    world.inject("get_user_me", Fault::TruncatedJson, 1);
    let error = session.me().await.expect_err("half a body");
    match &error {
        Error::Decode { status, reason, .. } => {
            assert_eq!(*status, 200);
            assert!(
                reason.contains("truncated") || reason.contains("malformed"),
                "{reason}"
            );
        }
        other => panic!("expected a decode error: {other:?}"),
    }
    assert!(!error.is_transient());
    assert_eq!(world.count("get_user_me"), 1);
    session.me().await.expect("the session is unharmed");
}

#[tokio::test]
async fn a_truncated_refresh_answer_is_recovered_by_the_next_refresh() {
    let world = World::start().await;
    let session = world.signed_in().await;
    let before = session.refresh_token().unwrap().expose_secret().to_string();
    world.inject("grant_token", Fault::TruncatedJson, 1);
    let error = session.refresh().await.expect_err("unreadable answer");
    assert!(matches!(error, Error::Decode { .. }), "{error:?}");
    assert!(session.is_signed_in(), "a decode error is not terminal");
    // The server rotated; the old token, inside the reuse window, gets the current pair.
    session.refresh().await.expect("recovered");
    assert_ne!(session.refresh_token().unwrap().expose_secret(), before);
    assert_eq!(world.count("grant_token"), 2);
    world.advance(7200);
    session
        .me()
        .await
        .expect("the recovered pair keeps working");
}

#[tokio::test]
async fn a_gateway_error_body_becomes_an_api_error_with_its_code_and_status() {
    let world = World::start().await;
    world.inject("sign_in", Fault::NonJsonGatewayError, 1);
    let session = world.session();
    let error = session
        .sign_in_with_password("alice", PASSWORD)
        .await
        .expect_err("gateway error");
    let api = api_error(&error);
    assert_eq!((api.status, api.error.as_str()), (502, "BAD_GATEWAY"));
    let description = api.error_description.as_deref().unwrap_or_default();
    assert!(
        description.contains("gateway could not reach"),
        "{description}"
    );
    assert!(error.is_transient());
    assert_eq!(world.count("sign_in"), 1);
    // On a GET it is retried like any 502.
    session
        .sign_in_with_password("alice", PASSWORD)
        .await
        .unwrap();
    world.inject("get_user_me", Fault::NonJsonGatewayError, 2);
    session.me().await.expect("survived two gateway errors");
    assert_eq!(world.count("get_user_me"), 3);
}

#[tokio::test]
async fn non_json_error_pages_keep_their_status() {
    let server = MockServer::start_async().await;
    let clock = support::clock();
    let session = support::session(&server, &clock);
    support::sign_in(&server, &session, "access-1", "m.refresh-1", 7200).await;
    let page = server
        .mock_async(|when, then| {
            when.method("GET").path("/auth/v1/user/me");
            then.status(502)
                .header("content-type", "text/html")
                .body("<html><body>502 Bad Gateway</body></html>");
        })
        .await;
    let error = session.me().await.expect_err("an HTML page");
    let api = api_error(&error);
    assert_eq!((api.status, api.error.as_str()), (502, "http_502"));
    assert_eq!(page.calls_async().await, 3, "a 502 on a GET is retried");
    page.delete_async().await;

    let gateway = server
        .mock_async(|when, then| {
            when.method("POST").path("/auth/v1/signin");
            then.status(504).json_body(
                json!({"code": "GATEWAY_TIMEOUT", "message": "upstream timed out", "requestId": "gw-1"}),
            );
        })
        .await;
    let error = session
        .sign_in_with_password("alice", "pw-1")
        .await
        .expect_err("gateway timeout");
    let api = api_error(&error);
    assert_eq!((api.status, api.error.as_str()), (504, "GATEWAY_TIMEOUT"));
    assert!(
        api.error_description
            .as_deref()
            .is_some_and(|d| d.contains("upstream timed out") && d.contains("gw-1"))
    );
    assert_eq!(gateway.calls_async().await, 1);
}

// ---------------------------------------------------------------- oversized bodies

#[tokio::test]
async fn an_oversized_success_is_a_decode_error_and_not_read() {
    let world = World::start().await;
    let session = world.session_with(|c| c.with_max_response_bytes(4096));
    session
        .sign_in_with_password("alice", PASSWORD)
        .await
        .unwrap();
    world.inject("get_user_me", Fault::Oversized { bytes: 1_000_000 }, 1);
    let error = session.me().await.expect_err("too large");
    match &error {
        Error::Decode {
            status,
            reason,
            operation,
            ..
        } => {
            assert_eq!((*status, operation.as_str()), (200, "get_user_me"));
            assert!(reason.contains("4096"), "{reason}");
        }
        other => panic!("expected a decode error: {other:?}"),
    }
    assert!(!error.is_transient());
    assert!(error.to_string().contains("exceeded 4096 bytes"), "{error}");
    assert_eq!(world.count("get_user_me"), 1, "not worth a retry");
    session.me().await.expect("the next answer is normal-sized");

    world.inject("sign_in", Fault::Oversized { bytes: 5000 }, 1);
    let error = world
        .session_with(|c| c.with_max_response_bytes(4096))
        .sign_in_with_password("alice", PASSWORD)
        .await
        .expect_err("too large");
    assert!(
        matches!(error, Error::Decode { status: 200, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn an_oversized_error_keeps_its_status_and_stays_transient() {
    let server = MockServer::start_async().await;
    let clock = support::clock();
    let session =
        Session::new(support::config(&server.base_url(), &clock).with_max_response_bytes(1024))
            .unwrap();
    support::sign_in(&server, &session, "access-1", "m.refresh-1", 7200).await;
    let huge = server
        .mock_async(|when, then| {
            when.method("GET").path("/auth/v1/user/me");
            then.status(503).body("x".repeat(100_000));
        })
        .await;
    let error = session.me().await.expect_err("503, unread");
    let api = api_error(&error);
    assert_eq!(
        (api.status, api.error.as_str()),
        (503, "response_too_large")
    );
    assert!(error.is_transient());
    assert_eq!(huge.calls_async().await, 3, "a 503 on a GET is retried");

    // A server cannot fake the crate's marker to turn its error into something else.
    huge.delete_async().await;
    server
        .mock_async(|when, then| {
            when.method("GET").path("/auth/v1/user/me");
            then.status(400)
                .header("x-cloudbase-auth-response-too-large", "200")
                .json_body(json!({"error": "response_too_large"}));
        })
        .await;
    let error = session.me().await.expect_err("400");
    assert_eq!(api_error(&error).status, 400);
}

// ---------------------------------------------------------------- lost rotations

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_lost_on_a_proactive_refresh_with_concurrent_callers_is_recovered() {
    let world = World::start().await;
    let session = world.signed_in().await;
    let first = session.refresh_token().unwrap().expose_secret().to_string();
    world.inject("grant_token", Fault::CommitThenDrop, 1);
    world.advance(7200 - 30);
    let callers: Vec<_> = (0..32)
        .map(|_| {
            let session = session.clone();
            tokio::spawn(async move { session.me().await.map(|me| me.sub) })
        })
        .collect();
    for caller in callers {
        caller
            .await
            .unwrap()
            .expect("every caller survives the lost answer");
    }
    assert_eq!(
        world.count("grant_token"),
        2,
        "one shared refresh: the lost attempt and one retry"
    );
    assert_eq!(world.count("get_user_me"), 32);
    let current = session.refresh_token().unwrap().expose_secret().to_string();
    assert_ne!(current, first);
    // Well past the reuse window, the recovered token is the family's current one.
    world.advance(7200);
    session.me().await.expect("still signed in");
    assert_eq!(world.count("grant_token"), 3);
}
