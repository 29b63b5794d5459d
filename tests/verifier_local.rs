//! Offline verification with locally minted tokens and a mock JWKS server: key rotation,
//! the refetch rate limit, time and issuer rules, hostile input, and no token in any log.
#![cfg(feature = "verifier")]

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use cloudbase_auth::verifier::{Rejection, Verifier};
use cloudbase_auth::{Config, ManualClock};
use httpmock::{Mock, MockServer};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const ISSUER: &str = "http://demo-env.ap-shanghai.tcb-api.tencentcloudapi.com";
const KEY_A: &str = include_str!("fixtures/verifier-test-key.pem");
const KEY_B: &str = include_str!("fixtures/verifier-other-key.pem");
const START: u64 = 1_700_000_000;

fn encoding_key(pem: &str) -> EncodingKey {
    use base64::Engine as _;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("PEM body");
    EncodingKey::from_rsa_der(&der)
}

fn jwks(keys: &[(&str, &str)]) -> String {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(pem, kid)| {
            let mut jwk =
                Jwk::from_encoding_key(&encoding_key(pem), Algorithm::RS256).expect("jwk");
            jwk.common.key_id = Some((*kid).to_owned());
            serde_json::to_value(jwk).expect("JSON")
        })
        .collect();
    json!({ "keys": keys }).to_string()
}

/// Upstream-shaped claims (reference §4), with `changes` merged in (`null` removes).
fn payload(changes: Value) -> Value {
    let mut payload = json!({
        "iss": ISSUER, "sub": "1234567890123456789", "aud": "demo-env",
        "exp": START + 7200, "iat": START, "scope": "user sso", "project_id": "demo-env",
        "provider_type": "email", "user_type": "", "meta": {"wxOpenId": "o-1"},
    });
    let fields = payload.as_object_mut().expect("an object");
    for (name, value) in changes.as_object().into_iter().flatten() {
        if value.is_null() {
            fields.remove(name);
        } else {
            fields.insert(name.clone(), value.clone());
        }
    }
    payload
}

fn mint(pem: &str, kid: &str, payload: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, payload, &encoding_key(pem)).expect("signs")
}

fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(START))
}

fn config(server: &MockServer) -> Config {
    Config::for_base_url(server.base_url()).with_client_id("demo-env")
}

fn verifier(server: &MockServer, clock: &ManualClock) -> Verifier {
    Verifier::offline(config(server))
        .with_jwks_url(server.url("/jwks"))
        .with_clock(clock.clone())
        .build()
        .expect("verifier")
}

async fn serve_jwks<'a>(server: &'a MockServer, status: u16, body: String) -> Mock<'a> {
    server
        .mock_async(|when, then| {
            when.method("GET").path("/jwks");
            then.status(status).body(body);
        })
        .await
}

#[test]
fn a_verifier_is_cheap_to_share() {
    fn shareable<T: Clone + Send + Sync + 'static>() {}
    shareable::<Verifier>();
    shareable::<cloudbase_auth::verifier::Claims>();
}

#[tokio::test]
async fn unknown_kids_refetch_the_jwks_at_most_once_per_interval() {
    let server = MockServer::start_async().await;
    let clock = clock();
    let first = serve_jwks(&server, 200, jwks(&[(KEY_A, "a")])).await;
    let verifier = verifier(&server, &clock);
    let claims = verifier
        .verify(&mint(KEY_A, "a", &payload(json!({}))))
        .await;
    assert_eq!(
        claims.map(|c| c.meta()["wxOpenId"].clone()),
        Ok(json!("o-1"))
    );
    // Loaded just now: an unknown kid does not refetch yet.
    let early = mint(KEY_A, "made-up", &payload(json!({})));
    assert_eq!(
        verifier.verify(&early).await.err(),
        Some(Rejection::BadSignature)
    );
    assert_eq!(first.calls_async().await, 1);
    clock.advance(Duration::from_secs(30));
    let mut unknown = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (verifier, token) = (
            verifier.clone(),
            mint(KEY_A, &format!("made-up-{i}"), &payload(json!({}))),
        );
        unknown.spawn(async move { verifier.verify(&token).await.err() });
    }
    while let Some(result) = unknown.join_next().await {
        assert_eq!(result.ok().flatten(), Some(Rejection::BadSignature));
    }
    assert_eq!(first.calls_async().await, 2, "20 unknown kids, one refetch");
    // The key is rotated in: its kid is unknown until the refetch interval has passed.
    first.delete_async().await;
    let rotated = serve_jwks(&server, 200, jwks(&[(KEY_A, "a"), (KEY_B, "b")])).await;
    let token_b = mint(KEY_B, "b", &payload(json!({"sub": "other"})));
    assert_eq!(
        verifier.verify(&token_b).await.err(),
        Some(Rejection::BadSignature)
    );
    assert_eq!(rotated.calls_async().await, 0);
    clock.advance(Duration::from_secs(30));
    let claims = verifier
        .verify(&mint(KEY_B, "b", &payload(json!({"sub": "new"}))))
        .await;
    assert_eq!(claims.map(|c| c.sub().to_owned()), Ok("new".to_owned()));
    assert_eq!(rotated.calls_async().await, 1);
}

#[tokio::test]
async fn a_jwks_outage_is_unavailable_and_not_cached() {
    let server = MockServer::start_async().await;
    let clock = clock();
    let down = serve_jwks(&server, 500, "oops".into()).await;
    let verifier = verifier(&server, &clock);
    let token = mint(KEY_A, "a", &payload(json!({})));
    assert_eq!(
        verifier.verify(&token).await.err(),
        Some(Rejection::Unavailable)
    );
    down.delete_async().await;
    serve_jwks(&server, 200, jwks(&[(KEY_A, "a")])).await;
    clock.advance(Duration::from_secs(30));
    assert!(
        verifier.verify(&token).await.is_ok(),
        "recovers after the interval"
    );
}

#[tokio::test]
async fn time_issuer_and_shape_rules() {
    let server = MockServer::start_async().await;
    let pinned = |leeway| {
        Verifier::offline(config(&server))
            .with_jwks_json(jwks(&[(KEY_A, "a")]))
            .with_leeway(Duration::from_secs(leeway))
            .with_clock(clock())
            .build()
            .expect("verifier")
    };
    let cases = [
        (json!({"nbf": START + 31}), Err(Rejection::NotYetValid)),
        (json!({"nbf": START + 30}), Ok(())),
        (json!({"exp": START - 30}), Err(Rejection::Expired)),
        (json!({"exp": START - 29}), Ok(())),
        (
            json!({"iss": "https://demo-env.ap-shanghai.tcb-api.tencentcloudapi.com"}),
            Err(Rejection::WrongIssuer),
        ),
        (json!({"aud": ["x", "demo-env"]}), Ok(())),
        (json!({"aud": "x"}), Err(Rejection::WrongAudience)),
        (json!({"sub": null}), Err(Rejection::Malformed)),
        (json!({"exp": "tomorrow"}), Err(Rejection::Malformed)),
    ];
    let verifier = pinned(30);
    for (changes, expected) in cases {
        let token = mint(KEY_A, "a", &payload(changes.clone()));
        assert_eq!(
            verifier.verify(&token).await.map(|_| ()),
            expected,
            "{changes}"
        );
    }
    let strict = mint(KEY_A, "a", &payload(json!({"exp": START})));
    assert_eq!(
        pinned(0).verify(&strict).await.err(),
        Some(Rejection::Expired)
    );
}

/// Malformed, oversized and mutated tokens, starting with the ones not shaped like a JWT.
fn hostile_inputs(valid: &str) -> (usize, Vec<String>) {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let header = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImEifQ";
    let mut inputs = vec![
        String::new(),
        " ".into(),
        "Bearer x".into(),
        "...".into(),
        "a.b.c".into(),
        "\u{0}.\u{0}.\u{0}".into(),
        format!("{valid}\n"),
        "🦀.🦀.🦀".into(),
        "a".repeat(100_000),
        format!("{valid}="),
        format!("{valid}.x"),
        format!("{header}.{}.x", base64_url(&deep)),
        format!("{header}.{}.x", base64_url("{\"exp\":1e999}")),
    ];
    let not_jwts = inputs.len();
    // Single-character changes of a valid token, at a sample of positions.
    for position in (0..valid.len()).step_by(7) {
        let mut bytes = valid.as_bytes().to_vec();
        bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
        inputs.extend(String::from_utf8(bytes).ok().filter(|t| t != valid));
    }
    (not_jwts, inputs)
}

#[tokio::test]
async fn hostile_input_is_refused_without_panicking() {
    let server = MockServer::start_async().await;
    let introspect = server
        .mock_async(|when, then| {
            when.method("GET").path("/auth/v1/token/introspect");
            then.status(200).body("{}");
        })
        .await;
    let offline = Verifier::offline(config(&server))
        .with_jwks_json(jwks(&[(KEY_A, "a")]))
        .with_clock(clock())
        .build()
        .expect("offline");
    let online = Verifier::online(config(&server))
        .with_clock(clock())
        .build()
        .expect("online");
    let valid = mint(KEY_A, "a", &payload(json!({})));
    let (not_jwts, inputs) = hostile_inputs(&valid);
    for (i, input) in inputs.iter().enumerate() {
        assert!(offline.verify(input).await.is_err(), "accepted {input:.40}");
        assert!(online.verify(input).await.is_err(), "accepted {input:.40}");
        if i + 1 == not_jwts {
            assert_eq!(introspect.calls_async().await, 0, "no call for non-JWTs");
        }
    }
    assert!(offline.verify(&valid).await.is_ok());
}

fn base64_url(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// A log sink for the test's subscriber.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_token_in_logs_debug_or_rejections() {
    let logs = Logs::default();
    let sink = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let server = MockServer::start_async().await;
    serve_jwks(&server, 500, "down".into()).await;
    let token = mint(KEY_A, "a", &payload(json!({})));
    let online =
        Verifier::online(Config::for_base_url("http://127.0.0.1:9").with_client_id("demo-env"))
            .with_clock(clock())
            .build()
            .expect("online");
    let offline = verifier(&server, &clock());
    let outcomes = [online.verify(&token).await, offline.verify(&token).await];
    assert_eq!(
        outcomes.clone().map(|o| o.err()),
        [Some(Rejection::Unavailable); 2]
    );
    let logs = String::from_utf8(logs.0.lock().expect("logs").clone()).expect("UTF-8");
    assert!(
        logs.contains("token introspection failed") && logs.contains("JWKS fetch failed"),
        "{logs}"
    );
    let signature = token.rsplit('.').next().expect("signature");
    let printed = format!("{logs} {online:?} {offline:?} {outcomes:?}");
    assert!(!printed.contains(signature), "{printed}");
}
