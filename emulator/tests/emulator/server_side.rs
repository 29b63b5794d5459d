//! The server side: TC3-HMAC-SHA256 signatures on `token/clientCredential` (checked against the
//! vectors the official npm packages generated, `tests/js-oracle/tc3-vectors.json`) and
//! custom-login tickets (minted here with the dev-only key, and by node-sdk's `createTicket` in
//! `tests/js-oracle/ticket-vectors.json`).

use axum::body::Body;
use axum::http::Request;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cloudbase_auth_emulator::{CloudSecret, CustomLoginPublicKey, Emulator, EmulatorConfig};
use jsonwebtoken::{Algorithm, EncodingKey};
use reqwest::Method;
use serde_json::{Value, json};
use tower::ServiceExt;

use cloudbase_auth_testkit::oracle::{Tc3Vector as Vector, tc3_vectors as vectors};

use crate::common::{DEVICE, Emu, test_config};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/custom-login"
);
const ORACLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/js-oracle");
const CLIENT_CREDENTIAL: &str = "/auth/v1/token/clientCredential";

fn client_credential_vectors() -> Vec<Vector> {
    vectors()
        .into_iter()
        .filter(|v| v.method == "POST" && v.url.ends_with(CLIENT_CREDENTIAL))
        .collect()
}

fn secret_of(vector: &Vector) -> CloudSecret {
    CloudSecret {
        secret_id: vector.secret_id.clone(),
        secret_key: vector.secret_key.clone(),
        session_token: vector.session_token.clone(),
    }
}

/// Sends the vector's request to an in-process emulator whose clock reads `now`; returns the
/// status and body.
async fn send(vector: &Vector, secret: CloudSecret, now: u64) -> (u16, Value) {
    let config = EmulatorConfig {
        cloud_secret: Some(secret),
        ..test_config()
    };
    let (router, control) = Emulator::router(config);
    control.set_clock(now);
    let path = &vector.url[vector.url.find("/auth/").unwrap()..];
    let mut request = Request::builder().method(vector.method.as_str()).uri(path);
    for (name, value) in &vector.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let request = request
        .header("authorization", vector.authorization.as_str())
        .body(Body::from(vector.body.clone().unwrap_or_default()))
        .unwrap();
    let response = router.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn every_oracle_signature_of_the_client_credential_request_is_accepted() {
    let vectors = client_credential_vectors();
    assert!(vectors.len() >= 8, "only {} vectors", vectors.len());
    for vector in &vectors {
        let (status, body) = send(vector, secret_of(vector), vector.timestamp).await;
        assert_eq!(status, 200, "{}: {body}", vector.name);
        assert_eq!(body["expires_in"], 432_000, "{}", vector.name);
    }
}

fn node_sdk_vector() -> Vector {
    vectors()
        .into_iter()
        .find(|v| v.name == "node_sdk_get_client_credential")
        .unwrap()
}

async fn assert_refused(name: &str, vector: &Vector, secret: CloudSecret, now: u64, why: &str) {
    let (status, body) = send(vector, secret, now).await;
    assert_eq!(status, 401, "{name}: {body}");
    assert_eq!(body["error"], "unauthenticated", "{name}: {body}");
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(description.contains(why), "{name}: {description}");
    assert!(
        !description.contains(&vector.secret_key),
        "{name} leaks the key"
    );
    assert!(
        !body.to_string().contains(&vector.secret_key),
        "{name} leaks the key"
    );
}

#[tokio::test]
async fn tampered_or_stale_signatures_are_refused() {
    let good = node_sdk_vector();
    let secret = secret_of(&good);
    let ts = good.timestamp;
    // The good one passes, at the edges of the 5-minute window too.
    assert_eq!(send(&good, secret.clone(), ts + 300).await.0, 200);
    assert_eq!(send(&good, secret.clone(), ts - 300).await.0, 200);

    let mut wrong_signature = good.clone();
    let at = wrong_signature.authorization.find("Signature=").unwrap() + 10;
    let flipped = if &wrong_signature.authorization[at..=at] == "0" {
        "1"
    } else {
        "0"
    };
    wrong_signature
        .authorization
        .replace_range(at..=at, flipped);
    assert_refused(
        "wrong signature",
        &wrong_signature,
        secret.clone(),
        ts,
        "does not match",
    )
    .await;

    let mut wrong_host = good.clone();
    for (name, value) in &mut wrong_host.headers {
        if name.eq_ignore_ascii_case("host") {
            *value = "other-env.api.tcloudbasegateway.com".into();
        }
    }
    assert_refused(
        "wrong host",
        &wrong_host,
        secret.clone(),
        ts,
        "does not match",
    )
    .await;

    let mut wrong_body = good.clone();
    wrong_body.body = Some(r#"{"grant_type":"client_credentials","x":1}"#.into());
    assert_refused(
        "wrong body",
        &wrong_body,
        secret.clone(),
        ts,
        "does not match",
    )
    .await;

    assert_refused("too late", &good, secret.clone(), ts + 301, "5 minutes").await;
    assert_refused("too early", &good, secret.clone(), ts - 301, "5 minutes").await;

    let mut unsigned_content_type = good.clone();
    unsigned_content_type.authorization = good
        .authorization
        .replace("SignedHeaders=content-type;host;", "SignedHeaders=host;");
    assert_refused(
        "content-type unsigned",
        &unsigned_content_type,
        secret.clone(),
        ts,
        "content-type header must be signed",
    )
    .await;
    let mut unsigned_host = good.clone();
    unsigned_host.authorization = good
        .authorization
        .replace("content-type;host;", "content-type;");
    assert_refused(
        "host unsigned",
        &unsigned_host,
        secret.clone(),
        ts,
        "host header must be signed",
    )
    .await;

    let other_key = CloudSecret {
        secret_key: "not-the-key".into(),
        ..secret.clone()
    };
    assert_refused("wrong key", &good, other_key, ts, "does not match").await;
    let other_id = CloudSecret {
        secret_id: "AKIDsomeoneelse".into(),
        ..secret.clone()
    };
    assert_refused("unknown id", &good, other_id, ts, "unknown SecretId").await;
    let needs_token = CloudSecret {
        session_token: Some("sts".into()),
        ..secret.clone()
    };
    assert_refused("missing STS token", &good, needs_token, ts, "session token").await;

    let mut wrong_date = good.clone();
    wrong_date.authorization = good.authorization.replace("/2023-11-14/", "/2023-11-15/");
    assert_refused("scope date", &wrong_date, secret.clone(), ts, "UTC date").await;
}

#[tokio::test]
async fn basic_secret_credentials_are_still_accepted_as_the_docs_allow() {
    let config = EmulatorConfig {
        cloud_secret: Some(CloudSecret {
            secret_id: "AKIDexample".into(),
            secret_key: "secret-key".into(),
            session_token: None,
        }),
        ..test_config()
    };
    let emu = Emu::start_with(config).await;
    let basic = |id: &str, key: &str| {
        emu.request(Method::POST, CLIENT_CREDENTIAL)
            .basic_auth(id, Some(key))
            .json(&json!({"grant_type": "client_credentials"}))
    };
    crate::common::reply(basic("AKIDexample", "secret-key"))
        .await
        .assert_ok();
    crate::common::reply(basic("AKIDexample", "wrong"))
        .await
        .assert_error(401, "unauthenticated");
    let none = emu
        .request(Method::POST, CLIENT_CREDENTIAL)
        .json(&json!({"grant_type": "client_credentials"}));
    crate::common::reply(none)
        .await
        .assert_error(401, "unauthenticated");
}

#[test]
fn the_secret_key_is_not_in_the_configs_debug() {
    let config = EmulatorConfig {
        cloud_secret: Some(CloudSecret {
            secret_id: "AKIDexample".into(),
            secret_key: "very-secret-key".into(),
            session_token: Some("sts-secret".into()),
        }),
        ..test_config()
    };
    let debug = format!("{config:?}");
    assert!(debug.contains("AKIDexample"));
    assert!(
        !debug.contains("very-secret-key") && !debug.contains("sts-secret"),
        "{debug}"
    );
}

// ---- custom-login tickets ----

fn key_file(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap()).unwrap()
}

/// The dev-only key's public half, as the emulator takes it.
pub fn custom_login_key() -> CustomLoginPublicKey {
    CustomLoginPublicKey {
        private_key_id: "dev-only-key-1".into(),
        public_key: std::fs::read_to_string(format!("{FIXTURES}/dev-only-public.pem")).unwrap(),
    }
}

/// A ticket as node-sdk's `createTicket` shapes it, signed with a fixture key file.
pub fn mint_ticket(key_file_name: &str, uid: &str, env: &str, now_ms: u64) -> String {
    let file = key_file(key_file_name);
    let pem = file["private_key"].as_str().unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD.decode(body).unwrap();
    // The forger's key is PKCS#8: its PKCS#1 key sits after a fixed 26-byte header.
    let der = if pem.contains("BEGIN PRIVATE KEY") {
        der[26..].to_vec()
    } else {
        der
    };
    let key = EncodingKey::from_rsa_der(&der);
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let message = format!(
        "{}.{}",
        part(json!({"alg": "RS256", "typ": "JWT"})),
        part(
            json!({"alg": "RS256", "env": env, "iat": now_ms, "exp": now_ms + 600_000, "uid": uid,
                    "refresh": 3_600_000, "expire": now_ms + 604_800_000})
        )
    );
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::RS256).unwrap();
    format!(
        "{}/@@/{message}.{signature}",
        file["private_key_id"].as_str().unwrap()
    )
}

async fn custom_sign_in(emu: &Emu, ticket: &str) -> crate::common::Reply {
    emu.post(
        "/auth/v1/signin/custom",
        json!({"provider_id": "custom", "ticket": ticket}),
    )
    .await
}

#[tokio::test]
async fn without_a_key_custom_login_is_not_enabled() {
    let emu = Emu::start().await;
    let ticket = mint_ticket(
        "dev-only-key.json",
        "user-0001",
        "demo-env",
        emu.control.now() * 1000,
    );
    custom_sign_in(&emu, &ticket)
        .await
        .assert_error(403, "permission_denied");
}

#[tokio::test]
async fn a_signed_ticket_signs_its_uid_in_and_creates_the_user_once() {
    let emu = Emu::start().await;
    // The control API adds the key at run time.
    let added = emu
        .request(Method::PUT, "/emulator/v1/custom-login-keys")
        .json(&json!(custom_login_key()))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 200);
    let now_ms = emu.control.now() * 1000;
    let first = custom_sign_in(
        &emu,
        &mint_ticket("dev-only-key.json", "user-0001", "demo-env", now_ms),
    )
    .await;
    first.assert_ok();
    let again = custom_sign_in(
        &emu,
        &mint_ticket("dev-only-key.json", "user-0001", "demo-env", now_ms),
    )
    .await;
    again.assert_ok();
    assert_eq!(
        first.str("sub"),
        again.str("sub"),
        "the same uid is the same user"
    );
    let other = custom_sign_in(
        &emu,
        &mint_ticket("dev-only-key.json", "user-0002", "demo-env", now_ms),
    )
    .await;
    other.assert_ok();
    assert_ne!(first.str("sub"), other.str("sub"));
}

#[tokio::test]
async fn forged_expired_other_env_and_unknown_key_tickets_are_refused() {
    let config = EmulatorConfig {
        custom_login_keys: vec![custom_login_key()],
        ..test_config()
    };
    let emu = Emu::start_with(config).await;
    let now_ms = emu.control.now() * 1000;
    let forged = mint_ticket("forger-key.json", "user-0001", "demo-env", now_ms);
    custom_sign_in(&emu, &forged)
        .await
        .assert_error(400, "invalid_grant");
    let other_env = mint_ticket("dev-only-key.json", "user-0001", "other-env", now_ms);
    custom_sign_in(&emu, &other_env)
        .await
        .assert_error(400, "invalid_grant");
    let unknown_key = mint_ticket("dev-only-key.json", "user-0001", "demo-env", now_ms).replacen(
        "dev-only-key-1",
        "some-other-key",
        1,
    );
    custom_sign_in(&emu, &unknown_key)
        .await
        .assert_error(400, "invalid_grant");
    let mut tampered = mint_ticket("dev-only-key.json", "user-0001", "demo-env", now_ms);
    tampered.push('A');
    custom_sign_in(&emu, &tampered)
        .await
        .assert_error(400, "invalid_grant");
    custom_sign_in(&emu, "no-separator")
        .await
        .assert_error(400, "invalid_argument");
    // exp is iat + 600 000 ms: valid at +599 s, refused at +600 s.
    let ticket = mint_ticket("dev-only-key.json", "user-0001", "demo-env", now_ms);
    emu.control
        .advance_clock(std::time::Duration::from_secs(599));
    custom_sign_in(&emu, &ticket).await.assert_ok();
    emu.control.advance_clock(std::time::Duration::from_secs(1));
    custom_sign_in(&emu, &ticket)
        .await
        .assert_error(400, "invalid_grant");
}

#[tokio::test]
async fn tickets_minted_by_node_sdk_create_ticket_sign_in() {
    let text = std::fs::read_to_string(format!("{ORACLE}/ticket-vectors.json")).unwrap();
    let table: Value = serde_json::from_str(&text).unwrap();
    let vectors = table["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 5);
    for vector in vectors {
        let config = EmulatorConfig {
            custom_login_keys: vec![custom_login_key()],
            ..test_config()
        };
        let emu = Emu::start_with(config).await;
        emu.control
            .set_clock(vector["now_ms"].as_u64().unwrap() / 1000);
        let reply = custom_sign_in(&emu, vector["ticket"].as_str().unwrap()).await;
        assert_eq!(reply.status, 200, "{}: {reply:?}", vector["name"]);
    }
}

#[test]
fn an_unusable_public_key_is_refused_at_start() {
    let config = EmulatorConfig {
        custom_login_keys: vec![CustomLoginPublicKey {
            private_key_id: "k".into(),
            public_key: "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----".into(),
        }],
        ..test_config()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let error = runtime.block_on(Emulator::start(config)).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("public_key must be an RSA public key"),
        "{error}"
    );
    let _ = DEVICE;
}
