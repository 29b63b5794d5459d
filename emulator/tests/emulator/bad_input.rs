//! Bad input, case by named case: malformed and mistyped bodies, missing and extra fields,
//! oversized bodies, wrong content types, bad device ids, expired/revoked/forged/malformed
//! JWTs (bad signature, `alg: none`, HS256 signed with the public key), reused refresh
//! tokens, wrong sudo tokens, brute-force sign-in (captcha, then the hourly lockout) and
//! resends inside 60 s. Every case checks the status and the `error` name (and, through
//! `common::reply`, the body against the spec); a failing run lists the failing cases by
//! name. Each area prints how many cases it ran.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cloudbase_auth_emulator::EmulatorConfig;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use crate::common::{DEVICE, Emu, PASSWORD, Reply, reply, test_config};

/// Runs named cases and collects mismatches instead of stopping at the first.
struct Suite {
    area: &'static str,
    ran: usize,
    failures: Vec<String>,
}

impl Suite {
    fn new(area: &'static str) -> Self {
        Self {
            area,
            ran: 0,
            failures: Vec::new(),
        }
    }

    /// One bad input: expects this status and `error` name, with a description.
    async fn case(
        &mut self,
        name: &str,
        request: RequestBuilder,
        status: u16,
        error: &str,
    ) -> Reply {
        println!("[{}] {name}", self.area);
        let reply = reply(request).await;
        self.ran += 1;
        let matches = reply.status == status
            && reply.body["error"] == error
            && reply.body["error_code"].is_i64()
            && reply.body["error_description"].is_string();
        if !matches {
            self.failures.push(format!(
                "{name}: expected {status} {error}, got {} {}",
                reply.status, reply.body
            ));
        }
        reply
    }

    /// A control in the middle of bad inputs (not counted as one): must succeed.
    async fn ok(&mut self, name: &str, request: RequestBuilder) -> Reply {
        println!("[{}] (control) {name}", self.area);
        let reply = reply(request).await;
        if reply.status != 200 {
            self.failures.push(format!(
                "{name}: expected 200, got {} {}",
                reply.status, reply.body
            ));
        }
        reply
    }

    fn finish(self, at_least: usize) {
        println!("[{}] {} bad inputs", self.area, self.ran);
        assert!(
            self.failures.is_empty(),
            "{} of {} cases failed:\n{}",
            self.failures.len(),
            self.ran,
            self.failures.join("\n")
        );
        assert!(
            self.ran >= at_least,
            "{}: only {} cases",
            self.area,
            self.ran
        );
    }
}

/// A body sent with `Transfer-Encoding: chunked` (no length known up front).
struct Chunked(Vec<Bytes>);

impl http_body::Body for Chunked {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        if self.0.is_empty() {
            Poll::Ready(None)
        } else {
            let chunk = self.0.remove(0);
            Poll::Ready(Some(Ok(http_body::Frame::data(chunk))))
        }
    }
}

fn b64_json(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn decode_part(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// DER length.
fn der_len(len: usize) -> Vec<u8> {
    if len < 0x80 {
        vec![len as u8]
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        let mut out = vec![0x80 | bytes.len() as u8];
        out.extend(bytes);
        out
    }
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(content.len()));
    out.extend_from_slice(content);
    out
}

fn der_uint(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::new();
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(bytes);
    der(0x02, &content)
}

/// The emulator's public key as SubjectPublicKeyInfo DER and PEM, built from its JWKS:
/// what an attacker has, and the classic HS256 "algorithm confusion" secret.
fn public_key(emu: &Emu) -> (Vec<u8>, String) {
    let jwks = emu.control.jwks();
    let key = &jwks["keys"][0];
    let n = URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap();
    let e = URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap();
    let rsa = der(0x30, &[der_uint(&n), der_uint(&e)].concat());
    // rsaEncryption OID 1.2.840.113549.1.1.1, NULL parameters.
    let algorithm = der(
        0x30,
        &[
            &[
                0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
            ][..],
            &[0x05, 0x00],
        ]
        .concat(),
    );
    let bit_string = der(0x03, &[&[0u8][..], &rsa].concat());
    let spki = der(0x30, &[algorithm, bit_string].concat());
    let body = STANDARD.encode(&spki);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    );
    (spki, pem)
}

// ---------------------------------------------------------------- bodies

#[tokio::test]
async fn bad_bodies_and_content_types() {
    let emu = Emu::start_with(EmulatorConfig {
        max_body_bytes: 1024,
        ..test_config()
    })
    .await;
    emu.seed("alice_01");
    let mut s = Suite::new("bodies");
    let signin = || emu.request(Method::POST, "/auth/v1/signin");
    let json_body = |body: &'static str| {
        signin()
            .header("content-type", "application/json")
            .body(body)
    };
    let wrong = || json!({"username": "alice_01", "password": "Wrong-pw-1"});

    s.case(
        "truncated_json",
        json_body("{\"username\":"),
        400,
        "invalid_argument",
    )
    .await;
    s.case(
        "trailing_garbage_after_json",
        json_body("{\"username\":\"alice_01\",\"password\":\"x\"} trailing"),
        400,
        "invalid_argument",
    )
    .await;
    s.case(
        "invalid_utf8",
        signin()
            .header("content-type", "application/json")
            .body(vec![0xff, 0xfe, 0xfd]),
        400,
        "invalid_argument",
    )
    .await;
    s.case(
        "lone_surrogate_escape",
        json_body(r#"{"username":"\ud800","password":"x"}"#),
        400,
        "invalid_argument",
    )
    .await;
    let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
    s.case(
        "nesting_past_the_parser_limit",
        signin()
            .header("content-type", "application/json")
            .body(deep),
        400,
        "invalid_argument",
    )
    .await;
    s.case(
        "json_array_body",
        json_body("[1,2]"),
        400,
        "invalid_argument",
    )
    .await;
    s.case(
        "json_string_body",
        json_body("\"alice_01\""),
        400,
        "invalid_argument",
    )
    .await;
    s.case("json_null_body", json_body("null"), 400, "invalid_argument")
        .await;
    s.case("json_number_body", json_body("42"), 400, "invalid_argument")
        .await;
    s.case(
        "username_of_wrong_type",
        signin().json(&json!({"username": 5, "password": "x"})),
        400,
        "invalid_argument",
    )
    .await;
    s.case(
        "password_of_wrong_type",
        signin().json(&json!({"username": "alice_01", "password": ["x"]})),
        400,
        "invalid_argument",
    )
    .await;
    s.case(
        "password_null",
        signin().json(&json!({"username": "alice_01", "password": null})),
        400,
        "invalid_argument",
    )
    .await;
    s.case(
        "password_missing",
        signin().json(&json!({"username": "alice_01"})),
        400,
        "invalid_argument",
    )
    .await;
    s.case(
        "empty_object",
        signin().json(&json!({})),
        400,
        "invalid_argument",
    )
    .await;
    s.case("empty_body", signin(), 400, "invalid_argument")
        .await;
    s.case(
        "whitespace_body",
        json_body(" \r\n\t "),
        400,
        "invalid_argument",
    )
    .await;
    s.case(
        "extra_fields_are_ignored",
        signin().json(
            &json!({"username": "alice_01", "password": "Wrong-pw-1", "admin": true, "sub": "1"}),
        ),
        400,
        "invalid_password",
    )
    .await;
    s.case(
        "password_and_verification_token_together",
        signin().json(
            &json!({"username": "alice_01", "password": PASSWORD, "verification_token": "vt.x"}),
        ),
        400,
        "invalid_argument",
    )
    .await;
    s.case(
        "oversized_body_with_length",
        signin().json(&json!({"username": "a".repeat(2000), "password": "x"})),
        413,
        "payload_too_large",
    )
    .await;
    let chunks = vec![Bytes::from(vec![b' '; 700]); 3];
    s.case(
        "oversized_body_chunked",
        signin()
            .header("content-type", "application/json")
            .body(reqwest::Body::wrap(Chunked(chunks))),
        413,
        "payload_too_large",
    )
    .await;
    for (name, content_type) in [
        ("content_type_xml", "application/xml"),
        ("content_type_form", "application/x-www-form-urlencoded"),
        ("content_type_multipart", "multipart/form-data; boundary=x"),
        ("content_type_octet_stream", "application/octet-stream"),
        ("content_type_garbage", "???"),
    ] {
        let request = signin()
            .header("content-type", content_type)
            .body(wrong().to_string());
        s.case(name, request, 415, "invalid_argument").await;
    }
    // Labels the emulator accepts as JSON: the body is parsed, the password checked.
    for (name, content_type) in [
        ("text_plain_is_parsed_as_json", "text/plain;charset=UTF-8"),
        ("json_label_in_any_case", "Application/JSON; charset=utf-8"),
        ("json_suffix_type", "application/problem+json"),
    ] {
        let request = signin()
            .header("content-type", content_type)
            .body(wrong().to_string());
        s.case(name, request, 400, "invalid_password").await;
    }
    let token = || emu.request(Method::POST, "/auth/v1/token");
    s.case(
        "grant_type_of_wrong_type",
        token().json(&json!({"grant_type": 1})),
        400,
        "invalid_argument",
    )
    .await;
    s.case(
        "grant_type_missing",
        token().json(&json!({})),
        400,
        "invalid_argument",
    )
    .await;
    let verification = || emu.request(Method::POST, "/auth/v1/verification");
    s.case(
        "verification_target_unknown",
        verification().json(&json!({"target": "SOMEONE", "email": "a@b.c"})),
        400,
        "invalid_argument",
    )
    .await;
    s.case(
        "phone_without_country_code",
        verification().json(&json!({"target": "ANY", "phone_number": "13800000000"})),
        400,
        "invalid_phone_number",
    )
    .await;
    s.case(
        "email_without_domain",
        verification().json(&json!({"target": "ANY", "email": "alice@"})),
        400,
        "invalid_email",
    )
    .await;
    s.case(
        "phone_and_email_together",
        verification()
            .json(&json!({"target": "ANY", "email": "a@b.c", "phone_number": "+86 13800000000"})),
        400,
        "invalid_argument",
    )
    .await;
    s.finish(30);
}

// ---------------------------------------------------------------- device ids

#[tokio::test]
async fn bad_device_ids() {
    let emu = Emu::start().await;
    let mut s = Suite::new("device ids");
    let anonymous = |device: Option<reqwest::header::HeaderValue>| {
        let request = emu.http.post(emu.url("/auth/v1/signin/anonymously"));
        match device {
            Some(device) => request.header("x-device-id", device),
            None => request,
        }
    };
    let value = |bytes: &[u8]| reqwest::header::HeaderValue::from_bytes(bytes).unwrap();
    s.ok(
        "device_id_of_71_characters",
        anonymous(Some(value("d".repeat(71).as_bytes()))),
    )
    .await;
    let cases: [(&str, Option<reqwest::header::HeaderValue>); 6] = [
        (
            "device_id_of_72_characters",
            Some(value("d".repeat(72).as_bytes())),
        ),
        (
            "device_id_of_4096_characters",
            Some(value("d".repeat(4096).as_bytes())),
        ),
        ("device_id_non_ascii_utf8", Some(value("设备-1".as_bytes()))),
        ("device_id_with_a_latin1_byte", Some(value(b"dev\xe9ice"))),
        ("device_id_blank", Some(value(b"   "))),
        ("device_id_missing", None),
    ];
    for (name, device) in cases {
        s.case(name, anonymous(device), 400, "invalid_argument")
            .await;
    }
    // Non-ASCII where it is optional is refused too, not ignored.
    s.case(
        "device_id_non_ascii_on_sign_in",
        emu.http
            .post(emu.url("/auth/v1/signin"))
            .header("x-device-id", value("ü".as_bytes()))
            .json(&json!({"username": "x", "password": "y"})),
        400,
        "invalid_argument",
    )
    .await;
    s.finish(7);
}

// ---------------------------------------------------------------- JWTs

#[tokio::test]
async fn bad_access_tokens() {
    let emu = Emu::start().await;
    let alice = emu.seeded_session("alice_01").await;
    let bob_sub = emu.seed("bob_0001");
    let access = alice.str("access_token");
    let parts: Vec<&str> = access.split('.').collect();
    let (header, payload, signature) = (parts[0], parts[1], parts[2]);
    let mut s = Suite::new("access tokens");
    let me = |token: &str| {
        emu.http
            .get(emu.url("/auth/v1/user/me"))
            .header("authorization", format!("Bearer {token}"))
    };
    s.ok("genuine_token", me(&access)).await;

    let mut claims = decode_part(payload);
    claims["sub"] = json!(bob_sub);
    let forged = format!("{header}.{}.{signature}", b64_json(&claims));
    s.case(
        "forged_payload_other_sub",
        me(&forged),
        401,
        "unauthenticated",
    )
    .await;
    let mut claims = decode_part(payload);
    claims["exp"] = json!(claims["exp"].as_u64().unwrap() + 86_400);
    let extended = format!("{header}.{}.{signature}", b64_json(&claims));
    s.case(
        "forged_payload_later_exp",
        me(&extended),
        401,
        "unauthenticated",
    )
    .await;
    let mut flipped = signature.to_string();
    let last = if flipped.ends_with('A') { "B" } else { "A" };
    flipped.replace_range(flipped.len() - 1.., last);
    s.case(
        "bad_signature",
        me(&format!("{header}.{payload}.{flipped}")),
        401,
        "unauthenticated",
    )
    .await;
    s.case(
        "signature_stripped",
        me(&format!("{header}.{payload}.")),
        401,
        "unauthenticated",
    )
    .await;
    for (name, alg) in [("alg_none", "none"), ("alg_none_capitalised", "None")] {
        let mut h = decode_part(header);
        h["alg"] = json!(alg);
        let token = format!("{}.{payload}.", b64_json(&h));
        s.case(name, me(&token), 401, "unauthenticated").await;
    }
    let (der, pem) = public_key(&emu);
    let claims = decode_part(payload);
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = decode_part(header)["kid"].as_str().map(str::to_owned);
    for (name, secret) in [
        (
            "hs256_signed_with_the_public_key_pem",
            pem.as_bytes().to_vec(),
        ),
        ("hs256_signed_with_the_public_key_der", der),
        (
            "hs256_signed_with_the_jwks",
            emu.control.jwks().to_string().into_bytes(),
        ),
    ] {
        let token =
            jsonwebtoken::encode(&hs_header, &claims, &EncodingKey::from_secret(&secret)).unwrap();
        s.case(name, me(&token), 401, "unauthenticated").await;
    }
    for (name, token) in [
        ("malformed_two_parts", format!("{header}.{payload}")),
        ("malformed_four_parts", format!("{access}.x")),
        ("malformed_not_base64", "!!!.???.***".to_owned()),
        (
            "malformed_not_json",
            format!(
                "{}.{}.x",
                URL_SAFE_NO_PAD.encode("{"),
                URL_SAFE_NO_PAD.encode("[")
            ),
        ),
        ("a_refresh_token_as_bearer", alice.str("refresh_token")),
    ] {
        s.case(name, me(&token), 401, "unauthenticated").await;
    }
    s.case(
        "bearer_without_token",
        emu.http
            .get(emu.url("/auth/v1/user/me"))
            .header("authorization", "Bearer "),
        401,
        "unauthenticated",
    )
    .await;
    s.case(
        "token_under_another_scheme",
        emu.http
            .get(emu.url("/auth/v1/user/me"))
            .header("authorization", format!("Token {access}")),
        401,
        "unauthenticated",
    )
    .await;

    // Revoked: signed out, and revoked through the revoke endpoint.
    let second = emu.sign_in("alice_01", PASSWORD).await.str("access_token");
    emu.call(
        Method::POST,
        "/auth/v1/user/signout",
        &second,
        Some(json!({})),
    )
    .await
    .assert_ok();
    s.case("signed_out_session", me(&second), 401, "unauthenticated")
        .await;
    let third = emu.sign_in("alice_01", PASSWORD).await.str("access_token");
    emu.post("/auth/v1/revoke", json!({"token": third}))
        .await
        .assert_ok();
    s.case("revoked_token", me(&third), 401, "unauthenticated")
        .await;
    // Expired: the emulator's clock moves past `exp`.
    emu.control.advance_clock(Duration::from_secs(7200));
    s.case("expired_token", me(&access), 401, "unauthenticated")
        .await;
    s.finish(18);
}

// ---------------------------------------------------------------- refresh grants

#[tokio::test]
async fn bad_refresh_grants() {
    let emu = Emu::start().await;
    let session = emu.seeded_session("alice_01").await;
    let r1 = session.str("refresh_token");
    let mut s = Suite::new("refresh grants");
    let grant = |body: Value| emu.request(Method::POST, "/auth/v1/token").json(&body);
    let refresh =
        |token: &str| grant(json!({"grant_type": "refresh_token", "refresh_token": token}));

    s.case(
        "unknown_refresh_token",
        refresh("m.not-a-token"),
        400,
        "invalid_grant",
    )
    .await;
    s.case(
        "access_token_as_refresh_token",
        refresh(&session.str("access_token")),
        400,
        "invalid_grant",
    )
    .await;
    s.case(
        "refresh_token_missing",
        grant(json!({"grant_type": "refresh_token"})),
        400,
        "invalid_argument",
    )
    .await;
    s.case("refresh_token_empty", refresh(""), 400, "invalid_argument")
        .await;
    s.case(
        "refresh_token_of_wrong_type",
        grant(json!({"grant_type": "refresh_token", "refresh_token": 7})),
        400,
        "invalid_argument",
    )
    .await;
    s.case(
        "unsupported_grant_type",
        grant(json!({"grant_type": "client_credentials"})),
        400,
        "unsupported_grant_type",
    )
    .await;

    // Rotation, then the spent token again outside the 10 s reuse window.
    let r2 = s.ok("rotation", refresh(&r1)).await.str("refresh_token");
    emu.control.advance_clock(Duration::from_secs(11));
    s.case(
        "reused_outside_the_window",
        refresh(&r1),
        400,
        "invalid_grant",
    )
    .await;
    s.case(
        "family_revoked_after_reuse",
        refresh(&r2),
        400,
        "invalid_grant",
    )
    .await;

    let other = emu.sign_in("alice_01", PASSWORD).await;
    emu.call(
        Method::POST,
        "/auth/v1/user/signout",
        &other.str("access_token"),
        Some(json!({})),
    )
    .await
    .assert_ok();
    s.case(
        "refresh_of_a_signed_out_session",
        refresh(&other.str("refresh_token")),
        400,
        "invalid_grant",
    )
    .await;
    let old = emu.sign_in("alice_01", PASSWORD).await.str("refresh_token");
    emu.control
        .advance_clock(Duration::from_secs(2_592_000 + 1));
    s.case("expired_refresh_token", refresh(&old), 400, "invalid_grant")
        .await;
    s.finish(10);
}

// ---------------------------------------------------------------- sudo

#[tokio::test]
async fn bad_sudo_tokens() {
    let emu = Emu::start().await;
    let alice = emu.seeded_session("alice_01").await.str("access_token");
    let bob = emu.seeded_session("bob_0001").await.str("access_token");
    let mut s = Suite::new("sudo");
    let sudo = |token: &str, body: Value| {
        emu.request(Method::POST, "/auth/v1/user/sudo")
            .bearer_auth(token)
            .json(&body)
    };
    let change = |sudo_token: Value| {
        emu.request(Method::PATCH, "/auth/v1/user/password")
            .bearer_auth(&alice)
            .json(&json!({"sudo_token": sudo_token, "new_password": "Brand-new-pw-1"}))
    };
    s.case(
        "sudo_with_the_wrong_password",
        sudo(&alice, json!({"password": "Wrong-pw-1"})),
        400,
        "invalid_password",
    )
    .await;
    s.case(
        "sudo_without_a_proof",
        sudo(&alice, json!({})),
        400,
        "invalid_argument",
    )
    .await;
    s.case(
        "sudo_with_a_bad_verification_token",
        sudo(&alice, json!({"verification_token": "vt.nope"})),
        400,
        "invalid_verification_code",
    )
    .await;
    s.case(
        "password_change_with_a_made_up_sudo_token",
        change(json!("sudo.made-up")),
        403,
        "permission_denied",
    )
    .await;
    s.case(
        "password_change_without_a_sudo_token",
        change(Value::Null),
        400,
        "invalid_argument",
    )
    .await;
    let bobs = s
        .ok(
            "bob_gets_a_sudo_token",
            sudo(&bob, json!({"password": PASSWORD})),
        )
        .await
        .str("sudo_token");
    s.case(
        "password_change_with_another_users_sudo_token",
        change(json!(bobs)),
        403,
        "permission_denied",
    )
    .await;
    s.case(
        "delete_with_another_users_sudo_token",
        emu.request(
            Method::DELETE,
            &format!("/auth/v1/user/me?sudo_token={bobs}"),
        )
        .bearer_auth(&alice),
        403,
        "permission_denied",
    )
    .await;
    let own = s
        .ok(
            "alice_gets_a_sudo_token",
            sudo(&alice, json!({"password": PASSWORD})),
        )
        .await
        .str("sudo_token");
    emu.control.advance_clock(Duration::from_secs(901));
    // The access token (7200 s) is still valid; the sudo token (900 s) is not.
    s.case(
        "password_change_with_an_expired_sudo_token",
        change(json!(own)),
        403,
        "permission_denied",
    )
    .await;
    s.finish(7);
}

// ---------------------------------------------------------------- brute force

#[tokio::test]
async fn brute_force_sign_in_needs_a_captcha_after_five_failures() {
    let emu = Emu::start().await;
    emu.seed("alice_01");
    let mut s = Suite::new("captcha");
    let sign_in = |login: &str, password: &str| {
        emu.request(Method::POST, "/auth/v1/signin")
            .json(&json!({"username": login, "password": password}))
    };
    for attempt in 1..=5 {
        s.case(
            &format!("wrong_password_attempt_{attempt}"),
            sign_in("alice_01", "Wrong-pw-1"),
            400,
            "invalid_password",
        )
        .await;
    }
    s.case(
        "right_password_after_five_failures_needs_a_captcha",
        sign_in("alice_01", PASSWORD),
        400,
        "captcha_required",
    )
    .await;
    s.case(
        "a_made_up_captcha_token_does_not_count",
        sign_in("alice_01", PASSWORD).header("x-captcha-token", "made-up"),
        400,
        "captcha_required",
    )
    .await;
    for attempt in 1..=5 {
        s.case(
            &format!("unknown_login_attempt_{attempt}"),
            sign_in("nobody_at_all", "Wrong-pw-1"),
            400,
            "invalid_password",
        )
        .await;
    }
    s.case(
        "unknown_logins_are_throttled_alike",
        sign_in("nobody_at_all", "Wrong-pw-1"),
        400,
        "captcha_required",
    )
    .await;
    // Solving a captcha lets one attempt through.
    let image = emu.post("/auth/v1/captcha/data", json!({})).await;
    let challenge = image.str("token");
    let answer = emu
        .control
        .captcha_answers()
        .into_iter()
        .find(|(token, _)| *token == challenge)
        .map(|(_, answer)| answer)
        .unwrap();
    let verified = s
        .ok(
            "captcha_solved",
            emu.request(Method::POST, "/auth/v1/captcha/data/verify")
                .json(&json!({"token": challenge, "key": answer})),
        )
        .await
        .str("captcha_token");
    s.ok(
        "sign_in_with_the_solved_captcha",
        sign_in("alice_01", PASSWORD).header("x-captcha-token", &verified),
    )
    .await;
    s.case(
        "a_captcha_token_is_single_use",
        sign_in("alice_01", "Wrong-pw-1").header("x-captcha-token", &verified),
        400,
        "invalid_password",
    )
    .await;
    s.finish(14);
}

#[tokio::test]
async fn brute_force_sign_in_locks_the_account_after_100_failures_an_hour() {
    // Captchas out of the way, to reach the hourly cap (OWASP ASVS V2.2.1).
    let emu = Emu::start_with(EmulatorConfig {
        captcha_after_failed_sign_ins: u32::MAX,
        ..test_config()
    })
    .await;
    emu.seed("alice_01");
    emu.seed("bob_0001");
    let mut s = Suite::new("lockout");
    let sign_in = |login: &str, password: &str| {
        emu.request(Method::POST, "/auth/v1/signin")
            .json(&json!({"username": login, "password": password}))
    };
    for _ in 0..100 {
        let reply = reply(sign_in("alice_01", "Wrong-pw-1")).await;
        reply.assert_error(400, "invalid_password");
    }
    let locked = s
        .case(
            "the_101st_attempt_is_refused",
            sign_in("alice_01", "Wrong-pw-1"),
            429,
            "rate_limit_exceeded",
        )
        .await;
    let retry: u64 = locked.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "Retry-After {retry}");
    s.case(
        "even_the_right_password_is_refused",
        sign_in("alice_01", PASSWORD),
        429,
        "rate_limit_exceeded",
    )
    .await;
    s.case(
        "the_password_grant_is_locked_too",
        emu.request(Method::POST, "/auth/v1/token")
            .json(&json!({"grant_type": "password", "username": "alice_01", "password": PASSWORD})),
        429,
        "rate_limit_exceeded",
    )
    .await;
    s.ok(
        "other_accounts_are_not_locked",
        sign_in("bob_0001", PASSWORD),
    )
    .await;
    emu.control.advance_clock(Duration::from_secs(3601));
    s.ok(
        "the_lock_lifts_after_an_hour",
        sign_in("alice_01", PASSWORD),
    )
    .await;
    s.finish(3);
}

// ---------------------------------------------------------------- verification codes

#[tokio::test]
async fn bad_verification_codes_and_resends() {
    let emu = Emu::start().await;
    let mut s = Suite::new("verification");
    let send = |email: &str| {
        emu.request(Method::POST, "/auth/v1/verification")
            .json(&json!({"target": "ANY", "email": email}))
    };
    let verify = |id: &str, code: &str| {
        emu.request(Method::POST, "/auth/v1/verification/verify")
            .json(&json!({"verification_id": id, "verification_code": code}))
    };
    let first = s.ok("first_send", send("carol@example.com")).await;
    let id = first.str("verification_id");
    let code = emu.control.latest_code_for("carol@example.com").unwrap();
    let resent = s
        .case(
            "resend_at_once",
            send("carol@example.com"),
            429,
            "rate_limit_exceeded",
        )
        .await;
    assert_eq!(resent.headers["retry-after"], "60");
    emu.control.advance_clock(Duration::from_secs(59));
    let resent = s
        .case(
            "resend_after_59_seconds",
            send("Carol@Example.com"),
            429,
            "rate_limit_exceeded",
        )
        .await;
    assert_eq!(resent.headers["retry-after"], "1");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    s.case(
        "wrong_code",
        verify(&id, wrong),
        400,
        "invalid_verification_code",
    )
    .await;
    s.case(
        "unknown_verification_id",
        verify("vid.unknown", &code),
        400,
        "invalid_verification_code",
    )
    .await;
    s.case(
        "verify_without_fields",
        emu.request(Method::POST, "/auth/v1/verification/verify")
            .json(&json!({})),
        400,
        "invalid_argument",
    )
    .await;
    for attempt in 2..=5 {
        s.case(
            &format!("wrong_code_attempt_{attempt}"),
            verify(&id, wrong),
            400,
            "invalid_verification_code",
        )
        .await;
    }
    s.case(
        "right_code_after_five_wrong_tries",
        verify(&id, &code),
        400,
        "invalid_verification_code",
    )
    .await;

    // A fresh code: used once, then again; and one that expires.
    emu.control.advance_clock(Duration::from_secs(1));
    let second = s
        .ok("send_after_60_seconds", send("carol@example.com"))
        .await;
    let code = emu.control.latest_code_for("carol@example.com").unwrap();
    let token = s
        .ok("right_code", verify(&second.str("verification_id"), &code))
        .await
        .str("verification_token");
    s.case(
        "code_used_twice",
        verify(&second.str("verification_id"), &code),
        400,
        "invalid_verification_code",
    )
    .await;
    let sign_up = || {
        emu.request(Method::POST, "/auth/v1/signup").json(
            &json!({"email": "carol@example.com", "verification_token": token, "username": "carol_01", "password": PASSWORD}),
        )
    };
    s.ok("sign_up", sign_up()).await;
    s.case(
        "verification_token_used_twice",
        sign_up(),
        400,
        "invalid_verification_code",
    )
    .await;
    let third = s.ok("send_to_someone_else", send("dave@example.com")).await;
    let code = emu.control.latest_code_for("dave@example.com").unwrap();
    emu.control.advance_clock(Duration::from_secs(601));
    s.case(
        "expired_code",
        verify(&third.str("verification_id"), &code),
        400,
        "invalid_verification_code",
    )
    .await;
    s.finish(13);
}

// ---------------------------------------------------------------- routes and clients

#[tokio::test]
async fn bad_paths_methods_and_clients() {
    let emu = Emu::start().await;
    let mut s = Suite::new("routes");
    s.case(
        "unknown_path_under_auth_v1",
        emu.request(Method::GET, "/auth/v1/nowhere"),
        404,
        "not_found",
    )
    .await;
    s.case(
        "path_with_encoded_traversal",
        emu.request(Method::GET, "/auth/v1/%2e%2e/emulator/v1/state"),
        404,
        "not_found",
    )
    .await;
    s.case(
        "wrong_method",
        emu.request(Method::PUT, "/auth/v1/signin"),
        405,
        "method_not_allowed",
    )
    .await;
    s.case(
        "unknown_client_id",
        emu.request(Method::POST, "/auth/v1/signin?client_id=someone-else")
            .json(&json!({"username": "a", "password": "b"})),
        401,
        "invalid_client",
    )
    .await;
    s.case(
        "basic_auth_not_base64",
        emu.request(Method::POST, "/auth/v1/signin")
            .header("authorization", "Basic !!!")
            .json(&json!({"username": "a", "password": "b"})),
        401,
        "invalid_client",
    )
    .await;
    s.case(
        "basic_auth_without_a_colon",
        emu.request(Method::POST, "/auth/v1/signin")
            .header(
                "authorization",
                format!("Basic {}", STANDARD.encode("demo-env")),
            )
            .json(&json!({"username": "a", "password": "b"})),
        401,
        "invalid_client",
    )
    .await;
    let _ = DEVICE;
    s.finish(6);
}
