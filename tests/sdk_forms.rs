//! Where official-client generations disagree on the wire (shared/reference/
//! sdk-3.3.3-vs-spec.md), both forms decode through the generated client and the
//! `Session` API; and the flows 3.3.3 added run against the emulator.

mod support;

use std::num::NonZeroU32;

use cloudbase_auth::{SecurityHistoryKind, types};
use httpmock::MockServer;
use serde_json::{Value, json};
use support::world::World;
use support::*;

async fn answering(server: &MockServer, method: &str, path: &str, body: Value) {
    server
        .mock_async(|when, then| {
            when.method(method).path(path);
            then.status(200).json_body(body);
        })
        .await;
}

#[tokio::test]
async fn user_query_total_decodes_as_a_number_and_as_a_string() {
    for (total, form) in [(json!(2), "3.3.3 number"), (json!("2"), "older string")] {
        let server = MockServer::start_async().await;
        let clock = clock();
        let session = session(&server, &clock);
        sign_in(&server, &session, "access-1", "m.refresh-1", 7200).await;
        answering(
            &server,
            "GET",
            "/auth/v1/user/query",
            json!({"total": total, "data": []}),
        )
        .await;
        let answer = session
            .raw()
            .query_users()
            .id("1,2")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{form}: {e}"))
            .into_inner();
        let count = answer.total.expect("total").get();
        assert_eq!(count, Some(2), "{form}");
    }
}

#[tokio::test]
async fn device_code_page_decodes_under_both_names() {
    for name in ["verification_uri", "verification_url"] {
        let server = MockServer::start_async().await;
        let clock = clock();
        let session = session(&server, &clock);
        let mut body = json!({"device_code": "dc.1", "user_code": "WDJB-MJHT", "expires_in": 600, "interval": 5});
        body[name] = json!("https://example.com/device");
        answering(&server, "POST", "/auth/v1/device/code", body).await;
        let started = session.start_device_sign_in(None).await.expect(name);
        assert_eq!(
            started.verification_uri.as_deref(),
            Some("https://example.com/device"),
            "{name}"
        );
        assert_eq!(started.user_code, "WDJB-MJHT");
    }
}

#[tokio::test]
async fn has_password_decodes_in_snake_and_camel_case() {
    for name in ["has_password", "hasPassword"] {
        let server = MockServer::start_async().await;
        let clock = clock();
        let session = session(&server, &clock);
        sign_in(&server, &session, "access-1", "m.refresh-1", 7200).await;
        answering(
            &server,
            "GET",
            "/auth/v1/user/me",
            json!({"sub": "1", name: true}),
        )
        .await;
        let me = session.me().await.expect(name);
        assert_eq!(me.password_is_set(), Some(true), "{name}");
    }
}

#[tokio::test]
async fn the_3_3_3_credential_error_names_are_bad_credentials() {
    let names = [
        "invalid_password",
        "invalid_username_or_password",
        "invalid_credentials",
        "wrong_password",
        "user_not_found",
    ];
    for name in names {
        let server = MockServer::start_async().await;
        let clock = clock();
        let session = session(&server, &clock);
        server
            .mock_async(|when, then| {
                when.method("POST").path("/auth/v1/signin");
                then.status(400)
                    .json_body(json!({"error": name, "error_code": 3, "error_description": "no"}));
            })
            .await;
        let error = session
            .sign_in_with_password("alice", "pw")
            .await
            .unwrap_err();
        let api = error.as_api().expect("an API error");
        assert!(api.is_bad_credentials(), "{name}");
        assert!(
            error
                .to_string()
                .contains("check the username and password")
        );
    }
    for name in ["provider_not_enabled", "login_method_disabled"] {
        let server = MockServer::start_async().await;
        let clock = clock();
        let session = session(&server, &clock);
        server
            .mock_async(|when, then| {
                when.method("POST").path("/auth/v1/signin");
                then.status(403).json_body(json!({"error": name}));
            })
            .await;
        let error = session.sign_in_with_password("a", "b").await.unwrap_err();
        assert!(
            error.as_api().unwrap().is_sign_in_method_disabled(),
            "{name}"
        );
    }
}

#[tokio::test]
async fn device_code_sign_in_against_the_emulator_after_approval() {
    let world = World::start().await;
    let device = world.session();
    let started = device
        .start_device_sign_in(None)
        .await
        .expect("device code");
    let pending = device.poll_device_sign_in(&started).await.unwrap_err();
    assert_eq!(pending.as_api().unwrap().error, "authorization_pending");

    let phone = world.signed_in().await;
    phone
        .approve_device(&started.user_code)
        .await
        .expect("approve");
    world.advance(started.interval.as_secs());
    let signed_in = device.poll_device_sign_in(&started).await.expect("tokens");
    assert_eq!(signed_in.sub, phone.user_id());
    assert!(device.is_signed_in());
}

#[tokio::test]
async fn security_history_lists_the_sign_ins_of_the_session_user() {
    let world = World::start().await;
    let session = world.signed_in().await;
    world.advance(60);
    session
        .sign_in_with_password("alice", support::world::PASSWORD)
        .await
        .unwrap();
    let limit = NonZeroU32::new(10).unwrap();
    let page = session
        .security_history(SecurityHistoryKind::SignIns, limit, None)
        .await
        .expect("history");
    assert_eq!(page.data.len(), 2);
    assert!(
        page.data
            .iter()
            .all(|r| r.action.as_deref() == Some("USER_LOGIN"))
    );
    let changes = session
        .security_history(SecurityHistoryKind::Changes, limit, None)
        .await
        .expect("history");
    assert!(changes.data.is_empty());
    let _: &types::SecurityHistoryResponse = &changes;
}
