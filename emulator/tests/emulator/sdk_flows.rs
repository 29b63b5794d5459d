//! The operations and forms `@cloudbase/oauth` 3.3.3 added over the HTTP API docs: the
//! device-code and authorization-code flows, QR-code sign-in, the security log, sign-up by
//! provider token or from an anonymous user, comma-joined user ids.

use reqwest::Method;
use serde_json::json;

use crate::common::*;

const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[tokio::test]
async fn device_code_flow_runs_end_to_end_with_pending_and_slow_down() {
    let emu = Emu::start().await;
    let approver = emu.seeded_session("alice_01").await.str("access_token");
    let code = emu.post("/auth/v1/device/code", json!({})).await;
    code.assert_ok();
    assert!(code.body["verification_uri"].is_string(), "3.3.3's name");
    assert_eq!(code.body["interval"], 5);
    let device_code = code.str("device_code");
    let poll = json!({"grant_type": DEVICE_GRANT, "device_code": device_code});

    emu.post("/auth/v1/token", poll.clone())
        .await
        .assert_error(400, "authorization_pending");
    emu.control.advance_clock(std::time::Duration::from_secs(1));
    emu.post("/auth/v1/token", poll.clone())
        .await
        .assert_error(400, "slow_down");

    let approve = json!({"user_code": code.str("user_code")});
    emu.call(
        Method::POST,
        "/auth/v1/user/device/authorize",
        &approver,
        Some(approve),
    )
    .await
    .assert_ok();
    emu.control
        .advance_clock(std::time::Duration::from_secs(10));
    let tokens = emu.post("/auth/v1/token", poll.clone()).await;
    tokens.assert_ok();
    let me = emu.me(&tokens.str("access_token")).await;
    assert_eq!(me.body["username"], "alice_01", "the approving user");
    emu.control
        .advance_clock(std::time::Duration::from_secs(10));
    emu.post("/auth/v1/token", poll)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn device_code_request_takes_the_bearer_3_3_3_sends() {
    let emu = Emu::start().await;
    let token = emu.seeded_session("alice_01").await.str("access_token");
    emu.call(
        Method::POST,
        "/auth/v1/device/code",
        &token,
        Some(json!({})),
    )
    .await
    .assert_ok();
    emu.call(
        Method::POST,
        "/auth/v1/device/code",
        "garbage",
        Some(json!({})),
    )
    .await
    .assert_error(401, "unauthenticated");
}

#[tokio::test]
async fn authorization_code_flow_checks_pkce() {
    let emu = Emu::start().await;
    let token = emu.seeded_session("alice_01").await.str("access_token");
    let info = reply(
        emu.request(Method::GET, "/auth/v1/user/authorize/info")
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(info.body["client"]["id"], "demo-env");
    let authorize = json!({
        "response_type": "code",
        "state": "xyz",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    });
    let code = emu
        .call(
            Method::POST,
            "/auth/v1/user/authorize",
            &token,
            Some(authorize),
        )
        .await;
    assert_eq!(code.body["state"], "xyz");
    let exchange = |verifier: &str| json!({"grant_type": "authorization_code", "code": code.str("code"), "code_verifier": verifier});
    emu.post("/auth/v1/token", exchange("wrong"))
        .await
        .assert_error(400, "invalid_grant");
    // A failed exchange spends the code (RFC 6749 §4.1.2: single use).
    emu.post(
        "/auth/v1/token",
        exchange("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
    )
    .await
    .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn qr_code_sign_in_hands_out_a_provider_token_once_scanned() {
    let emu = Emu::start().await;
    let ids = json!({"envId": "demo-env", "wxAppId": "wx01"});
    let qr = emu.post("/auth/v1/qrcode/generate", ids).await;
    qr.assert_ok();
    let status_body =
        json!({"qrCodeId": qr.str("qr_code_id"), "envId": "demo-env", "wxAppId": "wx01"});
    let waiting = emu
        .post("/auth/v1/qrcode/get/status", status_body.clone())
        .await;
    assert_eq!(waiting.body["status"], "WAITING");
    let scan = json!({"qr_code_id": qr.str("qr_code_id"), "open_id": "o-wechat-1"});
    reply(
        emu.request(Method::POST, "/emulator/v1/qrcode/scan")
            .json(&scan),
    )
    .await
    .assert_ok();
    let scanned = emu.post("/auth/v1/qrcode/get/status", status_body).await;
    assert_eq!(scanned.body["status"], "SCANNED");
    let signed_in = emu
        .post(
            "/auth/v1/signin/with/provider",
            json!({"provider_token": scanned.str("provider_token")}),
        )
        .await;
    signed_in.assert_ok();
}

#[tokio::test]
async fn security_history_lists_real_sign_ins_newest_first() {
    let emu = Emu::start().await;
    emu.seeded_session("alice_01").await;
    emu.control
        .advance_clock(std::time::Duration::from_secs(60));
    let token = emu.sign_in("alice_01", PASSWORD).await.str("access_token");
    let page = reply(
        emu.request(
            Method::GET,
            "/auth/v1/user/security/history?query[action]=USER_LOGIN&limit=1",
        )
        .bearer_auth(&token),
    )
    .await;
    page.assert_ok();
    assert_eq!(page.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(page.body["data"][0]["action"], "USER_LOGIN");
    let next = page.str("next_page_token");
    let rest = reply(
        emu.request(
            Method::GET,
            &format!("/auth/v1/user/security/history?limit=10&page_token={next}"),
        )
        .bearer_auth(&token),
    )
    .await;
    assert_eq!(rest.body["data"].as_array().unwrap().len(), 1);
    assert!(rest.body.get("next_page_token").is_none());
    let modify = reply(
        emu.request(
            Method::GET,
            "/auth/v1/user/security/history?ne_query[action]=USER_LOGIN&limit=10",
        )
        .bearer_auth(&token),
    )
    .await;
    assert_eq!(modify.body["data"], json!([]));
}

#[tokio::test]
async fn sign_up_by_provider_token_and_from_an_anonymous_user() {
    let emu = Emu::start().await;
    let provider = emu
        .post(
            "/auth/v1/provider/token",
            json!({"provider_id": "github", "provider_code": "octocat"}),
        )
        .await;
    let signed_up = emu
        .post(
            "/auth/v1/signup",
            json!({"provider_token": provider.str("provider_token"), "username": "octo_cat"}),
        )
        .await;
    signed_up.assert_ok();

    let anonymous = emu.post("/auth/v1/signin/anonymously", json!({})).await;
    let anonymous_sub = anonymous.str("sub");
    let token = emu.verification_token("ANY", "anon@example.com").await;
    let upgraded = emu
        .post(
            "/auth/v1/signup",
            json!({
                "email": "anon@example.com",
                "verification_token": token,
                "anonymous_token": anonymous.str("access_token"),
            }),
        )
        .await;
    upgraded.assert_ok();
    assert_eq!(
        upgraded.str("sub"),
        anonymous_sub,
        "the same user, upgraded"
    );
}

#[tokio::test]
async fn user_query_takes_comma_joined_ids_and_answers_a_number() {
    let emu = Emu::start().await;
    let alice = emu.seed("alice_01");
    let bob = emu.seed("bob_01");
    let token = emu.sign_in("alice_01", PASSWORD).await.str("access_token");
    let path = format!("/auth/v1/user/query?id={alice}%2C{bob}");
    let found = emu.call(Method::GET, &path, &token, None).await;
    assert_eq!(found.body["total"], 2);
}

#[tokio::test]
async fn basic_edit_changes_the_password_after_checking_the_old_one() {
    let emu = Emu::start().await;
    let token = emu.seeded_session("alice_01").await.str("access_token");
    let wrong = json!({"password": "Wrong-pass-1", "new_password": "Newer-pass-2"});
    emu.call(
        Method::POST,
        "/auth/v1/user/basic/edit",
        &token,
        Some(wrong),
    )
    .await
    .assert_error(400, "invalid_password");
    let half = json!({"new_password": "Newer-pass-2"});
    emu.call(Method::POST, "/auth/v1/user/basic/edit", &token, Some(half))
        .await
        .assert_error(400, "invalid_argument");
    let change = json!({"password": PASSWORD, "new_password": "Newer-pass-2"});
    emu.call(
        Method::POST,
        "/auth/v1/user/basic/edit",
        &token,
        Some(change),
    )
    .await
    .assert_ok();
    emu.sign_in("alice_01", "Newer-pass-2").await.assert_ok();
}
