//! Fault injection through `Control` and through the HTTP control API.

use std::time::{Duration, Instant};

use cloudbase_auth_emulator::Fault;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Emu, reply, reply_unchecked};

fn refresh_body(token: &str) -> Value {
    json!({"grant_type": "refresh_token", "refresh_token": token})
}

#[tokio::test]
async fn status_faults_apply_to_the_next_n_requests_only() {
    let emu = Emu::start().await;
    let refresh = emu.seeded_session("alice_01").await.str("refresh_token");
    let fault = Fault::Status {
        status: 503,
        body: None,
        retry_after_secs: Some(2),
    };
    emu.control.inject_fault("grant_token", fault, 2);
    for _ in 0..2 {
        let failed = emu.refresh(&refresh).await;
        failed.assert_error(503, "unavailable");
        assert_eq!(failed.headers["retry-after"], "2");
    }
    emu.refresh(&refresh).await.assert_ok();
    assert_eq!(emu.control.request_count("grant_token"), 3);
    assert_eq!(emu.control.request_count("sign_in"), 1);

    let custom = Fault::Status {
        status: 429,
        body: Some(json!({"error": "resource_exhausted"})),
        retry_after_secs: None,
    };
    emu.control.inject_fault("get_user_me", custom, 1);
    let limited = emu.me("whatever").await;
    assert_eq!(
        (limited.status, limited.body.clone()),
        (429, json!({"error": "resource_exhausted"}))
    );
}

#[tokio::test]
async fn commit_then_drop_is_recovered_by_the_reuse_window() {
    let emu = Emu::start().await;
    let r1 = emu.seeded_session("alice_01").await.str("refresh_token");
    emu.control
        .inject_fault("grant_token", Fault::CommitThenDrop, 1);
    let lost = emu
        .request(Method::POST, "/auth/v1/token")
        .json(&refresh_body(&r1))
        .send()
        .await;
    let transport_error = match lost {
        Err(_) => true,
        Ok(response) => response.bytes().await.is_err(),
    };
    assert!(transport_error, "the client must see a transport error");

    // The rotation was committed; retrying with the old token inside the window recovers.
    emu.control.advance_clock(Duration::from_secs(3));
    let recovered = emu.refresh(&r1).await;
    recovered.assert_ok();
    let current = recovered.str("refresh_token");
    assert_ne!(current, r1);
    assert_eq!(
        emu.refresh(&r1).await.str("refresh_token"),
        current,
        "stable while inside the window"
    );
    emu.refresh(&current).await.assert_ok();
    assert_eq!(emu.control.request_count("grant_token"), 4);
}

#[tokio::test]
async fn dropped_connections_do_not_run_the_operation() {
    let emu = Emu::start().await;
    let r1 = emu.seeded_session("alice_01").await.str("refresh_token");
    emu.control
        .inject_fault("grant_token", Fault::DropConnection, 1);
    let dropped = emu
        .request(Method::POST, "/auth/v1/token")
        .json(&refresh_body(&r1))
        .send()
        .await;
    assert!(dropped.is_err() || dropped.unwrap().bytes().await.is_err());
    emu.control.advance_clock(Duration::from_secs(60));
    emu.refresh(&r1).await.assert_ok();
}

#[tokio::test]
async fn broken_bodies_gateway_errors_and_delays() {
    let emu = Emu::start().await;
    let access = emu.seeded_session("alice_01").await.str("access_token");

    emu.control
        .inject_fault("get_user_me", Fault::TruncatedJson, 1);
    let me = || {
        emu.request(Method::GET, "/auth/v1/user/me")
            .bearer_auth(&access)
            .send()
    };
    let truncated = reply_unchecked(me().await.unwrap()).await;
    assert_eq!(truncated.status, 200);
    assert!(
        truncated.body.is_string(),
        "not JSON any more: {truncated:?}"
    );

    emu.control
        .inject_fault("get_user_me", Fault::NonJsonGatewayError, 1);
    let gateway = reply_unchecked(me().await.unwrap()).await;
    assert_eq!(gateway.status, 502);
    for field in ["code", "message", "requestId"] {
        assert!(gateway.body[field].is_string(), "{gateway:?}");
    }

    emu.control
        .inject_fault("get_user_me", Fault::Oversized { bytes: 100_000 }, 1);
    let response = me().await.unwrap();
    assert_eq!(response.bytes().await.unwrap().len(), 100_000);

    emu.control
        .inject_fault("get_user_me", Fault::Delay { millis: 50 }, 1);
    let started = Instant::now();
    emu.me(&access).await.assert_ok();
    assert!(started.elapsed() >= Duration::from_millis(50));
}

#[tokio::test]
async fn the_http_control_api_injects_faults_and_counts_requests() {
    let emu = Emu::start().await;
    let fault = json!({"operation_id": "sign_in_anonymously", "count": 1, "fault": {"kind": "status", "status": 500}});
    reply(emu.http.post(emu.url("/emulator/v1/faults")).json(&fault))
        .await
        .assert_ok();
    emu.post("/auth/v1/signin/anonymously", json!({}))
        .await
        .assert_error(500, "internal");
    emu.post("/auth/v1/signin/anonymously", json!({}))
        .await
        .assert_ok();
    let counts = reply(emu.http.get(emu.url("/emulator/v1/requests"))).await;
    assert_eq!(counts.body["counts"]["sign_in_anonymously"], 2);

    let unknown = json!({"operation_id": "nope", "fault": {"kind": "drop_connection"}});
    reply(emu.http.post(emu.url("/emulator/v1/faults")).json(&unknown))
        .await
        .assert_error(400, "invalid_argument");
    let bad_status =
        json!({"operation_id": "sign_in", "fault": {"kind": "status", "status": 1000}});
    reply(
        emu.http
            .post(emu.url("/emulator/v1/faults"))
            .json(&bad_status),
    )
    .await
    .assert_error(400, "invalid_argument");
}
