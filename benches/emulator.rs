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
//!
//! Scale (issue #14, group `emulator_scale`): refresh and sign-in latency of an emulator holding
//! `EMULATOR_SCALE_USERS` (default 100,000) users, each with a session and a refresh token,
//! side by side with a fresh emulator and a second fresh one (the A/A control). The summary
//! interleaves the three and prints the ratio of medians, loaded/fresh (goal <= 1.2) and
//! fresh/fresh (the noise floor).

use std::cell::RefCell;
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
                http: keep_alive_client(),
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

/// A client whose idle connections expire before the emulator's idle timeout
/// (`Limits::header_timeout_ms`, 10 s). This runtime is not polled between criterion runs, so
/// the client would not see the emulator close a connection and would send on it.
fn keep_alive_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(Duration::from_secs(5))
        .build()
        .expect("a client")
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

/// One emulator of the scale comparison, driven by one keep-alive client.
struct Scaled {
    emulator: RunningEmulator,
    http: reqwest::Client,
    refresh_token: RefCell<String>,
    /// Unknown logins differ each time: one login would hit the hourly failure cap.
    unknown: std::cell::Cell<u64>,
}

#[derive(Clone, Copy)]
enum ScaleCase {
    Refresh,
    SignIn,
    UnknownLogin,
}

impl ScaleCase {
    const ALL: [ScaleCase; 3] = [
        ScaleCase::Refresh,
        ScaleCase::SignIn,
        ScaleCase::UnknownLogin,
    ];

    fn name(self) -> &'static str {
        match self {
            ScaleCase::Refresh => "refresh",
            ScaleCase::SignIn => "signin",
            ScaleCase::UnknownLogin => "signin_unknown_login",
        }
    }
}

impl Scaled {
    async fn post(&self, path: &str, body: serde_json::Value) -> serde_json::Value {
        let response = self
            .http
            .post(format!("{}{path}", self.emulator.base_url()))
            .header("x-device-id", DEVICE_ID)
            .json(&body)
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    /// One request of `case`; the refresh chain rotates its token each time.
    async fn once(&self, case: ScaleCase) {
        match case {
            ScaleCase::Refresh => {
                let token = self.refresh_token.borrow().clone();
                let body =
                    serde_json::json!({"grant_type": "refresh_token", "refresh_token": token});
                let answer = self.post("/auth/v1/token", body).await;
                let next = answer["refresh_token"].as_str().expect("refreshed");
                *self.refresh_token.borrow_mut() = next.to_owned();
            }
            ScaleCase::SignIn => {
                let body =
                    serde_json::json!({"username": "bench_user", "password": "Bench-pw-2024!"});
                let answer = self.post("/auth/v1/signin", body).await;
                assert!(answer["access_token"].is_string(), "{answer}");
            }
            ScaleCase::UnknownLogin => {
                let n = self.unknown.get() + 1;
                self.unknown.set(n);
                let login = format!("nobody_{n}");
                let body = serde_json::json!({"username": login, "password": "Bench-pw-2024!"});
                let answer = self.post("/auth/v1/signin", body).await;
                assert_eq!(answer["error"], "invalid_password", "{answer}");
            }
        }
    }
}

/// Fresh, loaded and a second fresh emulator (A/A), all with `Fast` hashing (the hash cost
/// is not what scales) and no lockout in the way of the unknown-login case.
struct Scale {
    /// The emulators run on it; dropping it first stops them.
    _server_runtime: Runtime,
    runtime: Runtime,
    fresh: Scaled,
    loaded: Scaled,
    control: Scaled,
}

fn scale_config() -> EmulatorConfig {
    EmulatorConfig {
        password_hashing: PasswordHashing::Fast,
        clock: ClockMode::Frozen,
        captcha_after_failed_sign_ins: u32::MAX,
        ..Default::default()
    }
}

/// `users` copies of a template user, each with a session and a live refresh record.
fn loaded_state(template: &serde_json::Value, users: usize) -> serde_json::Value {
    let state = &template["state"];
    let (_, user) = state["users"]["by_sub"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    let (_, session) = state["sessions"]["by_id"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    let (_, record) = state["sessions"]["refresh"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    let mut by_sub = serde_json::Map::new();
    let mut by_id = serde_json::Map::new();
    let mut refresh = serde_json::Map::new();
    for i in 0..users {
        let sub = format!("{:019}", 1_000_000_000_000_000_000u64 + i as u64);
        let mut user = user.clone();
        user["sub"] = sub.clone().into();
        user["username"] = format!("filler_{i}").into();
        by_sub.insert(sub.clone(), user);
        let sid = format!("filler-session-{i}");
        let mut session = session.clone();
        session["sub"] = sub.into();
        session["live"] = format!("{i:064x}").into();
        by_id.insert(sid.clone(), session);
        let mut record = record.clone();
        record["sid"] = sid.into();
        refresh.insert(format!("{i:064x}"), record);
    }
    let mut document = template.clone();
    document["state"]["users"]["by_sub"] = by_sub.into();
    document["state"]["sessions"]["by_id"] = by_id.into();
    document["state"]["sessions"]["refresh"] = refresh.into();
    document
}

impl Scale {
    fn new(users: usize) -> Scale {
        let server_runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let start = || {
            let emulator = server_runtime
                .block_on(Emulator::start(scale_config()))
                .expect("the emulator starts");
            Scaled {
                emulator,
                http: keep_alive_client(),
                refresh_token: RefCell::new(String::new()),
                unknown: std::cell::Cell::new(0),
            }
        };
        let (fresh, loaded, control) = (start(), start(), start());
        let template = {
            fresh.emulator.control().seed_user(SeedUser {
                username: Some("template".into()),
                password: Some("Bench-pw-2024!".into()),
                ..SeedUser::default()
            });
            runtime.block_on(fresh.post(
                "/auth/v1/signin",
                serde_json::json!({"username": "template", "password": "Bench-pw-2024!"}),
            ));
            fresh.emulator.control().export_state()
        };
        loaded
            .emulator
            .control()
            .import_state(loaded_state(&template, users))
            .expect("the loaded state imports");
        for scaled in [&fresh, &loaded, &control] {
            scaled.emulator.control().seed_user(SeedUser {
                username: Some("bench_user".into()),
                password: Some("Bench-pw-2024!".into()),
                ..SeedUser::default()
            });
            let answer = runtime.block_on(scaled.post(
                "/auth/v1/signin",
                serde_json::json!({"username": "bench_user", "password": "Bench-pw-2024!"}),
            ));
            *scaled.refresh_token.borrow_mut() =
                answer["refresh_token"].as_str().unwrap().to_owned();
        }
        Scale {
            _server_runtime: server_runtime,
            runtime,
            fresh,
            loaded,
            control,
        }
    }

    fn time(&self, scaled: &Scaled, case: ScaleCase, iters: u64) -> Duration {
        self.runtime.block_on(async {
            let started = Instant::now();
            for _ in 0..iters {
                scaled.once(case).await;
            }
            started.elapsed()
        })
    }

    fn named(&self) -> [(&'static str, &Scaled); 3] {
        [
            ("fresh", &self.fresh),
            ("loaded", &self.loaded),
            ("fresh_aa", &self.control),
        ]
    }
}

fn scale_benches(c: &mut Criterion, scale: &Scale, users: usize) {
    let mut group = c.benchmark_group("emulator_scale");
    for case in ScaleCase::ALL {
        for (name, scaled) in scale.named() {
            let id = if name == "loaded" {
                format!("{}/{users}_users", case.name())
            } else {
                format!("{}/{name}", case.name())
            };
            group.bench_function(id, |b| {
                b.iter_custom(|iters| scale.time(scaled, case, iters))
            });
        }
    }
    group.finish();
}

/// Interleaved single requests: the ratio of medians loaded/fresh and fresh/fresh (A/A).
fn scale_summary(scale: &Scale, users: usize) {
    let rounds: usize = std::env::var("EMULATOR_SCALE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    println!("\n== emulator scale summary ({users} users, {rounds} interleaved rounds) ==");
    for case in ScaleCase::ALL {
        let mut samples = [Vec::new(), Vec::new(), Vec::new()];
        for _ in 0..rounds {
            for (i, (_, scaled)) in scale.named().iter().enumerate() {
                samples[i].push(scale.time(scaled, case, 1));
            }
        }
        let [fresh, loaded, control] = samples.map(|mut s| {
            s.sort();
            s[s.len() / 2].as_secs_f64()
        });
        let ratio = loaded / fresh;
        println!(
            "RESULT emulator_scale {} median fresh={:.3} ms loaded={:.3} ms ratio={ratio:.2} ({}) aa_ratio={:.2}",
            case.name(),
            fresh * 1e3,
            loaded * 1e3,
            if ratio <= 1.2 {
                "goal <= 1.2 met"
            } else {
                "goal <= 1.2 MISSED"
            },
            control / fresh,
        );
    }
}

fn main() {
    let test_mode = std::env::args().any(|a| a == "--test" || a == "--list");
    let summary_on = std::env::var("BENCH_SUMMARY").map_or(true, |v| v != "0");
    let mut criterion = Criterion::default().configure_from_args();
    let users: usize = std::env::var("EMULATOR_SCALE_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    {
        let scale = Scale::new(if test_mode { 1000 } else { users });
        scale_benches(&mut criterion, &scale, users);
        if !test_mode && summary_on {
            scale_summary(&scale, users);
        }
    }
    let setup = Setup::new();
    benches(&mut criterion, &setup);
    criterion.final_summary();
    if !test_mode && summary_on {
        summary(&setup);
    }
}
