//! Layer overhead: a bearer `GET /auth/v1/user/me` through the `Session` versus raw
//! `reqwest` sending the same headers and parsing the same JSON into the same generated
//! type, against the same minimal local server.
//!
//! Three clients, measured side by side in one run:
//! - `raw_reqwest`: `reqwest::Client` built like the crate's default one (timeouts, no
//!   redirects, user agent), `Authorization: Bearer`, `x-device-id`, a fresh 32-hex
//!   `x-request-id`, body parsed into `types::UserProfile`;
//! - `session_me`: `session.me()`;
//! - `session_raw`: `session.raw().get_user_me().send()`.
//!
//! The server (axum, 127.0.0.1:0) answers a fixed JSON body at once, on its own
//! one-thread runtime; the clients run on a current-thread runtime, so on a 2-core
//! machine client and server each get a core. Sequential: one request at a time.
//! Concurrent: 64 tasks, one request each, per iteration.
//!
//! After criterion, an interleaved timed loop prints the ratios the issue asks for
//! (throughput vs raw, p50 latency vs raw) as `RESULT` lines. `BENCH_SUMMARY=0` skips it.
//! `LAYER_PROFILE=session_me` (or another variant) runs only a loop, for a profiler.

use std::hint::black_box;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::header;
use axum::routing::{get, post};
use cloudbase_auth::types::UserProfile;
use cloudbase_auth::{Config, Session};
use criterion::{Criterion, Throughput};
use rand::Rng;
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

const CONCURRENCY: usize = 64;
const ACCESS_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.bench-access-token.signature";
const DEVICE_ID: &str = "0123456789abcdef0123456789abcdef";

const USER_ME: &str = r#"{"sub":"1904665888800550912","name":"Alice","picture":"https://app.example.com/avatars/alice.png","username":"alice_01","email":"alice@example.com","phone_number":"+86 13800000000","providers":[{"id":"github","provider_user_id":"583231","name":"octocat"}],"status":"ACTIVE","gender":"FEMALE","groups":[{"id":"administrator"}]}"#;

const TOKEN: &str = r#"{"token_type":"Bearer","access_token":"eyJhbGciOiJSUzI1NiJ9.bench-access-token.signature","refresh_token":"bench-refresh","expires_in":7200,"scope":"user","sub":"1904665888800550912"}"#;

/// The minimal server: a fixed `user/me` body, and a sign-in that hands out a token.
fn server(runtime: &Runtime) -> SocketAddr {
    const JSON: [(header::HeaderName, &str); 1] = [(header::CONTENT_TYPE, "application/json")];
    let app = Router::new()
        .route("/auth/v1/user/me", get(|| async { (JSON, USER_ME) }))
        .route("/auth/v1/signin", post(|| async { (JSON, TOKEN) }));
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    })
}

fn server_runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bench-server")
        .enable_all()
        .build()
        .unwrap()
}

fn client_runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Raw reqwest, configured like the crate's default client (`Config::http_client`).
#[derive(Clone)]
struct Raw {
    http: reqwest::Client,
    url: String,
    bearer: String,
}

impl Raw {
    fn new(base_url: &str) -> Raw {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("cloudbase-auth-rust/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap();
        Raw {
            http,
            url: format!("{base_url}/auth/v1/user/me"),
            bearer: format!("Bearer {ACCESS_TOKEN}"),
        }
    }

    async fn me(&self) -> UserProfile {
        // A fresh 32-lowercase-hex id, as the crate sends (written the way a hand-written
        // client would: one `format!`).
        let request_id = format!("{:032x}", rand::rng().random::<u128>());
        let response = self
            .http
            .get(&self.url)
            .header(header::AUTHORIZATION, &self.bearer)
            .header("x-device-id", DEVICE_ID)
            .header("x-request-id", request_id)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        response.json::<UserProfile>().await.unwrap()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    RawReqwest,
    /// A second, identical raw client (its own connections): the A/A control that shows
    /// the noise floor of a run.
    RawReqwestAgain,
    SessionMe,
    SessionRaw,
}

const VARIANTS: [Variant; 4] = [
    Variant::RawReqwest,
    Variant::RawReqwestAgain,
    Variant::SessionMe,
    Variant::SessionRaw,
];

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::RawReqwest => "raw_reqwest",
            Variant::RawReqwestAgain => "raw_reqwest_aa",
            Variant::SessionMe => "session_me",
            Variant::SessionRaw => "session_raw",
        }
    }
}

#[derive(Clone)]
struct Clients {
    raw: Raw,
    raw_again: Raw,
    session: Session,
}

impl Clients {
    async fn call(&self, variant: Variant) -> UserProfile {
        match variant {
            Variant::RawReqwest => self.raw.me().await,
            Variant::RawReqwestAgain => self.raw_again.me().await,
            Variant::SessionMe => self.session.me().await.unwrap(),
            Variant::SessionRaw => self
                .session
                .raw()
                .get_user_me()
                .send()
                .await
                .unwrap()
                .into_inner(),
        }
    }

    /// 64 tasks, one request each; returns each request's latency.
    async fn batch(&self, variant: Variant) -> Vec<Duration> {
        let mut tasks = JoinSet::new();
        for _ in 0..CONCURRENCY {
            let clients = self.clone();
            tasks.spawn(async move {
                let started = Instant::now();
                black_box(clients.call(variant).await);
                started.elapsed()
            });
        }
        tasks.join_all().await
    }
}

struct Setup {
    _server_runtime: Runtime,
    runtime: Runtime,
    clients: Clients,
}

fn setup() -> Setup {
    let server_runtime = server_runtime();
    let addr = server(&server_runtime);
    let base_url = format!("http://{addr}");
    let runtime = client_runtime();
    let session = Session::new(
        Config::for_base_url(&base_url)
            .with_client_id("bench-client")
            .with_device_id(DEVICE_ID),
    )
    .unwrap();
    runtime.block_on(async {
        session.sign_in_with_password("alice", "pw").await.unwrap();
    });
    let clients = Clients {
        raw: Raw::new(&base_url),
        raw_again: Raw::new(&base_url),
        session,
    };
    // Same answer through every path; open the 64 connections of each client.
    runtime.block_on(async {
        for variant in VARIANTS {
            assert_eq!(
                clients.call(variant).await.username.as_deref(),
                Some("alice_01")
            );
            clients.batch(variant).await;
        }
    });
    Setup {
        _server_runtime: server_runtime,
        runtime,
        clients,
    }
}

fn benches(c: &mut Criterion, setup: &Setup) {
    let Setup {
        runtime, clients, ..
    } = setup;
    let mut group = c.benchmark_group("layer_sequential");
    group.throughput(Throughput::Elements(1));
    for variant in VARIANTS {
        group.bench_function(variant.name(), |b| {
            b.to_async(runtime).iter(|| clients.call(variant));
        });
    }
    group.finish();

    let mut group = c.benchmark_group("layer_concurrent64");
    group.throughput(Throughput::Elements(CONCURRENCY as u64));
    for variant in VARIANTS {
        group.bench_function(variant.name(), |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let started = Instant::now();
                    for _ in 0..iters {
                        black_box(clients.batch(variant).await);
                    }
                    started.elapsed()
                })
            });
        });
    }
    group.finish();
}

/// Per-variant latencies and busy time, gathered in interleaved rounds so that drift
/// (other processes, CPU frequency) hits every variant alike.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    busy: Duration,
}

impl Tally {
    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.busy.as_secs_f64()
    }

    fn p50(&mut self) -> Duration {
        self.latencies.sort_unstable();
        self.latencies[self.latencies.len() / 2]
    }
}

fn summary(setup: &Setup) {
    let rounds: usize = env_or("LAYER_SUMMARY_ROUNDS", 300);
    let sequential_per_round: usize = 200;
    let batches_per_round: usize = 8;
    let Setup {
        runtime, clients, ..
    } = setup;
    let mut sequential: [Tally; 4] = Default::default();
    let mut concurrent: [Tally; 4] = Default::default();
    runtime.block_on(async {
        for round in 0..rounds {
            for k in 0..VARIANTS.len() {
                // Rotate the order every round.
                let i = (round + k) % VARIANTS.len();
                let variant = VARIANTS[i];
                let started = Instant::now();
                for _ in 0..sequential_per_round {
                    let t = Instant::now();
                    black_box(clients.call(variant).await);
                    sequential[i].latencies.push(t.elapsed());
                }
                sequential[i].busy += started.elapsed();

                let started = Instant::now();
                for _ in 0..batches_per_round {
                    let latencies = clients.batch(variant).await;
                    concurrent[i].latencies.extend(latencies);
                }
                concurrent[i].busy += started.elapsed();
            }
        }
    });
    println!("\n== layer overhead summary ({rounds} interleaved rounds) ==");
    for (mode, tallies) in [
        ("sequential", &mut sequential),
        ("concurrent64", &mut concurrent),
    ] {
        let raw_tp = tallies[0].throughput();
        let raw_p50 = tallies[0].p50();
        for (i, variant) in VARIANTS.iter().enumerate() {
            let tp = tallies[i].throughput();
            let p50 = tallies[i].p50();
            println!(
                "{mode:<13} {:<12} {:>9.0} req/s  p50 {:>7.1} µs",
                variant.name(),
                tp,
                p50.as_secs_f64() * 1e6
            );
            let tp_ratio = tp / raw_tp;
            let p50_ratio = p50.as_secs_f64() / raw_p50.as_secs_f64();
            let verdict = |met: bool| if met { "met" } else { "MISSED" };
            match variant {
                Variant::RawReqwest => {}
                Variant::RawReqwestAgain => println!(
                    "RESULT layer {mode} {} throughput_ratio={tp_ratio:.3} p50_ratio={p50_ratio:.3} (A/A control: raw vs raw, the noise floor)",
                    variant.name(),
                ),
                _ => println!(
                    "RESULT layer {mode} {} throughput_ratio={tp_ratio:.3} (goal >= 0.97 {}) p50_ratio={p50_ratio:.3} (goal <= 1.03 {})",
                    variant.name(),
                    verdict(tp_ratio >= 0.97),
                    verdict(p50_ratio <= 1.03),
                ),
            }
        }
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `LAYER_PROFILE=<variant> LAYER_PROFILE_CALLS=N`: only N sequential calls of one
/// variant, for a profiler (`valgrind --tool=callgrind`, `perf record`); no criterion.
fn profile(variant_name: &str) {
    let calls: usize = env_or("LAYER_PROFILE_CALLS", 2000);
    let variant = VARIANTS
        .into_iter()
        .find(|v| v.name() == variant_name)
        .unwrap_or_else(|| panic!("LAYER_PROFILE: unknown variant {variant_name}"));
    let setup = setup();
    setup.runtime.block_on(async {
        for _ in 0..calls {
            black_box(setup.clients.call(variant).await);
        }
    });
    println!("{calls} sequential calls of {variant_name} done");
}

fn main() {
    if let Ok(variant) = std::env::var("LAYER_PROFILE") {
        return profile(&variant);
    }
    let test_mode = std::env::args().any(|a| a == "--test" || a == "--list");
    let setup = setup();
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion, &setup);
    criterion.final_summary();
    if !test_mode && env_or("BENCH_SUMMARY", 1) != 0 {
        summary(&setup);
    }
}
