//! The session's refresh behaviour, against httpmock and a manual clock (no sleeps).

mod support;

use std::time::Duration;

use cloudbase_auth::{Error, FileTokenStore, SessionEvent, SignInReason, TokenStore};
use httpmock::MockServer;
use serde_json::json;
use support::*;

#[tokio::test]
async fn proactive_refresh_happens_at_the_margin_not_before() {
    let server = MockServer::start_async().await;
    let clock = clock();
    let session = session(&server, &clock);
    sign_in(&server, &session, "access-1", "m.refresh-1", 7200).await;
    let refresh = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/auth/v1/token")
                .header("authorization", basic_header())
                .json_body_includes(
                    r#"{"grant_type":"refresh_token","refresh_token":"m.refresh-1"}"#,
                );
            then.status(200)
                .json_body(token_body("access-2", Some("m.refresh-2"), 7200, "user"));
        })
        .await;
    let me_old = mock_me(&server, "access-1").await;
    let me_new = mock_me(&server, "access-2").await;

    // 61 s before expiry: outside the 60 s margin, the old token is used.
    clock.advance(Duration::from_secs(7200 - 61));
    session.me().await.expect("me");
    assert_eq!(refresh.calls_async().await, 0);
    // 60 s before expiry: inside the margin, refreshed first.
    clock.advance(Duration::from_secs(1));
    session.me().await.expect("me");
    assert_eq!(refresh.calls_async().await, 1);
    assert_eq!(me_old.calls_async().await, 1);
    assert_eq!(me_new.calls_async().await, 1);
    assert_eq!(
        session.refresh_token().unwrap().expose_secret(),
        "m.refresh-2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_callers_on_an_expired_token_share_one_refresh() {
    let server = MockServer::start_async().await;
    let clock = clock();
    let session = session(&server, &clock);
    sign_in(&server, &session, "access-1", "m.refresh-1", 7200).await;
    let refresh = server
        .mock_async(|when, then| {
            when.method("POST").path("/auth/v1/token");
            // Slow enough that every caller arrives while it is in flight.
            then.status(200)
                .delay(Duration::from_millis(200))
                .json_body(token_body("access-2", Some("m.refresh-2"), 7200, "user"));
        })
        .await;
    let me = mock_me(&server, "access-2").await;
    clock.advance(Duration::from_secs(7300));
    let calls = (0..1000).map(|_| {
        let session = session.clone();
        tokio::spawn(async move {
            session
                .access_token()
                .await
                .map(|t| t.expose_secret().to_string())
        })
    });
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap(), "access-2");
    }
    assert_eq!(refresh.calls_async().await, 1);
    session.me().await.unwrap();
    assert_eq!(me.calls_async().await, 1);
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries_once_and_a_second_401_is_an_error() {
    let server = MockServer::start_async().await;
    let clock = clock();
    let session = session(&server, &clock);
    sign_in(&server, &session, "access-1", "m.refresh-1", 7200).await;
    let unauthenticated =
        json!({"error": "unauthenticated", "error_code": 16, "error_description": "token revoked"});
    let rejected = server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/auth/v1/user/me")
                .header("authorization", "Bearer access-1");
            then.status(401).json_body(unauthenticated.clone());
        })
        .await;
    let refresh = mock_refresh(&server, "access-2", "m.refresh-2").await;
    let accepted = server
        .mock_async(|when, then| {
            when.method("GET")
                .path("/auth/v1/user/me")
                .header("authorization", "Bearer access-2");
            then.status(200)
                .json_body(json!({"sub": "1234567890123456789", "name": "Alice"}));
        })
        .await;
    let me = session.me().await.expect("retried after one refresh");
    assert_eq!(me.name.as_deref(), Some("Alice"));
    assert_eq!(
        (
            rejected.calls_async().await,
            refresh.calls_async().await,
            accepted.calls_async().await
        ),
        (1, 1, 1)
    );

    // Now the new token is refused too: exactly one more refresh and one more retry, then the error.
    accepted.delete_async().await;
    let rejected_again = server
        .mock_async(|when, then| {
            when.method("GET").path("/auth/v1/user/me");
            then.status(401).json_body(unauthenticated.clone());
        })
        .await;
    let error = session.me().await.expect_err("second 401");
    let api = error.as_api().expect("an API error");
    assert_eq!((api.status, api.error.as_str()), (401, "unauthenticated"));
    assert_eq!(
        rejected_again.calls_async().await,
        2,
        "one call and one retry, no loop"
    );
    assert_eq!(refresh.calls_async().await, 2);
}

#[tokio::test]
async fn invalid_grant_clears_the_session_and_the_store() {
    let server = MockServer::start_async().await;
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let store = FileTokenStore::new(dir.path().join("session.json"));
    let session = cloudbase_auth::Session::new(
        config(&server.base_url(), &clock).with_token_store(store.clone()),
    )
    .unwrap();
    let mut events = session.subscribe();
    sign_in(&server, &session, "access-1", "m.refresh-1", 7200).await;
    assert!(store.load().await.unwrap().is_some());
    server
        .mock_async(|when, then| {
            when.method("POST").path("/auth/v1/token");
            then.status(400).json_body(
                json!({"error": "invalid_grant", "error_description": "refresh token revoked"}),
            );
        })
        .await;
    clock.advance(Duration::from_secs(7200));
    let error = session.me().await.expect_err("terminal");
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
    assert!(!session.is_signed_in());
    assert!(store.load().await.unwrap().is_none());
    assert!(matches!(
        events.recv().await.unwrap(),
        SessionEvent::SignedIn { .. }
    ));
    assert_eq!(events.recv().await.unwrap(), SessionEvent::SignInRequired);
    // A later call does not hit the token endpoint again: it fails locally.
    let again = session.me().await.expect_err("still signed out");
    assert!(matches!(
        again,
        Error::SignInRequired {
            reason: SignInReason::NotSignedIn,
            ..
        }
    ));
}

#[tokio::test]
async fn a_rotation_is_persisted_to_the_file_store_before_use() {
    let server = MockServer::start_async().await;
    let clock = clock();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.json");
    let session = cloudbase_auth::Session::new(
        config(&server.base_url(), &clock).with_token_store(FileTokenStore::new(&path)),
    )
    .unwrap();
    sign_in(&server, &session, "access-1", "m.refresh-1", 7200).await;
    mock_refresh(&server, "access-2", "m.refresh-2").await;
    session.refresh().await.unwrap();
    let stored = FileTokenStore::new(&path).load().await.unwrap().unwrap();
    assert_eq!(stored.refresh_token.unwrap().expose_secret(), "m.refresh-2");
    assert_eq!(stored.access_token.expose_secret(), "access-2");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    // A second process restores it.
    let other = cloudbase_auth::Session::new(
        config(&server.base_url(), &clock).with_token_store(FileTokenStore::new(&path)),
    )
    .unwrap();
    assert!(other.restore().await.unwrap());
    assert_eq!(
        other.refresh_token().unwrap().expose_secret(),
        "m.refresh-2"
    );
}

#[tokio::test]
async fn an_anonymous_session_signs_in_again_with_the_same_device_id() {
    let server = MockServer::start_async().await;
    let clock = clock();
    let session = session(&server, &clock);
    let anonymous = server
        .mock_async(|when, then| {
            when.method("POST")
                .path("/auth/v1/signin/anonymously")
                .header("x-device-id", DEVICE_ID);
            then.status(200)
                .json_body(token_body("anon-access", None, 7200, "anonymous"));
        })
        .await;
    let refresh = server
        .mock_async(|when, then| {
            when.method("POST").path("/auth/v1/token");
            then.status(500);
        })
        .await;
    session.sign_in_anonymously().await.unwrap();
    assert!(session.is_anonymous());
    clock.advance(Duration::from_secs(7200));
    session.access_token().await.unwrap();
    assert_eq!(anonymous.calls_async().await, 2);
    assert_eq!(
        refresh.calls_async().await,
        0,
        "anonymous sessions never use the refresh grant"
    );
}

#[tokio::test]
async fn cancelling_the_caller_that_started_a_refresh_loses_nothing() {
    let server = MockServer::start_async().await;
    let clock = clock();
    let session = session(&server, &clock);
    sign_in(&server, &session, "access-1", "m.refresh-1", 7200).await;
    let refresh = server
        .mock_async(|when, then| {
            when.method("POST").path("/auth/v1/token");
            then.status(200)
                .delay(Duration::from_millis(100))
                .json_body(token_body("access-2", Some("m.refresh-2"), 7200, "user"));
        })
        .await;
    clock.advance(Duration::from_secs(7200));
    let mut events = session.subscribe();
    // Start the refresh, then drop the caller before the response arrives.
    let started = tokio::time::timeout(Duration::from_millis(20), session.access_token()).await;
    assert!(started.is_err(), "the caller was cancelled mid-refresh");
    // The detached refresh finishes and commits anyway.
    assert_eq!(events.recv().await.unwrap(), SessionEvent::TokenRefreshed);
    assert_eq!(
        session.refresh_token().unwrap().expose_secret(),
        "m.refresh-2"
    );
    assert_eq!(
        session.access_token().await.unwrap().expose_secret(),
        "access-2"
    );
    assert_eq!(refresh.calls_async().await, 1);
}

#[tokio::test]
async fn a_transient_refresh_failure_keeps_a_still_valid_token() {
    let server = MockServer::start_async().await;
    let clock = clock();
    let session = session(&server, &clock);
    sign_in(&server, &session, "access-1", "m.refresh-1", 7200).await;
    let refresh = server
        .mock_async(|when, then| {
            when.method("POST").path("/auth/v1/token");
            then.status(503)
                .json_body(json!({"error": "unavailable", "error_code": 14}));
        })
        .await;
    clock.advance(Duration::from_secs(7200 - 30));
    let token = session
        .access_token()
        .await
        .expect("the old token is still valid");
    assert_eq!(token.expose_secret(), "access-1");
    assert_eq!(
        refresh.calls_async().await,
        3,
        "one attempt and two bounded retries"
    );
    clock.advance(Duration::from_secs(30));
    let error = session
        .access_token()
        .await
        .expect_err("expired and not renewed");
    assert_eq!(error.as_api().map(|a| a.status), Some(503));
    assert!(
        session.is_signed_in(),
        "a transient failure keeps the session"
    );
}

#[tokio::test]
async fn device_id_is_constant_and_request_ids_are_fresh_unless_the_caller_sets_one() {
    let server = MockServer::start_async().await;
    let clock = clock();
    let session = session(&server, &clock);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashSet::new()));
    let record = seen.clone();
    let check = server
        .mock_async(move |when, then| {
            when.method("GET")
                .path("/auth/v1/checkIfUserExist")
                .header("x-device-id", DEVICE_ID)
                .header_matches("x-request-id", "^[0-9a-f]{32}$")
                .header_missing("api-version")
                .header_missing("authorization")
                .query_param("client_id", CLIENT_ID)
                .is_true(move |request| {
                    let id = request
                        .headers_vec()
                        .iter()
                        .find(|(k, _)| k == "x-request-id")
                        .map(|(_, v)| v.clone());
                    record.lock().unwrap().extend(id);
                    true
                });
            then.status(200).json_body(json!({"exist": false}));
        })
        .await;
    for _ in 0..5 {
        session
            .raw()
            .check_user_exists()
            .username("bob")
            .send()
            .await
            .unwrap();
    }
    assert_eq!(check.calls_async().await, 5);
    assert_eq!(
        seen.lock().unwrap().len(),
        5,
        "a fresh request id per request"
    );

    let chosen = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    cloudbase_auth::with_request_id(
        chosen,
        session.raw().check_user_exists().username("bob").send(),
    )
    .await
    .unwrap();
    assert!(seen.lock().unwrap().contains(chosen));
}
