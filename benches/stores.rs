//! The token stores and the shared verdict cache, side by side in one run (features
//! `redis` and `verifier`; starts its own `redis-server` and an in-process emulator):
//!
//! - `store_cycle`: what a store adds to one refresh — take the lock, re-read, write the
//!   new pair, release — for [`MemoryTokenStore`] (no lock), [`FileTokenStore`] (flock,
//!   read, fsync + rename) and [`RedisTokenStore`] (lease script, HMGET, compare-and-set
//!   script, release script) on a local Redis with `appendfsync always` (every write
//!   on disk before the answer, like the file store) and with `everysec` (the usual
//!   setting: up to a second of writes lost in a crash of the Redis host).
//! - `session_refresh`: a whole `Session::refresh` against the emulator with each
//!   store: what a caller waits for.
//! - `verifier_hit`: `verify` of a token seen before by an online verifier with the local
//!   cache only, and with the shared Redis cache behind it. Goal: >= 0.9x the local-only
//!   throughput (a local hit never reaches Redis).
//!
//! Every comparison has an A/A control (memory vs a second memory store; local-only vs a
//! second local-only verifier) that shows the noise. After criterion, interleaved timed
//! loops print the ratios as `RESULT` lines.
//!
//! ```text
//! cargo bench --features redis,verifier --bench stores -- --quick
//! ```

#[path = "../tests/support/redis_server.rs"]
#[allow(dead_code)] // `restart` is for the tests.
mod redis_server;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

use cloudbase_auth::verifier::Verifier;
use cloudbase_auth::{
    AccessToken, Config, FileTokenStore, ManualClock, MemoryTokenStore, RedisTokenStore,
    RefreshToken, Session, StoredSession, TokenStore,
};
use cloudbase_auth_emulator::{
    ClockMode, Emulator, EmulatorConfig, PasswordHashing, RunningEmulator, SeedUser,
};
use criterion::{Criterion, Throughput};
use redis_server::RedisServer;
use tokio::runtime::Runtime;

const PASSWORD: &str = "Bench-pw-1";

/// The stores compared, the baseline first and its A/A twin second.
const STORES: [&str; 5] = ["memory", "memory_aa", "file", "redis", "redis_everysec"];

struct Fixture {
    runtime: Runtime,
    _redis: [RedisServer; 2],
    _dir: tempfile::TempDir,
    world: World,
}

/// What is built inside the runtime.
struct World {
    _emulator: RunningEmulator,
    stores: Vec<Arc<dyn TokenStore>>,
    sessions: Vec<Session>,
    token: String,
    local: Verifier,
    local_aa: Verifier,
    shared: Verifier,
}

/// A store that forwards to a shared one, so a session and the benchmark use the same object.
#[derive(Debug)]
struct Shared(Arc<dyn TokenStore>);

impl TokenStore for Shared {
    fn load(&self) -> cloudbase_auth::StoreFuture<'_, Option<StoredSession>> {
        self.0.load()
    }
    fn save<'a>(&'a self, session: &'a StoredSession) -> cloudbase_auth::StoreFuture<'a, ()> {
        self.0.save(session)
    }
    fn clear(&self) -> cloudbase_auth::StoreFuture<'_, ()> {
        self.0.clear()
    }
    fn lock(&self) -> cloudbase_auth::StoreFuture<'_, Option<cloudbase_auth::StoreLock>> {
        self.0.lock()
    }
}

fn pair() -> StoredSession {
    StoredSession {
        access_token: AccessToken::new(format!("eyJ.{}.sig", "a".repeat(900))),
        refresh_token: Some(RefreshToken::new(
            "m.refresh-token-of-usual-length-0123456789",
        )),
        expires_at: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        scope: Some("user".into()),
        sub: Some("1904665888800550912".into()),
        token_type: Some("Bearer".into()),
    }
}

impl Fixture {
    fn new() -> Fixture {
        let redis = [RedisServer::start(), RedisServer::start_with("everysec")];
        let dir = tempfile::tempdir().expect("a directory");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let world = runtime.block_on(World::new(&redis, &dir));
        Fixture {
            runtime,
            _redis: redis,
            _dir: dir,
            world,
        }
    }
}

impl World {
    async fn new(redis: &[RedisServer; 2], dir: &tempfile::TempDir) -> World {
        {
            let connection = RedisTokenStore::connect(&redis[0].url())
                .await
                .expect("redis");
            let everysec = RedisTokenStore::connect(&redis[1].url())
                .await
                .expect("redis");
            let stores: Vec<Arc<dyn TokenStore>> = vec![
                Arc::new(MemoryTokenStore::default()),
                Arc::new(MemoryTokenStore::default()),
                Arc::new(FileTokenStore::new(dir.path().join("session.json"))),
                Arc::new(RedisTokenStore::new(connection.clone(), "bench")),
                Arc::new(RedisTokenStore::new(everysec, "bench")),
            ];
            let emulator = Emulator::start(EmulatorConfig {
                password_hashing: PasswordHashing::Fast,
                clock: ClockMode::Frozen,
                ..EmulatorConfig::default()
            })
            .await
            .expect("emulator");
            let control = emulator.control();
            control.seed_user(SeedUser {
                username: Some("bench".into()),
                password: Some(PASSWORD.into()),
                ..SeedUser::default()
            });
            let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(control.now()));
            let config = Config::for_base_url(emulator.base_url())
                .with_client_id("demo-env")
                .with_clock(clock);
            let mut sessions = Vec::new();
            for store in &stores {
                let session = Session::new(config.clone().with_token_store(Shared(store.clone())))
                    .expect("session");
                session
                    .sign_in_with_password("bench", PASSWORD)
                    .await
                    .expect("sign-in");
                sessions.push(session);
            }
            let token = sessions[0]
                .access_token()
                .await
                .expect("token")
                .expose_secret()
                .to_string();
            let online = || Verifier::online(config.clone());
            let local = online().build().expect("verifier");
            let local_aa = online().build().expect("verifier");
            let shared = online()
                .with_shared_cache(connection)
                .build()
                .expect("verifier");
            for verifier in [&local, &local_aa, &shared] {
                verifier.verify(&token).await.expect("the token verifies");
            }
            World {
                _emulator: emulator,
                stores,
                sessions,
                token,
                local,
                local_aa,
                shared,
            }
        }
    }
}

/// What a store adds to one refresh: lock, re-read, write, unlock.
async fn store_cycle(store: &dyn TokenStore, pair: &StoredSession) {
    let lock = store.lock().await.expect("lock");
    black_box(store.load().await.expect("load"));
    store.save(pair).await.expect("save");
    drop(lock);
}

fn bench(criterion: &mut Criterion, fixture: &Fixture) {
    let world = &fixture.world;
    let pair = pair();
    let mut group = criterion.benchmark_group("store_cycle");
    group.throughput(Throughput::Elements(1));
    for (name, store) in STORES.iter().zip(&world.stores) {
        group.bench_function(*name, |b| {
            b.to_async(&fixture.runtime)
                .iter(|| store_cycle(store.as_ref(), &pair))
        });
    }
    group.finish();

    let mut group = criterion.benchmark_group("session_refresh");
    group.throughput(Throughput::Elements(1));
    for (name, session) in STORES.iter().zip(&world.sessions) {
        group.bench_function(*name, |b| {
            b.to_async(&fixture.runtime)
                .iter(|| async { session.refresh().await.expect("refresh") })
        });
    }
    group.finish();

    let mut group = criterion.benchmark_group("verifier_hit");
    group.throughput(Throughput::Elements(1));
    for (name, verifier) in world.verifiers() {
        group.bench_function(name, |b| {
            b.to_async(&fixture.runtime)
                .iter(|| verifier.verify(black_box(&world.token)))
        });
    }
    group.finish();
}

impl World {
    fn verifiers(&self) -> [(&'static str, &Verifier); 3] {
        [
            ("local_only", &self.local),
            ("local_only_aa", &self.local_aa),
            ("shared_behind_local", &self.shared),
        ]
    }
}

impl Fixture {
    /// Seconds per call of `call`, over `n` calls in one `block_on`.
    fn time<F: Future<Output = ()>>(&self, n: u32, mut call: impl FnMut() -> F) -> f64 {
        self.runtime.block_on(async {
            let start = Instant::now();
            for _ in 0..n {
                call().await;
            }
            start.elapsed().as_secs_f64() / f64::from(n)
        })
    }
}

/// A labelled timed loop: seconds per call.
type Timer<'a> = (&'static str, Box<dyn Fn() -> f64 + 'a>);

/// Best of 5 interleaved rounds of each candidate (the first is the baseline), printed as
/// time ratios against the baseline.
fn compare(name: &str, goal: &str, candidates: &[Timer<'_>]) {
    let mut best = vec![f64::MAX; candidates.len()];
    for _ in 0..5 {
        for (slot, (_, run)) in best.iter_mut().zip(candidates) {
            *slot = slot.min(run());
        }
    }
    let figures: Vec<String> = candidates
        .iter()
        .zip(&best)
        .map(|((label, _), secs)| {
            format!(
                "{label} {:.2} µs ({:.2}x the time of {})",
                secs * 1e6,
                secs / best[0],
                candidates[0].0
            )
        })
        .collect();
    println!("RESULT {name}: {} ({goal})", figures.join(", "));
}

fn summary(fixture: &Fixture) {
    let world = &fixture.world;
    let pair = pair();
    let pair = &pair;
    let cycles: Vec<Timer<'_>> = STORES
        .iter()
        .zip(&world.stores)
        .map(|(name, store)| -> Timer<'_> {
            (
                name,
                Box::new(move || fixture.time(200, || store_cycle(store.as_ref(), pair))),
            )
        })
        .collect();
    compare("store_cycle", "what a store adds to a refresh", &cycles);

    let refreshes: Vec<Timer<'_>> = STORES
        .iter()
        .zip(&world.sessions)
        .map(|(name, session)| -> Timer<'_> {
            (
                name,
                Box::new(move || {
                    fixture.time(50, || async {
                        session.refresh().await.expect("refresh");
                    })
                }),
            )
        })
        .collect();
    compare(
        "session_refresh",
        "a whole refresh against the emulator",
        &refreshes,
    );

    let hits: Vec<Timer<'_>> = world
        .verifiers()
        .into_iter()
        .map(|(name, verifier)| -> Timer<'_> {
            (
                name,
                Box::new(move || {
                    fixture.time(100_000, || async {
                        let verdict = verifier.verify(black_box(&world.token)).await;
                        assert!(black_box(verdict).is_ok());
                    })
                }),
            )
        })
        .collect();
    compare(
        "verifier_hit",
        "goal: shared_behind_local <= 1.11x the time, i.e. >= 0.9x the throughput",
        &hits,
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
