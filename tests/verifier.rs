//! The token verifier against the emulator: real RS256 tokens, introspection, revocation.
#![cfg(feature = "verifier")]

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudbase_auth::verifier::{Rejection, Verifier};
use cloudbase_auth::{Config, ManualClock, Session};
use cloudbase_auth_emulator::{ClientConfig, ClockMode, Emulator, EmulatorConfig, RunningEmulator};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;

const ACCESS_TTL: u64 = 7200;

async fn emulator() -> RunningEmulator {
    let config = EmulatorConfig {
        clock: ClockMode::Frozen,
        clients: ["demo-env", "other-app"]
            .map(|id| ClientConfig {
                client_id: id.into(),
                client_secret: None,
            })
            .into(),
        ..Default::default()
    };
    Emulator::start(config).await.expect("emulator starts")
}

fn config(emulator: &RunningEmulator) -> Config {
    Config::for_base_url(emulator.base_url()).with_client_id("demo-env")
}

/// A verifier whose clock reads the emulator's (frozen) time.
fn clock_of(emulator: &RunningEmulator) -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(emulator.control().now()))
}

async fn anonymous_token(emulator: &RunningEmulator, client_id: &str) -> (Session, String) {
    let session = Session::new(config(emulator).with_client_id(client_id)).expect("session");
    session
        .sign_in_anonymously()
        .await
        .expect("anonymous sign-in");
    let token = session.access_token().await.expect("token");
    (session, token.expose_secret().to_owned())
}

fn online(emulator: &RunningEmulator) -> Verifier {
    Verifier::online(config(emulator))
        .with_clock(clock_of(emulator))
        .build()
        .expect("online verifier")
}

fn offline(emulator: &RunningEmulator) -> Verifier {
    Verifier::offline(config(emulator))
        .with_clock(clock_of(emulator))
        .build()
        .expect("offline verifier")
}

/// The token's header and payload as JSON, for forging variants of it.
fn parts(token: &str) -> (Value, Value) {
    let mut parts = token.split('.').map(|p| {
        let bytes = URL_SAFE_NO_PAD.decode(p).expect("base64url");
        serde_json::from_slice(&bytes).expect("JSON")
    });
    (
        parts.next().expect("header"),
        parts.next().expect("payload"),
    )
}

fn b64(json: &Value) -> String {
    URL_SAFE_NO_PAD.encode(json.to_string())
}

/// A JWT with this header and payload and an empty signature (`alg: none`).
fn unsigned(header: &Value, payload: &Value) -> String {
    format!("{}.{}.", b64(header), b64(payload))
}

fn pem_der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM body")
}

#[tokio::test]
async fn a_valid_token_gives_its_claims_in_both_modes() {
    let emulator = emulator().await;
    let (session, token) = anonymous_token(&emulator, "demo-env").await;
    for verifier in [online(&emulator), offline(&emulator)] {
        let claims = verifier.verify(&token).await.expect("valid");
        assert_eq!(Some(claims.sub().to_owned()), session.user_id());
        assert!(claims.is_anonymous(), "{claims:?}");
        assert_eq!(claims.audience(), "demo-env");
        assert_eq!(claims.project_id(), Some("demo-env"));
        let lifetime = claims.exp().duration_since(claims.iat().expect("iat"));
        assert_eq!(lifetime.ok(), Some(Duration::from_secs(ACCESS_TTL)));
    }
}

#[tokio::test]
async fn an_expired_token_is_refused_when_both_clocks_move() {
    let emulator = emulator().await;
    let (_, token) = anonymous_token(&emulator, "demo-env").await;
    let clock = clock_of(&emulator);
    let verifiers = [
        Verifier::online(config(&emulator)),
        Verifier::offline(config(&emulator)),
    ]
    .map(|builder| builder.with_clock(clock.clone()).build().expect("verifier"));
    for verifier in &verifiers {
        assert!(verifier.verify(&token).await.is_ok(), "valid at first");
    }
    // Inside the 30 s leeway: still valid, from the cache.
    let skew = Duration::from_secs(ACCESS_TTL + 29);
    emulator.control().advance_clock(skew);
    clock.advance(skew);
    for verifier in &verifiers {
        assert!(verifier.verify(&token).await.is_ok(), "within the leeway");
    }
    emulator.control().advance_clock(Duration::from_secs(2));
    clock.advance(Duration::from_secs(2));
    for verifier in &verifiers {
        assert_eq!(
            verifier.verify(&token).await.err(),
            Some(Rejection::Expired)
        );
    }
}

#[tokio::test]
async fn online_mode_sees_a_revocation_after_the_cache_ttl_offline_never() {
    let emulator = emulator().await;
    let (session, token) = anonymous_token(&emulator, "demo-env").await;
    let ttl = Duration::from_millis(300);
    let online = Verifier::online(config(&emulator))
        .with_max_cache_ttl(ttl)
        .build()
        .expect("verifier");
    let offline = offline(&emulator);
    assert!(online.verify(&token).await.is_ok());
    session.sign_out().await.expect("sign-out");
    assert!(online.verify(&token).await.is_ok(), "still cached");
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert_eq!(online.verify(&token).await.err(), Some(Rejection::Inactive));
    let again = online.verify(&token).await.err();
    assert_eq!(again, Some(Rejection::Inactive), "from the negative cache");
    assert!(
        offline.verify(&token).await.is_ok(),
        "offline cannot see it"
    );
    assert_eq!(emulator.control().request_count("introspect_token"), 2);
}

#[tokio::test]
async fn a_token_signed_by_another_key_is_refused() {
    let emulator = emulator().await;
    let (_, token) = anonymous_token(&emulator, "demo-env").await;
    let (header, payload) = parts(&token);
    let other =
        EncodingKey::from_rsa_der(&pem_der(include_str!("fixtures/verifier-other-key.pem")));
    let mut jwt_header = Header::new(Algorithm::RS256);
    jwt_header.kid = header["kid"].as_str().map(str::to_owned);
    let forged = jsonwebtoken::encode(&jwt_header, &payload, &other).expect("signs");
    assert_eq!(
        offline(&emulator).verify(&forged).await.err(),
        Some(Rejection::BadSignature)
    );
    assert_eq!(
        online(&emulator).verify(&forged).await.err(),
        Some(Rejection::Inactive)
    );
}

#[tokio::test]
async fn alg_none_and_hs256_with_the_public_key_are_refused() {
    let emulator = emulator().await;
    let (_, token) = anonymous_token(&emulator, "demo-env").await;
    let (header, payload) = parts(&token);
    let kid = header["kid"].clone();
    let none = unsigned(&serde_json::json!({"alg": "none", "kid": kid}), &payload);
    let jwks = emulator.control().jwks();
    let modulus = jwks["keys"][0]["n"].as_str().expect("n").to_owned();
    let public_secrets = [
        jwks["keys"][0].to_string().into_bytes(),
        modulus.into_bytes(),
    ];
    let hs256 = public_secrets.map(|secret| {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = kid.as_str().map(str::to_owned);
        let key = EncodingKey::from_secret(&secret);
        jsonwebtoken::encode(&header, &payload, &key).expect("signs")
    });
    let verifier = offline(&emulator);
    for forged in [&none, &hs256[0], &hs256[1]] {
        assert_eq!(
            verifier.verify(forged).await.err(),
            Some(Rejection::BadSignature)
        );
    }
    assert_eq!(
        online(&emulator).verify(&none).await.err(),
        Some(Rejection::Inactive)
    );
}

#[tokio::test]
async fn a_token_of_another_client_is_refused() {
    let emulator = emulator().await;
    let (_, token) = anonymous_token(&emulator, "other-app").await;
    for verifier in [online(&emulator), offline(&emulator)] {
        assert_eq!(
            verifier.verify(&token).await.err(),
            Some(Rejection::WrongAudience)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_concurrent_verifications_cost_one_introspection() {
    let emulator = emulator().await;
    let (_, token) = anonymous_token(&emulator, "demo-env").await;
    let verifier = online(&emulator);
    let token: Arc<str> = token.into();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10_000 {
        let (verifier, token) = (verifier.clone(), token.clone());
        tasks.spawn(async move { verifier.verify(&token).await.map(|c| c.sub().len()) });
    }
    while let Some(result) = tasks.join_next().await {
        assert!(matches!(result, Ok(Ok(_))), "{result:?}");
    }
    assert_eq!(emulator.control().request_count("introspect_token"), 1);
}

#[cfg(feature = "axum")]
mod layer {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use axum::routing::get;
    use cloudbase_auth::verifier::{Claims, VerifyLayer};
    use tower::ServiceExt as _;

    fn app(verifier: Verifier) -> Router {
        Router::new()
            .route(
                "/me",
                get(|claims: Claims| async move { claims.sub().to_owned() }),
            )
            .layer(VerifyLayer::new(verifier))
    }

    async fn call(
        app: &Router,
        authorization: Option<&str>,
    ) -> (StatusCode, String, Option<String>) {
        let mut request = Request::get("/me");
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let response = app
            .clone()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        let status = response.status();
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|v| v.to_str().unwrap_or_default().to_owned());
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        (
            status,
            String::from_utf8_lossy(&body).into_owned(),
            challenge,
        )
    }

    #[tokio::test]
    async fn the_layer_passes_claims_and_answers_refusals_like_upstream() {
        let emulator = emulator().await;
        let (session, token) = anonymous_token(&emulator, "demo-env").await;
        let app = app(online(&emulator));
        let ok = call(&app, Some(&format!("Bearer {token}"))).await;
        assert_eq!((ok.0, Some(ok.1)), (StatusCode::OK, session.user_id()));
        let missing = call(&app, None).await;
        assert_eq!(missing.0, StatusCode::UNAUTHORIZED);
        assert_eq!(missing.2.as_deref(), Some("Bearer"));
        let bad = call(&app, Some("Bearer not.a.jwt")).await;
        let body: Value = serde_json::from_str(&bad.1).expect("JSON body");
        assert_eq!(
            (bad.0, &body["error"], &body["error_code"]),
            (
                StatusCode::UNAUTHORIZED,
                &"unauthenticated".into(),
                &16.into()
            )
        );
        assert!(body["error_description"].is_string());
        assert_eq!(bad.2.as_deref(), Some("Bearer error=\"invalid_token\""));
    }

    #[tokio::test]
    async fn an_unreachable_auth_server_is_a_503_not_a_401() {
        let emulator = emulator().await;
        let (_, token) = anonymous_token(&emulator, "demo-env").await;
        let verifier =
            Verifier::online(Config::for_base_url("http://127.0.0.1:9").with_client_id("demo-env"))
                .with_clock(clock_of(&emulator))
                .build()
                .expect("verifier");
        let (status, body, _) = call(&app(verifier), Some(&format!("Bearer {token}"))).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.contains(r#""error":"unavailable""#), "{body}");
        assert!(!body.contains(&token));
    }
}
