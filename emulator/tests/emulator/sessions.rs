//! Sign-up, sign-in, anonymous sessions, token claims, refresh rotation, expiry, sign-out,
//! introspection, revocation and client identification.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudbase_auth_emulator::{ClientConfig, EmulatorConfig};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Emu, PASSWORD, reply, test_config};

fn assert_token_response(reply: &crate::common::Reply, scope: &str) {
    reply.assert_ok();
    let body = &reply.body;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 7200);
    assert_eq!(body["scope"], scope);
    assert!(body["groups"].is_array());
    assert_eq!(reply.headers["cache-control"], "no-store");
    assert_eq!(reply.headers["pragma"], "no-cache");
}

#[tokio::test]
async fn sign_up_with_a_code_then_sign_in_every_way() {
    let emu = Emu::start().await;
    let sent = emu.send_code("NOT_USER", "+86 13800000000").await;
    sent.assert_ok();
    assert_eq!(sent.body["is_user"], false);
    assert_eq!(sent.body["expires_in"], 600);

    let code = emu
        .control
        .latest_code_for("+86 13800000000")
        .expect("a code");
    assert_eq!(code.len(), 6);
    let verified = emu
        .post(
            "/auth/v1/verification/verify",
            json!({"verification_id": sent.str("verification_id"), "verification_code": code}),
        )
        .await;
    verified.assert_ok();
    let body = json!({"phone_number": "+86 13800000000", "verification_token": verified.str("verification_token"),
        "username": "alice_01", "password": PASSWORD, "name": "Alice"});
    let signed_up = emu.post("/auth/v1/signup", body).await;
    assert_token_response(&signed_up, "user");
    let sub = signed_up.str("sub");
    assert!(
        sub.len() == 19 && sub.bytes().all(|b| b.is_ascii_digit()),
        "sub {sub}"
    );
    assert!(signed_up.str("refresh_token").starts_with("m."));

    let by_username = emu.sign_in("alice_01", PASSWORD).await;
    assert_token_response(&by_username, "user");
    assert_eq!(by_username.str("sub"), sub);
    let by_phone = emu.sign_in("+86 13800000000", PASSWORD).await;
    assert_eq!(by_phone.str("sub"), sub);

    // Known number now: a USER code signs in by verification token.
    emu.control.advance_clock(Duration::from_secs(60));
    assert_eq!(
        emu.send_code("USER", "+86 13800000000").await.body["is_user"],
        true
    );
    emu.control.advance_clock(Duration::from_secs(60));
    let token = emu.verification_token("USER", "+86 13800000000").await;
    let by_code = emu
        .post("/auth/v1/signin", json!({"verification_token": token}))
        .await;
    assert_eq!(by_code.str("sub"), sub);
    // Verification tokens are single-use.
    emu.post("/auth/v1/signin", json!({"verification_token": token}))
        .await
        .assert_error(400, "invalid_verification_code");

    let profile = emu.me(&by_username.str("access_token")).await;
    profile.assert_ok();
    assert_eq!(profile.body["username"], "alice_01");
    assert_eq!(profile.body["phone_number"], "+86 13800000000");
    assert_eq!(profile.body["has_password"], true);
}

#[tokio::test]
async fn sign_up_refuses_taken_contacts_and_usernames() {
    let emu = Emu::start().await;
    emu.sign_up("+86 13800000000", "alice_01").await.assert_ok();
    emu.control.advance_clock(Duration::from_secs(61));
    let token = emu.verification_token("ANY", "+86 13800000001").await;
    let body = json!({"phone_number": "+86 13800000001", "verification_token": token, "username": "alice_01"});
    emu.post("/auth/v1/signup", body)
        .await
        .assert_error(409, "username_already_exists");
    let body = json!({"email": "x@example.com", "verification_token": token});
    emu.post("/auth/v1/signup", body)
        .await
        .assert_error(400, "invalid_argument");
    let body = json!({"verification_token": token, "password": "short"});
    emu.post("/auth/v1/signup", body)
        .await
        .assert_error(400, "weak_password");
}

#[tokio::test]
async fn anonymous_sign_in_is_one_user_per_device_without_refresh_token() {
    let emu = Emu::start().await;
    let first = emu.post("/auth/v1/signin/anonymously", json!({})).await;
    assert_token_response(&first, "anonymous");
    assert!(first.body.get("refresh_token").is_none(), "{first:?}");
    assert_eq!(first.str("sub").len(), 22);
    let again = emu.post("/auth/v1/signin/anonymously", json!({})).await;
    assert_eq!(again.str("sub"), first.str("sub"));
    let other = reply(
        emu.http
            .post(emu.url("/auth/v1/signin/anonymously"))
            .header("x-device-id", "another-device"),
    )
    .await;
    assert_ne!(other.str("sub"), first.str("sub"));
    reply(emu.http.post(emu.url("/auth/v1/signin/anonymously")))
        .await
        .assert_error(400, "invalid_argument");
    let profile = emu.me(&first.str("access_token")).await;
    assert_eq!(profile.body["internal_user_type"], "anonymousUser");
}

#[tokio::test]
async fn access_tokens_are_rs256_jwts_verifiable_with_the_jwks() {
    let emu = Emu::start().await;
    let session = emu.seeded_session("alice_01").await;
    let token = session.str("access_token");
    let jwks: JwkSet = emu
        .http
        .get(emu.url("/auth/v1/certs"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(&token).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid in JWKS");
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["demo-env"]);
    validation.set_issuer(&["http://demo-env.ap-shanghai.tcb-api.tencentcloudapi.com"]);
    let claims =
        jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap()
            .claims;
    assert_eq!(claims["sub"], session.body["sub"]);
    assert_eq!(claims["project_id"], "demo-env");
    assert_eq!(claims["provider_type"], "username");
    assert_eq!(claims["user_type"], "");
    assert_eq!(claims["scope"], "user");
    assert_eq!(claims["iat"].as_u64().unwrap(), emu.control.now());
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        7200
    );
    assert!(claims["sid"].is_string());
    // The control handle serves the same keys.
    assert_eq!(serde_json::to_value(&jwks).unwrap(), emu.control.jwks());
    let payload = token.split('.').nth(1).unwrap();
    assert!(URL_SAFE_NO_PAD.decode(payload).is_ok());
}

#[tokio::test]
async fn refresh_rotates_and_a_reuse_inside_the_window_returns_the_current_token() {
    let emu = Emu::start().await;
    let r1 = emu.seeded_session("alice_01").await.str("refresh_token");
    let second = emu.refresh(&r1).await;
    assert_token_response(&second, "user");
    let r2 = second.str("refresh_token");
    assert_ne!(r1, r2);

    emu.control.advance_clock(Duration::from_secs(5));
    let reused = emu.refresh(&r1).await;
    reused.assert_ok();
    assert_eq!(
        reused.str("refresh_token"),
        r2,
        "inside the window the current token comes back"
    );
    emu.me(&reused.str("access_token")).await.assert_ok();

    let r3 = emu.refresh(&r2).await.str("refresh_token");
    assert!(r3.starts_with("m.") && r3 != r2);
    let live_access = emu.refresh(&r3).await;
    let r4 = live_access.str("refresh_token");

    emu.control.advance_clock(Duration::from_secs(11));
    emu.refresh(&r1).await.assert_error(400, "invalid_grant");
    // True reuse revoked the whole family, its access tokens included.
    emu.refresh(&r4).await.assert_error(400, "invalid_grant");
    emu.me(&live_access.str("access_token"))
        .await
        .assert_error(401, "unauthenticated");
}

#[tokio::test]
async fn expired_access_tokens_are_rejected_and_introspect_as_empty() {
    let emu = Emu::start().await;
    let session = emu.seeded_session("alice_01").await;
    let access = session.str("access_token");
    let introspected = reply(
        emu.http
            .get(emu.url("/auth/v1/token/introspect"))
            .bearer_auth(&access),
    )
    .await;
    introspected.assert_ok();
    assert_eq!(
        introspected.body,
        json!({"token_type": "Bearer", "client_id": "demo-env", "sub": session.body["sub"], "scope": "user"})
    );

    emu.control.advance_clock(Duration::from_secs(7200));
    let expired = emu.me(&access).await;
    expired.assert_error(401, "unauthenticated");
    assert_eq!(expired.body["error_code"], 16);
    let introspected = reply(
        emu.http
            .get(emu.url("/auth/v1/token/introspect"))
            .bearer_auth(&access),
    )
    .await;
    assert_eq!(introspected.body, json!({}));
    let garbage = reply(
        emu.http
            .get(emu.url("/auth/v1/token/introspect"))
            .query(&[("token", "garbage")]),
    )
    .await;
    assert_eq!(garbage.body, json!({}));

    let refreshed = emu.refresh(&session.str("refresh_token")).await;
    emu.me(&refreshed.str("access_token")).await.assert_ok();
    let by_query = reply(
        emu.http
            .get(emu.url("/auth/v1/token/introspect"))
            .basic_auth("demo-env", Some(""))
            .query(&[("token", refreshed.str("access_token"))]),
    )
    .await;
    assert_eq!(by_query.body["sub"], session.body["sub"]);
}

#[tokio::test]
async fn refresh_tokens_expire_with_the_configured_lifetime() {
    let emu = Emu::start().await;
    emu.control.set_token_lifetimes(60, 120);
    let session = emu.seeded_session("alice_01").await;
    assert_eq!(session.body["expires_in"], 60);
    emu.control.advance_clock(Duration::from_secs(120));
    emu.refresh(&session.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn sign_out_revokes_the_session_even_with_an_expired_access_token() {
    let emu = Emu::start().await;
    let session = emu.seeded_session("alice_01").await;
    let other = emu.sign_in("alice_01", PASSWORD).await;
    emu.control.advance_clock(Duration::from_secs(7201));
    let out = emu
        .call(
            Method::POST,
            "/auth/v1/user/signout",
            &session.str("access_token"),
            Some(json!({"redirect_uri": "https://app/"})),
        )
        .await;
    out.assert_ok();
    assert_eq!(out.body, json!({"redirect_uri": "https://app/"}));
    // Revoked by sign-out: plain invalid_grant, and no collateral damage to other sessions.
    emu.refresh(&session.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");
    emu.refresh(&other.str("refresh_token")).await.assert_ok();
    emu.call(
        Method::POST,
        "/auth/v1/user/signout",
        &session.str("access_token"),
        None,
    )
    .await
    .assert_error(401, "unauthenticated");
}

#[tokio::test]
async fn revoke_accepts_refresh_and_access_tokens_and_unknown_ones() {
    let emu = Emu::start().await;
    let a = emu.seeded_session("alice_01").await;
    emu.post("/auth/v1/revoke", json!({"token": a.str("refresh_token")}))
        .await
        .assert_ok();
    emu.me(&a.str("access_token"))
        .await
        .assert_error(401, "unauthenticated");

    let b = emu.sign_in("alice_01", PASSWORD).await;
    let revoked = emu
        .call(
            Method::POST,
            "/auth/v1/revoke",
            &b.str("access_token"),
            None,
        )
        .await;
    assert_eq!(revoked.body, json!({}));
    emu.refresh(&b.str("refresh_token"))
        .await
        .assert_error(400, "invalid_grant");
    let unknown = emu
        .post("/auth/v1/revoke", json!({"token": "m.unknown"}))
        .await;
    unknown.assert_ok();
    assert_eq!(unknown.body, json!({}));
}

#[tokio::test]
async fn the_token_endpoint_has_a_password_grant_and_rejects_other_grants() {
    let emu = Emu::start().await;
    emu.seed("alice_01");
    let body = json!({"grant_type": "password", "username": "alice_01", "password": PASSWORD});
    assert_token_response(&emu.post("/auth/v1/token", body).await, "user");
    let body = json!({"grant_type": "authorization_code", "code": "x"});
    emu.post("/auth/v1/token", body)
        .await
        .assert_error(400, "invalid_grant");
    let body = json!({"grant_type": "client_credentials"});
    emu.post("/auth/v1/token", body)
        .await
        .assert_error(400, "unsupported_grant_type");
    emu.post("/auth/v1/token", json!({"grant_type": "refresh_token"}))
        .await
        .assert_error(400, "invalid_argument");
    emu.refresh("m.not-a-token")
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn clients_are_identified_by_basic_auth_body_or_query() {
    let config = EmulatorConfig {
        clients: vec![
            ClientConfig {
                client_id: "demo-env".into(),
                client_secret: None,
            },
            ClientConfig {
                client_id: "web".into(),
                client_secret: Some("s3cret".into()),
            },
        ],
        ..test_config()
    };
    let emu = Emu::start_with(config).await;
    emu.seed("alice_01");
    let body = json!({"username": "alice_01", "password": PASSWORD});
    let basic = reply(
        emu.request(Method::POST, "/auth/v1/signin")
            .basic_auth("web", Some("s3cret"))
            .json(&body),
    )
    .await;
    basic.assert_ok();
    let wrong = reply(
        emu.request(Method::POST, "/auth/v1/signin")
            .basic_auth("web", Some("nope"))
            .json(&body),
    )
    .await;
    wrong.assert_error(401, "invalid_client");
    assert!(wrong.headers.contains_key("www-authenticate"));
    let in_body = json!({"username": "alice_01", "password": PASSWORD, "client_id": "web", "client_secret": "s3cret"});
    emu.post("/auth/v1/signin", in_body).await.assert_ok();
    let query_only = reply(
        emu.request(Method::POST, "/auth/v1/signin")
            .query(&[("client_id", "web")])
            .json(&body),
    )
    .await;
    query_only.assert_error(401, "invalid_client");
    let unknown = reply(
        emu.request(Method::POST, "/auth/v1/signin")
            .query(&[("client_id", "ghost")])
            .json(&body),
    )
    .await;
    unknown.assert_error(401, "invalid_client");

    // A refresh token only works for the client it was issued to.
    let refresh = basic.str("refresh_token");
    emu.refresh(&refresh)
        .await
        .assert_error(400, "invalid_grant");
    let sdk_style = json!({"grant_type": "refresh_token", "refresh_token": refresh, "client_id": "web", "client_secret": "s3cret"});
    let refreshed = reply(
        emu.request(Method::POST, "/auth/v1/token")
            .query(&[("client_id", "web")])
            .json(&sdk_style),
    )
    .await;
    refreshed.assert_ok();
    let introspected = reply(
        emu.http
            .get(emu.url("/auth/v1/token/introspect"))
            .bearer_auth(refreshed.str("access_token")),
    )
    .await;
    assert_eq!(introspected.body["client_id"], "web");
    // Bearer operations ignore client identification: the token names its client.
    let me = emu
        .request(Method::GET, "/auth/v1/user/me")
        .query(&[("client_id", "web")])
        .bearer_auth(refreshed.str("access_token"));
    reply(me).await.assert_ok();
}
