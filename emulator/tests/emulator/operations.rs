//! Every operation of the plan answers a well-formed request with 200, never 404/405/501.

use std::time::Duration;

use cloudbase_auth_emulator::SeedUser;
use reqwest::Method;
use serde_json::json;

use crate::common::{Emu, PASSWORD, reply};

/// The 37 operation ids of the plan.
const OPERATIONS: [&str; 37] = [
    "sign_in",
    "sign_in_anonymously",
    "sign_up",
    "sign_out",
    "sign_in_custom",
    "reset_password",
    "client_credential_token",
    "get_provider_uri",
    "grant_provider_token",
    "sign_in_with_provider",
    "patch_provider_token",
    "grant_token",
    "introspect_token",
    "revoke_token",
    "send_verification",
    "verify_verification",
    "get_captcha_data",
    "verify_captcha_data",
    "init_captcha",
    "get_user_me",
    "update_user_me",
    "delete_user_me",
    "create_sudo_token",
    "update_password",
    "edit_user_basic_info",
    "update_user_profile",
    "update_user_contact",
    "query_users",
    "check_user_exists",
    "list_user_providers",
    "bind_provider",
    "unbind_provider",
    "transfer_provider",
    "transfer_by_provider",
    "revoke_all_devices",
    "revoke_device",
    "request_device_code",
];

async fn provider_token(emu: &Emu, provider_id: &str, code: &str) -> String {
    let reply = emu
        .post(
            "/auth/v1/provider/token",
            json!({"provider_id": provider_id, "provider_code": code}),
        )
        .await;
    reply.assert_ok();
    reply.str("provider_token")
}

#[tokio::test]
async fn every_operation_answers_a_well_formed_request() {
    let emu = Emu::start().await;
    emu.control.seed_user(SeedUser {
        username: Some("alice_01".into()),
        password: Some(PASSWORD.into()),
        phone_number: Some("+86 13800000001".into()),
        email: Some("alice@example.com".into()),
        name: Some("Alice".into()),
        ..Default::default()
    });
    sign_in_family(&emu).await;
    let alice = emu.sign_in("alice_01", PASSWORD).await.str("access_token");
    token_family(&emu, &alice).await;
    provider_family(&emu, &alice).await;
    user_family(&emu, &alice).await;

    for operation in OPERATIONS {
        assert!(
            emu.control.request_count(operation) >= 1,
            "{operation} was never called"
        );
    }
}

async fn sign_in_family(emu: &Emu) {
    emu.sign_in("alice_01", PASSWORD).await.assert_ok();
    emu.post("/auth/v1/signin/anonymously", json!({}))
        .await
        .assert_ok();
    emu.sign_up("+86 13800000002", "bob_01").await.assert_ok();
    emu.control
        .add_custom_login_key(&crate::server_side::custom_login_key())
        .unwrap();
    let ticket = crate::server_side::mint_ticket(
        "dev-only-key.json",
        "custom-user-1",
        "demo-env",
        emu.control.now() * 1000,
    );
    emu.post(
        "/auth/v1/signin/custom",
        json!({"provider_id": "custom", "ticket": ticket}),
    )
    .await
    .assert_ok();
    let token = emu.verification_token("USER", "alice@example.com").await;
    let body = json!({"email": "alice@example.com", "new_password": PASSWORD, "verification_token": token});
    emu.post("/auth/v1/reset", body).await.assert_ok();
    let admin = emu
        .request(Method::POST, "/auth/v1/token/clientCredential")
        .basic_auth("AKIDexample", Some("secret-key"))
        .json(&json!({"grant_type": "client_credentials"}));
    let admin = reply(admin).await;
    admin.assert_ok();
    assert_eq!(admin.body["expires_in"], 432_000);
}

async fn token_family(emu: &Emu, alice: &str) {
    let session = emu.sign_in("alice_01", PASSWORD).await;
    emu.refresh(&session.str("refresh_token")).await.assert_ok();
    emu.call(Method::GET, "/auth/v1/token/introspect", alice, None)
        .await
        .assert_ok();
    emu.post(
        "/auth/v1/revoke",
        json!({"token": session.str("refresh_token")}),
    )
    .await
    .assert_ok();
    emu.post("/auth/v1/captcha/data", json!({}))
        .await
        .assert_ok();
    let (token, answer) = emu.control.captcha_answers().pop().expect("an image");
    emu.post(
        "/auth/v1/captcha/data/verify",
        json!({"token": token, "key": answer}),
    )
    .await
    .assert_ok();
    emu.post(
        "/auth/v1/captcha/init",
        json!({"redirect_uri": "http://localhost/?__captcha=on", "state": "POST:/auth/v1/signin"}),
    )
    .await
    .assert_ok();
    let codes = emu
        .post("/auth/v1/device/code", json!({"scope": "user"}))
        .await;
    codes.assert_ok();
    assert_eq!(codes.body["interval"], 5);
}

async fn provider_family(emu: &Emu, alice: &str) {
    let uri = reply(emu.request(Method::GET, "/auth/v1/provider/uri").query(&[
        ("provider_id", "github"),
        ("redirect_uri", "https://app.example/cb"),
        ("state", "xyz"),
    ]))
    .await;
    uri.assert_ok();
    assert_eq!(
        uri.str("uri"),
        "https://app.example/cb?code=emulator-user&state=xyz"
    );

    let octocat = provider_token(emu, "github", "octocat").await;
    emu.post(
        "/auth/v1/signin/with/provider",
        json!({"provider_token": octocat, "provider_id": "github"}),
    )
    .await
    .assert_ok();
    let wechat = provider_token(emu, "wx_open", "wechat-user").await;
    let patch = json!({"provider_token": wechat, "provider_params": {"encryptedData": "+86 13800000009", "iv": "iv"}});
    let patched = reply(
        emu.request(Method::PATCH, "/auth/v1/provider/token")
            .json(&patch),
    )
    .await;
    patched.assert_ok();
    assert_eq!(
        patched.body["provider_profile"]["phone_number"],
        "+86 13800000009"
    );

    let google = provider_token(emu, "google", "alice-g").await;
    emu.call(
        Method::POST,
        "/auth/v1/user/provider/bind",
        alice,
        Some(json!({"provider_token": google})),
    )
    .await
    .assert_ok();
    emu.call(Method::GET, "/auth/v1/user/provider", alice, None)
        .await
        .assert_ok();
    emu.call(Method::DELETE, "/auth/v1/user/provider/google", alice, None)
        .await
        .assert_ok();
    // Octocat is bound to the user signed up above: move it to Alice.
    let moved = emu
        .call(
            Method::POST,
            "/auth/v1/user/provider/github/trans",
            alice,
            Some(json!({"provider_trans_token": octocat})),
        )
        .await;
    moved.assert_ok();
    assert_eq!(moved.body["client_id"], "demo-env");
    let by_provider = json!({"provider_token": wechat});
    emu.call(
        Method::PATCH,
        "/auth/v1/user/trans/by/provider",
        alice,
        Some(by_provider),
    )
    .await
    .assert_ok();
    let profile = emu.me(alice).await;
    assert_eq!(
        profile.body["providers"].as_array().map(Vec::len),
        Some(2),
        "{profile:?}"
    );
}

async fn user_family(emu: &Emu, alice: &str) {
    emu.me(alice).await.assert_ok();
    let updated = emu
        .call(
            Method::PATCH,
            "/auth/v1/user/me",
            alice,
            Some(json!({"name": "Alice Wang"})),
        )
        .await;
    assert_eq!(updated.body["name"], "Alice Wang");
    let profile = emu
        .call(
            Method::PATCH,
            "/auth/v1/user/profile",
            alice,
            Some(json!({"locale": "zh-CN", "gender": "FEMALE"})),
        )
        .await;
    assert_eq!(profile.body["locale"], "zh-CN");
    let edit = json!({"nickname": "Ally", "description": "hi", "avatar_url": "https://img/a.png"});
    emu.call(Method::POST, "/auth/v1/user/basic/edit", alice, Some(edit))
        .await
        .assert_ok();
    let query = emu
        .call(
            Method::GET,
            "/auth/v1/user/query?username=alice_01&id=1",
            alice,
            None,
        )
        .await;
    assert_eq!(query.body["total"], 1);
    let exists = reply(
        emu.request(Method::GET, "/auth/v1/checkIfUserExist")
            .query(&[("username", "alice_01")]),
    )
    .await;
    assert_eq!(exists.body, json!({"exist": true}));

    let sudo = emu
        .call(
            Method::POST,
            "/auth/v1/user/sudo",
            alice,
            Some(json!({"password": PASSWORD})),
        )
        .await
        .str("sudo_token");
    emu.control.advance_clock(Duration::from_secs(60));
    let token = emu
        .verification_token("NOT_USER", "alice.new@example.com")
        .await;
    let contact =
        json!({"email": "alice.new@example.com", "sudo_token": sudo, "verification_token": token});
    emu.call(Method::PATCH, "/auth/v1/user/contact", alice, Some(contact))
        .await
        .assert_ok();
    let change = json!({"sudo_token": sudo, "new_password": "N3w-password", "confirm_password": "N3w-password"});
    emu.call(Method::PATCH, "/auth/v1/user/password", alice, Some(change))
        .await
        .assert_ok();

    let device = format!("/auth/v1/user/authorized/devices/{}", crate::common::DEVICE);
    emu.call(
        Method::DELETE,
        &device,
        &emu.sign_in("alice_01", "N3w-password")
            .await
            .str("access_token"),
        None,
    )
    .await
    .assert_ok();
    let spare = emu
        .sign_in("alice_01", "N3w-password")
        .await
        .str("access_token");
    emu.call(
        Method::POST,
        "/auth/v1/user/signout",
        &spare,
        Some(json!({})),
    )
    .await
    .assert_ok();
    let spare = emu
        .sign_in("alice_01", "N3w-password")
        .await
        .str("access_token");
    emu.call(Method::DELETE, "/auth/v1/user/revoke/all", &spare, None)
        .await
        .assert_ok();
    emu.me(alice).await.assert_error(401, "unauthenticated");

    let last = emu
        .sign_in("alice.new@example.com", "N3w-password")
        .await
        .str("access_token");
    let sudo = emu
        .call(
            Method::POST,
            "/auth/v1/user/sudo",
            &last,
            Some(json!({"password": "N3w-password"})),
        )
        .await
        .str("sudo_token");
    emu.call(
        Method::DELETE,
        &format!("/auth/v1/user/me?sudo_token={sudo}"),
        &last,
        None,
    )
    .await
    .assert_ok();
}
