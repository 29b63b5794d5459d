//! Verifier throughput against the bare operation each path wraps, with the same token and
//! the same key, in the same run:
//!
//! - `cached`: `verify` of a token seen before (a cache hit: SHA-256 of the token, a moka
//!   lookup, the `exp` check) vs a bare `HashMap<String, Claims>` lookup by the token.
//!   Goal: at least 1,000,000 verifications/s.
//! - `cold_offline`: offline `verify` with the cache off (header, key lookup, RS256, claims,
//!   `iss`/`aud`/`exp`) vs a bare `jsonwebtoken::decode` into a struct of the same claims
//!   with `iss`/`aud`/`exp` validation. Goal: within 1.2x of the bare decode.
//!
//! One thread (a current-thread runtime). After criterion, an interleaved timed loop prints
//! the ratios as `RESULT` lines.
//!
//! ```text
//! cargo bench --features verifier --bench verifier -- --quick
//! ```

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use cloudbase_auth::Config;
use cloudbase_auth::verifier::{Claims, Verifier};
use criterion::{Criterion, Throughput};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::runtime::Runtime;

const KEY: &str = include_str!("../tests/fixtures/verifier-test-key.pem");
const ISSUER: &str = "http://demo-env.ap-shanghai.tcb-api.tencentcloudapi.com";

/// What a hand-written bare decode would deserialize: the same claims as the verifier's.
#[derive(Deserialize)]
#[allow(dead_code)] // Read by serde only; the fields make the work equal.
struct BareClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: u64,
    iat: u64,
    scope: String,
    project_id: String,
    provider_type: String,
    user_type: String,
    meta: Map<String, Value>,
}

struct Fixture {
    runtime: Runtime,
    token: String,
    cached: Verifier,
    cold: Verifier,
    map: HashMap<String, Claims>,
    key: DecodingKey,
    validation: Validation,
}

impl Fixture {
    fn new() -> Fixture {
        let der = base64::engine::general_purpose::STANDARD
            .decode(
                KEY.lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            )
            .expect("fixture PEM");
        let signing = EncodingKey::from_rsa_der(&der);
        let mut jwk = Jwk::from_encoding_key(&signing, Algorithm::RS256).expect("JWK");
        jwk.common.key_id = Some("bench".into());
        let jwks = json!({ "keys": [jwk] }).to_string();
        let token = mint(&signing);
        let build = |ttl| {
            Verifier::offline(Config::for_base_url("http://127.0.0.1:9").with_client_id("demo-env"))
                .with_jwks_json(jwks.clone())
                .with_max_cache_ttl(ttl)
                .build()
                .expect("verifier")
        };
        let (cached, cold) = (build(Duration::from_secs(60)), build(Duration::ZERO));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let claims = runtime
            .block_on(cached.verify(&token))
            .expect("the token verifies");
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&["demo-env"]);
        validation.set_issuer(&[ISSUER]);
        Fixture {
            map: HashMap::from([(token.clone(), claims)]),
            key: DecodingKey::from_jwk(&jwk).expect("key"),
            runtime,
            token,
            cached,
            cold,
            validation,
        }
    }

    /// The bare lookup, returning the (shared) claims as `verify` does.
    fn cached_claims(&self) -> Option<Claims> {
        self.map.get(black_box(self.token.as_str())).cloned()
    }

    fn bare_decode(&self) -> bool {
        jsonwebtoken::decode::<BareClaims>(&self.token, &self.key, &self.validation).is_ok()
    }
}

/// An emulator-shaped token (reference §4), valid for a day.
fn mint(key: &EncodingKey) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    let claims = json!({
        "iss": ISSUER, "sub": "1904665888800550912", "aud": "demo-env", "exp": now + 86_400,
        "iat": now, "scope": "user sso", "project_id": "demo-env", "provider_type": "email",
        "user_type": "", "meta": {"wxOpenId": "o-123", "wxUnionId": "u-456"},
        "sid": "3f1c0e6a9b2d4c7e8f1a2b3c4d5e6f70", "jti": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
    });
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("bench".into());
    jsonwebtoken::encode(&header, &claims, key).expect("signs")
}

fn bench(criterion: &mut Criterion, fixture: &Fixture) {
    let mut group = criterion.benchmark_group("verifier");
    group.throughput(Throughput::Elements(1));
    group.bench_function("cached/verify", |b| {
        b.to_async(&fixture.runtime)
            .iter(|| fixture.cached.verify(black_box(&fixture.token)))
    });
    group.bench_function("cached/bare_hashmap", |b| {
        b.iter(|| fixture.cached_claims())
    });
    group.bench_function("cold_offline/verify", |b| {
        b.to_async(&fixture.runtime)
            .iter(|| fixture.cold.verify(black_box(&fixture.token)))
    });
    group.bench_function("cold_offline/bare_decode", |b| {
        b.iter(|| fixture.bare_decode())
    });
    group.finish();
}

/// Seconds per call of `verifier.verify(token)`, over `n` calls in one `block_on`.
fn time_verify(fixture: &Fixture, verifier: &Verifier, n: u32) -> f64 {
    fixture.runtime.block_on(async {
        let start = Instant::now();
        for _ in 0..n {
            assert!(black_box(verifier.verify(black_box(&fixture.token)).await).is_ok());
        }
        start.elapsed().as_secs_f64() / f64::from(n)
    })
}

fn time_sync(n: u32, mut call: impl FnMut() -> bool) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        assert!(black_box(call()));
    }
    start.elapsed().as_secs_f64() / f64::from(n)
}

/// Best of 5 interleaved rounds each, so both sides see the same machine state.
fn compare(name: &str, goal: &str, mut ours: impl FnMut() -> f64, mut bare: impl FnMut() -> f64) {
    let (mut best_ours, mut best_bare) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        best_ours = best_ours.min(ours());
        best_bare = best_bare.min(bare());
    }
    println!(
        "RESULT {name}: verifier {:.0}/s, bare {:.0}/s, verifier time / bare time = {:.2} ({goal})",
        1.0 / best_ours,
        1.0 / best_bare,
        best_ours / best_bare,
    );
}

fn summary(fixture: &Fixture) {
    compare(
        "cached",
        "goal: verifier >= 1,000,000/s",
        || time_verify(fixture, &fixture.cached, 200_000),
        || time_sync(200_000, || fixture.cached_claims().is_some()),
    );
    compare(
        "cold_offline",
        "goal: ratio <= 1.2",
        || time_verify(fixture, &fixture.cold, 2_000),
        || time_sync(2_000, || fixture.bare_decode()),
    );
}

fn main() {
    let fixture = Fixture::new();
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion, &fixture);
    criterion.final_summary();
    if std::env::var_os("BENCH_SUMMARY").is_none_or(|v| v != "0") {
        summary(&fixture);
    }
}
