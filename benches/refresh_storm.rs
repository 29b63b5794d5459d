//! Refresh storm: 10,000 concurrent calls on an expired access token share one
//! `POST /auth/v1/token`.
//!
//! A minimal local server (axum, 127.0.0.1:0, its own one-thread runtime) answers
//! `user/me`, sign-in and the token endpoint at once, and counts `POST /auth/v1/token`.
//! The session runs on a `ManualClock` on a current-thread runtime; before each storm the
//! clock moves 7300 s (past the 7200 s token lifetime), so the first caller starts a
//! refresh and every other caller joins it. Every storm is checked to have caused
//! exactly one `POST /auth/v1/token` and no failed call: a correctness guard, it panics
//! otherwise (no timing is asserted).
//!
//! Storms, each timed from the first spawn until the last call completes:
//! - `access_token_x10000_expired`: 10,000 concurrent `session.access_token()`, all
//!   waiting on the same refresh (the single-flight itself: one HTTP request in all);
//! - `access_token_x10000_valid`: the same on a valid token (no refresh): the floor of
//!   spawning and joining 10,000 tasks that each read the token;
//! - `me_x10000_expired`: 10,000 concurrent `session.me()`, at most 512 HTTP requests in
//!   flight (HTTP/1 opens one connection per in-flight request; 10,000 would need 20,000
//!   descriptors in this process and the limit here is 20,000), so one refresh plus
//!   10,000 `GET user/me`;
//! - `me_x10000_valid`: the same 10,000 `me()` on a valid token, to isolate what the
//!   refresh adds to a storm.
//!
//! Baselines: `one_request` (one `session.me()` on a valid token) and `one_refresh`
//! (one explicit `session.refresh()`). The summary after criterion prints the storms
//! relative to one plain request as `RESULT` lines (`BENCH_SUMMARY=0` skips it).

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::http::header;
use axum::routing::{get, post};
use cloudbase_auth::{Config, ManualClock, Session};
use criterion::Criterion;
use tokio::runtime::Runtime;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

const CALLERS: usize = 10_000;
const IN_FLIGHT: usize = 512;
const TOKEN_LIFETIME: u64 = 7200;
const STORMS: [Storm; 4] = [
    Storm::AccessTokenExpired,
    Storm::AccessTokenValid,
    Storm::MeExpired,
    Storm::MeValid,
];

const USER_ME: &str = r#"{"sub":"1904665888800550912","name":"Alice","username":"alice_01","email":"alice@example.com","status":"ACTIVE"}"#;
const TOKEN: &str = r#"{"token_type":"Bearer","access_token":"eyJhbGciOiJSUzI1NiJ9.bench-access-token.signature","refresh_token":"bench-refresh","expires_in":7200,"scope":"user","sub":"1904665888800550912"}"#;
const JSON: [(header::HeaderName, &str); 1] = [(header::CONTENT_TYPE, "application/json")];

/// The minimal server; returns its address and its `POST /auth/v1/token` counter.
fn server(runtime: &Runtime) -> (SocketAddr, Arc<AtomicU64>) {
    let token_calls = Arc::new(AtomicU64::new(0));
    let counter = token_calls.clone();
    let app = Router::new()
        .route("/auth/v1/user/me", get(|| async { (JSON, USER_ME) }))
        .route("/auth/v1/signin", post(|| async { (JSON, TOKEN) }))
        .route(
            "/auth/v1/token",
            post(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { (JSON, TOKEN) }
            }),
        );
    let addr = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        addr
    });
    (addr, token_calls)
}

struct Setup {
    _server_runtime: Runtime,
    runtime: Runtime,
    session: Session,
    clock: ManualClock,
    token_calls: Arc<AtomicU64>,
    in_flight: Arc<Semaphore>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Storm {
    AccessTokenExpired,
    AccessTokenValid,
    MeExpired,
    MeValid,
}

impl Storm {
    fn name(self) -> &'static str {
        match self {
            Storm::AccessTokenExpired => "access_token_x10000_expired",
            Storm::AccessTokenValid => "access_token_x10000_valid",
            Storm::MeExpired => "me_x10000_expired",
            Storm::MeValid => "me_x10000_valid",
        }
    }

    fn expired(self) -> bool {
        matches!(self, Storm::AccessTokenExpired | Storm::MeExpired)
    }
}

impl Setup {
    fn new() -> Setup {
        let server_runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bench-server")
            .enable_all()
            .build()
            .unwrap();
        let (addr, token_calls) = server(&server_runtime);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let clock = ManualClock::new(SystemTime::now());
        let session = Session::new(
            Config::for_base_url(format!("http://{addr}"))
                .with_client_id("bench-client")
                .with_clock(clock.clone())
                .with_refresh_jitter(Duration::ZERO),
        )
        .unwrap();
        runtime.block_on(async {
            session.sign_in_with_password("alice", "pw").await.unwrap();
        });
        let setup = Setup {
            _server_runtime: server_runtime,
            runtime,
            session,
            clock,
            token_calls,
            in_flight: Arc::new(Semaphore::new(IN_FLIGHT)),
        };
        // The correctness guard, once before any timing: each storm on an expired
        // token makes exactly one refresh; on a valid token, none.
        for storm in STORMS {
            setup.storm(storm);
        }
        setup
    }

    /// One storm: prepares the token (untimed), runs 10,000 concurrent calls (timed),
    /// then checks the refresh count (untimed). Panics on a wrong count or a failed call.
    fn storm(&self, storm: Storm) -> Duration {
        if storm.expired() {
            self.clock
                .advance(Duration::from_secs(TOKEN_LIFETIME + 100));
        }
        let before = self.token_calls.load(Ordering::SeqCst);
        let (elapsed, failures) = self.runtime.block_on(async {
            let started = Instant::now();
            let mut tasks = JoinSet::new();
            for _ in 0..CALLERS {
                let session = self.session.clone();
                let in_flight = self.in_flight.clone();
                tasks.spawn(async move {
                    match storm {
                        Storm::AccessTokenExpired | Storm::AccessTokenValid => {
                            session.access_token().await.is_ok()
                        }
                        Storm::MeExpired | Storm::MeValid => {
                            let _permit = in_flight.acquire().await.unwrap();
                            session.me().await.is_ok()
                        }
                    }
                });
            }
            let results = tasks.join_all().await;
            let elapsed = started.elapsed();
            (elapsed, results.iter().filter(|ok| !**ok).count())
        });
        let refreshes = self.token_calls.load(Ordering::SeqCst) - before;
        let expected = u64::from(storm.expired());
        assert_eq!(
            refreshes,
            expected,
            "{}: {CALLERS} concurrent calls caused {refreshes} POST /auth/v1/token, expected {expected}",
            storm.name()
        );
        assert_eq!(failures, 0, "{}: {failures} calls failed", storm.name());
        elapsed
    }

    fn one_request(&self) -> Duration {
        self.runtime.block_on(async {
            let started = Instant::now();
            black_box(self.session.me().await.unwrap());
            started.elapsed()
        })
    }

    fn one_refresh(&self) -> Duration {
        self.runtime.block_on(async {
            let started = Instant::now();
            black_box(self.session.refresh().await.unwrap());
            started.elapsed()
        })
    }
}

fn benches(c: &mut Criterion, setup: &Setup) {
    let mut group = c.benchmark_group("refresh_storm");
    group.bench_function("one_request", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| setup.one_request()).sum())
    });
    group.bench_function("one_refresh", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| setup.one_refresh()).sum())
    });
    group.sample_size(10);
    for storm in STORMS {
        group.bench_function(storm.name(), |b| {
            b.iter_custom(|iters| (0..iters).map(|_| setup.storm(storm)).sum())
        });
    }
    group.finish();
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    values[values.len() / 2]
}

fn summary(setup: &Setup) {
    let rounds: usize = std::env::var("STORM_SUMMARY_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let (mut one, mut refresh) = (Vec::new(), Vec::new());
    let mut storms: [Vec<Duration>; 4] = Default::default();
    for _ in 0..rounds {
        one.extend((0..50).map(|_| setup.one_request()));
        refresh.extend((0..20).map(|_| setup.one_refresh()));
        for (i, storm) in STORMS.iter().enumerate() {
            storms[i].push(setup.storm(*storm));
        }
    }
    let one = median(one);
    let refresh = median(refresh);
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "\n== refresh storm summary ({rounds} rounds, medians; every expired storm made exactly 1 POST /auth/v1/token) =="
    );
    println!("one plain request (me, valid token): {:>10.1} µs", us(one));
    println!(
        "one refresh (session.refresh()):     {:>10.1} µs",
        us(refresh)
    );
    let storms: Vec<Duration> = storms.into_iter().map(median).collect();
    for (storm, time) in STORMS.iter().zip(&storms) {
        println!("{:<28} {:>10.1} µs", storm.name(), us(*time));
    }
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "RESULT refresh_storm access_token_x10000_expired vs_one_request={:.1} vs_one_refresh={:.1} vs_access_token_x10000_valid={:.2} refreshes=1",
        ratio(storms[0], one),
        ratio(storms[0], refresh),
        ratio(storms[0], storms[1]),
    );
    println!(
        "RESULT refresh_storm me_x10000_expired vs_one_request={:.1} vs_me_x10000_valid={:.3} refreshes=1",
        ratio(storms[2], one),
        ratio(storms[2], storms[3]),
    );
}

fn main() {
    let test_mode = std::env::args().any(|a| a == "--test" || a == "--list");
    let setup = Setup::new();
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion, &setup);
    criterion.final_summary();
    let summary_on = std::env::var("BENCH_SUMMARY").map_or(true, |v| v != "0");
    if !test_mode && summary_on {
        summary(&setup);
    }
}
