//! Sudo, password change, deletion, captcha and lockout, verification-code limits, providers.

use std::time::Duration;

use cloudbase_auth_emulator::EmulatorConfig;
use reqwest::Method;
use serde_json::json;

use crate::common::{Emu, PASSWORD, reply, test_config};

#[tokio::test]
async fn sudo_then_password_change_signs_out_other_sessions_then_delete() {
    let emu = Emu::start().await;
    let current = emu.seeded_session("alice_01").await;
    let other = emu.sign_in("alice_01", PASSWORD).await;
    let access = current.str("access_token");

    let sudo = |body| emu.call(Method::POST, "/auth/v1/user/sudo", &access, Some(body));
    sudo(json!({"password": "wrong-password"}))
        .await
        .assert_error(400, "invalid_password");
    let granted = sudo(json!({"password": PASSWORD})).await;
    granted.assert_ok();
    assert_eq!(granted.body["expires_in"], 900);
    let sudo_token = granted.str("sudo_token");

    let change = json!({"sudo_token": sudo_token, "new_password": "N3w-password"});
    emu.call(
        Method::PATCH,
        "/auth/v1/user/password",
        &access,
        Some(change),
    )
    .await
    .assert_ok();
    emu.me(&other.str("access_token"))
        .await
        .assert_error(401, "unauthenticated");
    emu.me(&access).await.assert_ok();
    emu.sign_in("alice_01", PASSWORD)
        .await
        .assert_error(400, "invalid_password");
    emu.sign_in("alice_01", "N3w-password").await.assert_ok();

    emu.call(Method::DELETE, "/auth/v1/user/me", &access, None)
        .await
        .assert_error(400, "invalid_argument");
    let bad = emu
        .call(
            Method::DELETE,
            "/auth/v1/user/me?sudo_token=nope",
            &access,
            None,
        )
        .await;
    bad.assert_error(403, "permission_denied");
    assert_eq!(bad.body["error_code"], 7);
    // The password change ended every sudo token of the user.
    let path = format!("/auth/v1/user/me?sudo_token={sudo_token}");
    emu.call(Method::DELETE, &path, &access, None)
        .await
        .assert_error(403, "permission_denied");
    let fresh = sudo(json!({"password": "N3w-password"}))
        .await
        .str("sudo_token");
    let path = format!("/auth/v1/user/me?sudo_token={fresh}");
    emu.call(Method::DELETE, &path, &access, None)
        .await
        .assert_ok();
    emu.me(&access).await.assert_error(401, "unauthenticated");
    emu.sign_in("alice_01", "N3w-password")
        .await
        .assert_error(400, "invalid_password");
}

#[tokio::test]
async fn sudo_tokens_expire_and_accept_a_verification_token() {
    let emu = Emu::start().await;
    let token = emu.verification_token("NOT_USER", "bob@example.com").await;
    let body = json!({"email": "bob@example.com", "verification_token": token});
    let access = emu.post("/auth/v1/signup", body).await.str("access_token");
    emu.control.advance_clock(Duration::from_secs(60));
    let mine = json!({"target": "CUR_USER", "email": "bob@example.com"});
    emu.send_code("CUR_USER", "bob@example.com")
        .await
        .assert_error(401, "unauthenticated");
    let sent = emu
        .call(Method::POST, "/auth/v1/verification", &access, Some(mine))
        .await;
    let verification = emu.exchange_code(&sent, "bob@example.com").await;
    let body = json!({"verification_token": verification});
    let sudo = emu
        .call(Method::POST, "/auth/v1/user/sudo", &access, Some(body))
        .await
        .str("sudo_token");
    emu.control.advance_clock(Duration::from_secs(900));
    let change = json!({"sudo_token": sudo, "new_password": "N3w-password"});
    emu.call(
        Method::PATCH,
        "/auth/v1/user/password",
        &access,
        Some(change),
    )
    .await
    .assert_error(403, "permission_denied");
}

#[tokio::test]
async fn captcha_is_required_after_repeated_failures() {
    let emu = Emu::start().await;
    emu.seed("alice_01");
    for _ in 0..5 {
        emu.sign_in("alice_01", "wrong-password")
            .await
            .assert_error(400, "invalid_password");
    }
    emu.sign_in("alice_01", PASSWORD)
        .await
        .assert_error(400, "captcha_required");

    let image = emu.post("/auth/v1/captcha/data", json!({})).await;
    image.assert_ok();
    assert!(image.str("data").starts_with("data:image/png;base64,"));
    assert_eq!(image.body["type"], "image");
    assert_eq!(image.body["expires_in"], 300);
    let (token, answer) = emu.control.captcha_answers().pop().expect("an image");
    assert_eq!(token, image.str("token"));
    let solved = emu
        .post(
            "/auth/v1/captcha/data/verify",
            json!({"token": token, "key": answer.to_lowercase()}),
        )
        .await;
    solved.assert_ok();
    emu.post(
        "/auth/v1/captcha/data/verify",
        json!({"token": token, "key": answer}),
    )
    .await
    .assert_error(400, "captcha_used");

    let body = json!({"username": "alice_01", "password": PASSWORD});
    let request = emu
        .request(Method::POST, "/auth/v1/signin")
        .header("x-captcha-token", solved.str("captcha_token"));
    reply(request.json(&body)).await.assert_ok();
    // Success cleared the counter.
    emu.sign_in("alice_01", PASSWORD).await.assert_ok();
}

#[tokio::test]
async fn captcha_errors_and_the_query_parameter_form() {
    let emu = Emu::start_with(EmulatorConfig {
        captcha_after_failed_sign_ins: 1,
        ..test_config()
    })
    .await;
    emu.seed("alice_01");
    emu.sign_in("alice_01", "wrong-password")
        .await
        .assert_error(400, "invalid_password");
    let token = emu
        .post("/auth/v1/captcha/data", json!({}))
        .await
        .str("token");
    emu.post(
        "/auth/v1/captcha/data/verify",
        json!({"token": token, "key": "????"}),
    )
    .await
    .assert_error(400, "invalid_captcha");
    let stale = emu
        .post("/auth/v1/captcha/data", json!({}))
        .await
        .str("token");
    emu.control.advance_clock(Duration::from_secs(300));
    emu.post(
        "/auth/v1/captcha/data/verify",
        json!({"token": stale, "key": "ABCD"}),
    )
    .await
    .assert_error(400, "captcha_expired");

    // captcha/init hands out a challenge, never a ready token.
    let init = emu.post("/auth/v1/captcha/init", json!({})).await;
    assert!(init.body.get("captcha_token").is_none(), "{init:?}");
    let image = init
        .str("url")
        .split_once("token=")
        .map(|(_, token)| token.to_owned())
        .expect("the challenge names its image token");
    let answer = emu
        .control
        .captcha_answers()
        .into_iter()
        .find(|(token, _)| *token == image)
        .map(|(_, answer)| answer)
        .expect("the challenge is listed");
    let captcha_token = emu
        .post(
            "/auth/v1/captcha/data/verify",
            json!({"token": image, "key": answer}),
        )
        .await
        .str("captcha_token");
    let body = json!({"username": "alice_01", "password": PASSWORD});
    let request = emu
        .request(Method::POST, "/auth/v1/signin")
        .query(&[("captcha_token", captcha_token.as_str())]);
    reply(request.json(&body)).await.assert_ok();
}

#[tokio::test]
async fn failed_sign_ins_are_capped_at_100_per_hour() {
    let emu = Emu::start_with(EmulatorConfig {
        captcha_after_failed_sign_ins: u32::MAX,
        ..test_config()
    })
    .await;
    emu.seed("alice_01");
    for _ in 0..100 {
        emu.sign_in("alice_01", "wrong-password")
            .await
            .assert_error(400, "invalid_password");
    }
    let capped = emu.sign_in("alice_01", PASSWORD).await;
    capped.assert_error(429, "rate_limit_exceeded");
    assert_eq!(capped.body["error_code"], 8);
    assert_eq!(capped.headers["retry-after"], "3600");
    emu.control.advance_clock(Duration::from_secs(3600));
    emu.sign_in("alice_01", PASSWORD).await.assert_ok();
}

#[tokio::test]
async fn verification_codes_have_targets_resend_limits_and_expiry() {
    let emu = Emu::start().await;
    emu.send_code("USER", "+86 13800000000")
        .await
        .assert_error(404, "user_not_found");
    let first = emu.send_code("ANY", "+86 13800000000").await;
    first.assert_ok();
    let again = emu.send_code("ANY", "+86 13800000000").await;
    again.assert_error(429, "rate_limit_exceeded");
    assert_eq!(again.headers["retry-after"], "60");
    emu.send_code("ANY", "+8613800000000")
        .await
        .assert_error(400, "invalid_phone_number");

    let verify = |code: &str| {
        emu.post(
            "/auth/v1/verification/verify",
            json!({"verification_id": first.str("verification_id"), "verification_code": code}),
        )
    };
    verify("000000x")
        .await
        .assert_error(400, "invalid_verification_code");
    emu.control.advance_clock(Duration::from_secs(600));
    let code = emu.control.latest_code_for("+86 13800000000").unwrap();
    verify(&code)
        .await
        .assert_error(400, "invalid_verification_code");
    emu.send_code("ANY", "+86 13800000000").await.assert_ok();
    // The expired code was pruned; the new one is listed.
    assert_eq!(emu.control.verification_codes().len(), 1);

    emu.sign_up("+86 13900000000", "carol_1").await.assert_ok();
    emu.send_code("NOT_USER", "+86 13900000000")
        .await
        .assert_error(409, "already_exists");
}

#[tokio::test]
async fn reset_password_with_a_verification_token() {
    let emu = Emu::start().await;
    let session = emu.sign_up("+86 13800000000", "alice_01").await;
    emu.control.advance_clock(Duration::from_secs(60));
    let token = emu.verification_token("USER", "+86 13800000000").await;
    let body = json!({"phone_number": "+86 13800000001", "new_password": "N3w-password", "verification_token": token});
    emu.post("/auth/v1/reset", body)
        .await
        .assert_error(400, "invalid_argument");
    let body = json!({"phone_number": "+86 13800000000", "new_password": "N3w-password", "verification_token": token});
    emu.post("/auth/v1/reset", body).await.assert_ok();
    emu.sign_in("alice_01", "N3w-password").await.assert_ok();
    emu.me(&session.str("access_token"))
        .await
        .assert_error(401, "unauthenticated");
}

#[tokio::test]
async fn providers_bind_list_unbind_and_sign_in() {
    let emu = Emu::start().await;
    let access = emu.seeded_session("alice_01").await.str("access_token");
    let grant = emu
        .post(
            "/auth/v1/provider/token",
            json!({"provider_id": "github", "provider_code": "octocat"}),
        )
        .await;
    grant.assert_ok();
    assert_eq!(grant.body["provider_profile"]["sub"], "octocat");
    assert_eq!(grant.body["expires_in"], 3600);
    let provider_token = grant.str("provider_token");

    let bind = json!({"provider_token": provider_token});
    emu.call(
        Method::POST,
        "/auth/v1/user/provider/bind",
        &access,
        Some(bind),
    )
    .await
    .assert_ok();
    let listed = emu
        .call(Method::GET, "/auth/v1/user/provider", &access, None)
        .await;
    let github = listed.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "github")
        .unwrap()
        .clone();
    assert_eq!(github["bind"], true);
    assert_eq!(github["provider_user_name"], "octocat");
    assert!(listed.body["total"].is_i64());

    let signed_in = emu
        .post(
            "/auth/v1/signin/with/provider",
            json!({"provider_token": provider_token}),
        )
        .await;
    assert_eq!(signed_in.body["sub"], emu.me(&access).await.body["sub"]);

    emu.call(
        Method::DELETE,
        "/auth/v1/user/provider/github",
        &access,
        None,
    )
    .await
    .assert_ok();
    emu.call(
        Method::DELETE,
        "/auth/v1/user/provider/github",
        &access,
        None,
    )
    .await
    .assert_error(404, "provider_not_found");
    let body = json!({"provider_token": provider_token, "force_disable_sign_up": true});
    emu.post("/auth/v1/signin/with/provider", body)
        .await
        .assert_error(404, "user_not_found");
    emu.post(
        "/auth/v1/signin/with/provider",
        json!({"provider_token": "pt.bogus"}),
    )
    .await
    .assert_error(400, "invalid_grant");
}
