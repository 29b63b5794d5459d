//! Emulator throughput: `GET /auth/v1/user/me` and `GET /auth/v1/token/introspect`
//! (both verify the RS256 access token) with 1 and 64 concurrent clients.
//!
//! The emulator (`Fast` password hashing, `Frozen` clock, so tokens never expire) runs
//! in-process on its own 2-worker runtime, as the binary's `#[tokio::main]` would on this
//! machine; the load comes from raw `reqwest` clients (keep-alive, one connection each)
//! on a current-thread runtime. Client and emulator share the machine's cores, so the
//! figure is a floor for the emulator alone.
//!
//! criterion reports `thrpt` in elements/s = requests/s. After criterion, a fixed-length
//! run per case prints `RESULT` lines with req/s (`BENCH_SUMMARY=0` skips it).

use std::time::{Duration, Instant};

use cloudbase_auth_emulator::{
    ClockMode, Emulator, EmulatorConfig, PasswordHashing, RunningEmulator, SeedUser,
};
use criterion::{Criterion, Throughput};
use tokio::runtime::Runtime;
use tokio::task::JoinSet;

const DEVICE_ID: &str = "0123456789abcdef0123456789abcdef";
const GOAL_REQ_PER_S: f64 = 10_000.0;

#[derive(Clone, Copy)]
enum Endpoint {
    UserMe,
    Introspect,
}

impl Endpoint {
    fn path(self) -> &'static str {
        match self {
            Endpoint::UserMe => "/auth/v1/user/me",
            Endpoint::Introspect => "/auth/v1/token/introspect",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Endpoint::UserMe => "user_me",
            Endpoint::Introspect => "token_introspect",
        }
    }
}

/// One keep-alive client: its own `reqwest::Client`, so its own connection.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    bearer: String,
    base_url: String,
}

impl Client {
    async fn get(&self, endpoint: Endpoint) {
        let response = self
            .http
            .get(format!("{}{}", self.base_url, endpoint.path()))
            .header("authorization", &self.bearer)
            .header("x-device-id", DEVICE_ID)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        std::hint::black_box(response.bytes().await.unwrap());
    }
}

struct Setup {
    emulator: Option<RunningEmulator>,
    server_runtime: Runtime,
    runtime: Runtime,
    clients: Vec<Client>,
}

impl Setup {
    fn new() -> Setup {
        let server_runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("emulator")
            .enable_all()
            .build()
            .unwrap();
        let emulator = server_runtime
            .block_on(Emulator::start(EmulatorConfig {
                password_hashing: PasswordHashing::Fast,
                clock: ClockMode::Frozen,
                ..Default::default()
            }))
            .expect("the emulator starts");
        emulator.control().seed_user(SeedUser {
            username: Some("bench_user".into()),
            password: Some("Bench-pw-2024!".into()),
            name: Some("Bench".into()),
            ..SeedUser::default()
        });
        let base_url = emulator.base_url();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let access_token = runtime.block_on(sign_in(&base_url));
        let clients = (0..64)
            .map(|_| Client {
                http: reqwest::Client::new(),
                bearer: format!("Bearer {access_token}"),
                base_url: base_url.clone(),
            })
            .collect::<Vec<_>>();
        runtime.block_on(async {
            let check = clients[0]
                .http
                .get(format!("{base_url}/auth/v1/token/introspect"))
                .header("authorization", &clients[0].bearer)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(check.contains("\"sub\""), "token not active: {check}");
            // Open every client's connection.
            for client in &clients {
                client.get(Endpoint::UserMe).await;
            }
        });
        Setup {
            emulator: Some(emulator),
            server_runtime,
            runtime,
            clients,
        }
    }

    /// `requests` requests spread over `concurrency` clients; the elapsed time.
    fn run(&self, endpoint: Endpoint, concurrency: usize, requests: u64) -> Duration {
        self.runtime.block_on(async {
            let started = Instant::now();
            let mut tasks = JoinSet::new();
            for (i, client) in self.clients[..concurrency].iter().enumerate() {
                let share = requests / concurrency as u64
                    + u64::from((i as u64) < requests % concurrency as u64);
                let client = client.clone();
                tasks.spawn(async move {
                    for _ in 0..share {
                        client.get(endpoint).await;
                    }
                });
            }
            tasks.join_all().await;
            started.elapsed()
        })
    }

    /// Requests per second over about `duration`.
    fn rate(&self, endpoint: Endpoint, concurrency: usize, duration: Duration) -> f64 {
        let mut done = 0u64;
        let mut elapsed = Duration::ZERO;
        let batch = 1000;
        while elapsed < duration {
            elapsed += self.run(endpoint, concurrency, batch);
            done += batch;
        }
        done as f64 / elapsed.as_secs_f64()
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if let Some(emulator) = self.emulator.take() {
            self.server_runtime.block_on(emulator.shutdown());
        }
    }
}

async fn sign_in(base_url: &str) -> String {
    let response: serde_json::Value = reqwest::Client::new()
        .post(format!("{base_url}/auth/v1/signin?client_id=demo-env"))
        .header("x-device-id", DEVICE_ID)
        .json(&serde_json::json!({"username": "bench_user", "password": "Bench-pw-2024!"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("sign-in failed: {response}"))
        .to_string()
}

fn benches(c: &mut Criterion, setup: &Setup) {
    let mut group = c.benchmark_group("emulator");
    group.throughput(Throughput::Elements(1));
    for endpoint in [Endpoint::UserMe, Endpoint::Introspect] {
        for concurrency in [1, 64] {
            group.bench_function(format!("{}/clients{concurrency}", endpoint.name()), |b| {
                b.iter_custom(|iters| setup.run(endpoint, concurrency, iters))
            });
        }
    }
    group.finish();
}

fn summary(setup: &Setup) {
    let seconds: f64 = std::env::var("EMULATOR_SUMMARY_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3.0);
    println!("\n== emulator throughput summary ({seconds} s per case) ==");
    for endpoint in [Endpoint::UserMe, Endpoint::Introspect] {
        for concurrency in [1, 64] {
            let rate = setup.rate(endpoint, concurrency, Duration::from_secs_f64(seconds));
            println!(
                "RESULT emulator {} clients={concurrency} req_per_s={rate:.0} ({})",
                endpoint.name(),
                if rate >= GOAL_REQ_PER_S {
                    "goal >= 10000 met"
                } else {
                    "goal >= 10000 MISSED"
                }
            );
        }
    }
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
