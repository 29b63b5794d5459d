//! The Redis token store and the shared verdict cache against a real `redis-server`
//! (started by each test on a free port, killed when it ends) and the emulator.
//!
//! - 8 processes x 50 sessions share one Redis through repeated expiries: exactly one
//!   refresh grant per session per expiry, no `invalid_grant`, every process ends on the
//!   stored pair.
//! - The lease holder is killed with SIGKILL mid-refresh: another process gets the lease
//!   once it expires and completes the refresh.
//! - Redis is killed and restarted mid-run: sessions keep working from memory while it is
//!   down (a typed `Store` error once the token has expired), and none is lost.
//! - Compare-and-set: a write from a lost lease or after a sign-out never replaces what
//!   is stored.
//! - 4 verifier replicas sharing the cache introspect each token once (4 times without).
//!
//! The child processes are this test binary run again with environment variables set:
//! the `child_*` tests are `#[ignore]`d and do nothing unless started that way.
#![cfg(all(feature = "redis", feature = "verifier"))]

mod support;

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant, UNIX_EPOCH};

use cloudbase_auth::redis::aio::ConnectionManager;
use cloudbase_auth::verifier::{Rejection, Verifier};
use cloudbase_auth::{
    AccessToken, Config, Error, ManualClock, RedisTokenStore, RefreshToken, SignInReason,
    StoreError, StoredSession, TokenStore,
};
use cloudbase_auth_emulator::SeedUser;
use cloudbase_auth_testkit::child::this_test_binary;
use support::redis_server::RedisServer;
use support::world::{PASSWORD, World};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

const PROCESSES: usize = 8;
const SESSIONS: usize = 50;
const ROUNDS: usize = 3;
/// Past the access token's 7200 s and the server's 10 s reuse window.
const EXPIRY_STEP: u64 = 7200 + 65;

const ENV_REDIS: &str = "CLOUDBASE_AUTH_TEST_REDIS_URL";
const ENV_AUTH: &str = "CLOUDBASE_AUTH_TEST_AUTH_URL";
const ENV_NOW: &str = "CLOUDBASE_AUTH_TEST_NOW";

fn user(i: usize) -> String {
    format!("user{i}")
}

fn store(redis: &ConnectionManager, i: usize) -> RedisTokenStore {
    RedisTokenStore::new(redis.clone(), format!("session-{i}"))
}

fn config(auth_url: &str, clock: &ManualClock) -> Config {
    Config::for_base_url(auth_url)
        .with_client_id("demo-env")
        .with_clock(clock.clone())
        .with_refresh_jitter(Duration::ZERO)
        .with_retry_policy(support::world::fast_retries())
}

async fn connect(url: &str) -> ConnectionManager {
    RedisTokenStore::connect(url).await.expect("a Redis client")
}

/// Waits until Redis answers through `redis` (after a restart the manager reconnects on
/// the first failed command).
async fn until_answering(redis: &ConnectionManager) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut connection = redis.clone();
        let pong: Result<String, _> = cloudbase_auth::redis::cmd("PING")
            .query_async(&mut connection)
            .await;
        if pong.is_ok() {
            return;
        }
        assert!(Instant::now() < deadline, "Redis does not answer");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Seeds `user0..` and signs each in once, saving its pair in Redis.
async fn sign_in_all(world: &World, redis: &ConnectionManager, sessions: usize) {
    for i in 0..sessions {
        world.control.seed_user(SeedUser {
            username: Some(user(i)),
            password: Some(PASSWORD.into()),
            ..SeedUser::default()
        });
        let session = world.session_with(|c| c.with_token_store(store(redis, i)));
        session
            .sign_in_with_password(&user(i), PASSWORD)
            .await
            .expect("sign-in");
    }
}

fn refresh_of(session: &cloudbase_auth::Session) -> String {
    session
        .refresh_token()
        .map(|t| t.expose_secret().to_string())
        .expect("a refresh token")
}

/// A digest of the refresh tokens, so processes can compare pairs without printing them.
fn digest<'a>(tokens: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut hasher = DefaultHasher::new();
    for token in tokens {
        token.hash(&mut hasher);
    }
    hasher.finish()
}

// ---------------------------------------------------------------- child processes

/// What follows `marker` on the first line holding it (the harness prints on that line too).
async fn after(lines: &mut Lines<BufReader<ChildStdout>>, marker: &str) -> String {
    let read = async {
        while let Some(line) = lines.next_line().await.expect("child stdout") {
            if let Some((_, rest)) = line.split_once(marker) {
                return Some(rest.trim().to_string());
            }
        }
        None
    };
    // A guard against a hung child, not a wait for a condition.
    match tokio::time::timeout(Duration::from_secs(120), read).await {
        Ok(Some(rest)) => rest,
        Ok(None) => panic!("the child exited before printing `{marker}`"),
        Err(_) => panic!("the child printed no `{marker}` within 120 s"),
    }
}

fn child_env() -> Option<(String, String, ManualClock)> {
    let redis = std::env::var(ENV_REDIS).ok()?;
    let auth = std::env::var(ENV_AUTH).ok()?;
    let now: u64 = std::env::var(ENV_NOW).ok()?.parse().ok()?;
    Some((
        redis,
        auth,
        ManualClock::new(UNIX_EPOCH + Duration::from_secs(now)),
    ))
}

fn child_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Child: restores the 50 shared sessions; on each `advance <secs>` line moves its clock
/// and calls `me` on all of them at once (each refreshes or adopts), then reports
/// `@@round ok=<n> invalid_grant=<n> other=<n> digest=<refresh tokens' digest>`.
#[test]
#[ignore = "child process of eight_processes_share_fifty_sessions_with_one_grant_per_expiry"]
fn child_sessions() {
    let Some((redis_url, auth_url, clock)) = child_env() else {
        return;
    };
    child_runtime().block_on(async {
        let redis = connect(&redis_url).await;
        let mut sessions = Vec::new();
        for i in 0..SESSIONS {
            let config = config(&auth_url, &clock).with_token_store(store(&redis, i));
            let session = cloudbase_auth::Session::new(config).unwrap();
            assert!(session.restore().await.unwrap(), "session {i} restored");
            sessions.push(session);
        }
        println!("\n@@ready");
        let mut stdin = BufReader::new(tokio::io::stdin()).lines();
        while let Some(line) = stdin.next_line().await.unwrap() {
            let Some(secs) = line.strip_prefix("advance ") else {
                break;
            };
            clock.advance(Duration::from_secs(secs.parse().unwrap()));
            let mut calls = tokio::task::JoinSet::new();
            for session in &sessions {
                let session = session.clone();
                calls.spawn(async move { session.me().await.map(|_| ()) });
            }
            let (mut ok, mut rejected, mut other) = (0, 0, 0);
            while let Some(result) = calls.join_next().await {
                match result.unwrap() {
                    Ok(()) => ok += 1,
                    Err(Error::SignInRequired {
                        reason: SignInReason::RefreshRejected,
                        ..
                    }) => rejected += 1,
                    Err(error) => {
                        eprintln!("child: {error}");
                        other += 1;
                    }
                }
            }
            let tokens: Vec<String> = sessions.iter().map(refresh_of).collect();
            let digest = digest(tokens.iter().map(String::as_str));
            println!("\n@@round ok={ok} invalid_grant={rejected} other={other} digest={digest}");
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_processes_share_fifty_sessions_with_one_grant_per_expiry() {
    let server = RedisServer::start();
    let world = World::start().await;
    let redis = connect(&server.url()).await;
    sign_in_all(&world, &redis, SESSIONS).await;

    let now = world.control.now();
    let mut children = Vec::new();
    for _ in 0..PROCESSES {
        let mut child = this_test_binary("child_sessions")
            .env(ENV_REDIS, server.url())
            .env(ENV_AUTH, world.emulator.base_url())
            .env(ENV_NOW, now.to_string())
            .spawn()
            .expect("spawn a child");
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        children.push((child, lines));
    }
    for (_, lines) in &mut children {
        after(lines, "@@ready").await;
    }

    for round in 1..=ROUNDS {
        world.advance(EXPIRY_STEP);
        for (child, _) in &mut children {
            let stdin = child.stdin.as_mut().unwrap();
            stdin
                .write_all(format!("advance {EXPIRY_STEP}\n").as_bytes())
                .await
                .unwrap();
            stdin.flush().await.unwrap();
        }
        let mut reports = Vec::new();
        for (_, lines) in &mut children {
            reports.push(after(lines, "@@round ").await);
        }
        let grants = world.control.request_count("grant_token");
        println!("round {round}: {grants} grants in total; reports {reports:?}");
        for report in &reports {
            let (counts, _) = report.split_once(" digest=").unwrap();
            assert_eq!(
                counts,
                format!("ok={SESSIONS} invalid_grant=0 other=0"),
                "round {round}"
            );
        }
        assert_eq!(
            grants,
            (SESSIONS * round) as u64,
            "exactly one refresh grant per session per expiry"
        );
        let stored = stored_digest(&redis).await;
        for report in &reports {
            assert_eq!(
                report.split_once(" digest=").unwrap().1,
                stored.to_string(),
                "round {round}: every process holds the stored pairs"
            );
        }
    }
    for (mut child, _) in children {
        drop(child.stdin.take());
        assert!(child.wait().await.unwrap().success());
    }
}

async fn stored_digest(redis: &ConnectionManager) -> u64 {
    let mut tokens = Vec::new();
    for i in 0..SESSIONS {
        let stored = store(redis, i).load().await.unwrap().expect("stored");
        tokens.push(stored.refresh_token.unwrap().expose_secret().to_string());
    }
    digest(tokens.iter().map(String::as_str))
}

// ---------------------------------------------------------------- the holder dies

const LEASE: Duration = Duration::from_secs(2);

/// Child: restores the session and refreshes it against an auth server that never
/// answers, so it holds the lease (renewing it) until it is killed.
#[test]
#[ignore = "child process of a_lease_holder_killed_mid_refresh_hands_over_when_the_lease_expires"]
fn child_holder() {
    let Some((redis_url, auth_url, clock)) = child_env() else {
        return;
    };
    child_runtime().block_on(async {
        let redis = connect(&redis_url).await;
        let config = config(&auth_url, &clock)
            .with_refresh_timeout(Duration::from_secs(600))
            .with_token_store(store(&redis, 0).with_lease(LEASE));
        let session = cloudbase_auth::Session::new(config).unwrap();
        assert!(session.restore().await.unwrap());
        println!("\n@@ready");
        let _ = session.me().await;
        println!("\n@@finished (should have been killed)");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_holder_killed_mid_refresh_hands_over_when_the_lease_expires() {
    let server = RedisServer::start();
    let world = World::start().await;
    let redis = connect(&server.url()).await;
    sign_in_all(&world, &redis, 1).await;
    world.advance(EXPIRY_STEP);

    // An auth server that accepts connections and never answers.
    let black_hole = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let black_hole_url = format!("http://{}", black_hole.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = black_hole.accept().await {
            open.push(socket);
        }
    });

    let mut child: Child = this_test_binary("child_holder")
        .env(ENV_REDIS, server.url())
        .env(ENV_AUTH, &black_hole_url)
        .env(ENV_NOW, world.control.now().to_string())
        .spawn()
        .expect("spawn the holder");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    after(&mut lines, "@@ready").await;
    let lease_key = "cloudbase-auth:{session-0}:lease";
    let holder_fence = wait_for_key(&redis, lease_key).await;

    child.start_kill().expect("SIGKILL");
    assert!(
        !child.wait().await.unwrap().success(),
        "killed, not finished"
    );
    let killed = Instant::now();

    // Another process: this one. It waits at most one lease for the lock (its lock
    // timeout), so succeeding proves the hand-over happened within the lease.
    let survivor = world.session_with(|c| {
        c.with_token_store(store(&redis, 0).with_lease(LEASE).with_lock_timeout(LEASE))
    });
    assert!(survivor.restore().await.unwrap());
    survivor
        .me()
        .await
        .expect("the survivor refreshes once the dead holder's lease expires");
    println!(
        "holder killed; the survivor completed {:?} later (lease {LEASE:?})",
        killed.elapsed()
    );
    assert_eq!(world.control.request_count("grant_token"), 1);
    let mut connection = redis.clone();
    let stored_fence: u64 = cloudbase_auth::redis::cmd("HGET")
        .arg("cloudbase-auth:{session-0}:session")
        .arg("fence")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(
        stored_fence > holder_fence,
        "written under a later lease than the dead holder's"
    );
    held.abort();
}

/// The value of `key` once it exists (the holder has taken its lease).
async fn wait_for_key(redis: &ConnectionManager, key: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut connection = redis.clone();
        let value: Option<u64> = cloudbase_auth::redis::cmd("GET")
            .arg(key)
            .query_async(&mut connection)
            .await
            .unwrap();
        if let Some(value) = value {
            return value;
        }
        assert!(Instant::now() < deadline, "the holder never took the lease");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------- Redis restarts

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_mid_run_loses_no_session() {
    const PAIRS: usize = 10;
    let mut server = RedisServer::start();
    let world = World::start().await;
    let redis = connect(&server.url()).await;
    sign_in_all(&world, &redis, PAIRS).await;
    // Two "processes" per session: each with its own store object.
    let mut sessions = Vec::new();
    for i in 0..PAIRS {
        for _ in 0..2 {
            let session = world.session_with(|c| c.with_token_store(store(&redis, i)));
            assert!(session.restore().await.unwrap());
            sessions.push(session);
        }
    }
    let all_ok = |sessions: &[cloudbase_auth::Session]| {
        let sessions = sessions.to_vec();
        async move {
            let mut errors = Vec::new();
            for session in &sessions {
                if let Err(error) = session.me().await {
                    errors.push(error);
                }
            }
            errors
        }
    };

    world.advance(EXPIRY_STEP);
    assert!(all_ok(&sessions).await.is_empty());
    assert_eq!(world.control.request_count("grant_token"), PAIRS as u64);

    server.kill();
    // Inside the refresh margin, not expired: every refresh fails to take the lease,
    // and the sessions keep working from memory, without a grant.
    world.advance(7200 - 30);
    let errors = all_ok(&sessions).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(world.control.request_count("grant_token"), PAIRS as u64);
    // Expired while Redis is down: a typed, transient store error; nothing is cleared.
    world.advance(60);
    for error in all_ok(&sessions).await {
        assert!(
            matches!(error, Error::Store(StoreError::Unavailable { .. })),
            "{error:?}"
        );
        assert!(error.is_transient());
    }
    assert!(sessions.iter().all(|s| s.refresh_token().is_some()));

    server.restart();
    until_answering(&redis).await;
    let errors = all_ok(&sessions).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        world.control.request_count("grant_token"),
        2 * PAIRS as u64,
        "one grant per session after the restart, no invalid_grant"
    );
    for (i, pair) in sessions.chunks(2).enumerate() {
        assert_eq!(refresh_of(&pair[0]), refresh_of(&pair[1]));
        let stored = store(&redis, i).load().await.unwrap().expect("stored");
        assert_eq!(
            stored.refresh_token.unwrap().expose_secret(),
            refresh_of(&pair[0])
        );
    }
}

// ---------------------------------------------------------------- compare-and-set

fn numbered(n: u64) -> StoredSession {
    StoredSession {
        access_token: AccessToken::new(format!("access-{n}")),
        refresh_token: Some(RefreshToken::new(format!("refresh-{n}"))),
        expires_at: UNIX_EPOCH + Duration::from_secs(1_800_000_000 + n),
        scope: Some("user".into()),
        sub: Some("u".into()),
        token_type: Some("Bearer".into()),
    }
}

async fn stored_number(store: &RedisTokenStore) -> Option<String> {
    store
        .load()
        .await
        .unwrap()
        .map(|s| s.refresh_token.unwrap().expose_secret().to_string())
}

#[tokio::test]
async fn a_writer_whose_lease_was_lost_never_overwrites_a_newer_pair() {
    let server = RedisServer::start();
    let redis = connect(&server.url()).await;
    let a = RedisTokenStore::new(redis.clone(), "cas");
    let b = RedisTokenStore::new(redis.clone(), "cas");
    a.save(&numbered(1)).await.unwrap();

    let lease_a = a.lock().await.unwrap().expect("a lease");
    // A's lease expires (as if A stalled past it) and B takes the next one.
    let mut connection = redis.clone();
    let _: () = cloudbase_auth::redis::cmd("DEL")
        .arg("cloudbase-auth:{cas}:lease")
        .query_async(&mut connection)
        .await
        .unwrap();
    let lease_b = b.lock().await.unwrap().expect("b lease");
    b.save(&numbered(3)).await.unwrap();
    let late = a.save(&numbered(2)).await.unwrap_err();
    assert!(matches!(late, StoreError::Conflict { .. }), "{late:?}");
    assert!(late.is_transient());
    assert_eq!(stored_number(&a).await.as_deref(), Some("refresh-3"));
    drop((lease_a, lease_b));

    // A sign-out leaves a tombstone: a refresh that took its lease before it cannot
    // bring the session back.
    let lease = a.lock().await.unwrap().expect("lease");
    b.clear().await.unwrap();
    let resurrect = a.save(&numbered(4)).await.unwrap_err();
    assert!(matches!(resurrect, StoreError::Conflict { .. }));
    assert_eq!(stored_number(&b).await, None);
    drop(lease);
    // A new sign-in (no lease) writes.
    b.save(&numbered(5)).await.unwrap();
    assert_eq!(stored_number(&a).await.as_deref(), Some("refresh-5"));
}

#[tokio::test]
async fn an_unreachable_redis_is_a_typed_error_that_names_no_secret() {
    // Port 1 refuses connections; the URL carries a password.
    let redis = connect("redis://:hunter2-secret@127.0.0.1:1/").await;
    let store = RedisTokenStore::new(redis, "bot");
    assert_eq!(
        format!("{store:?}"),
        "RedisTokenStore { name: \"bot\", lease: 10s, lock_timeout: 30s, .. }"
    );
    for error in [
        store.load().await.unwrap_err(),
        store.save(&numbered(1)).await.unwrap_err(),
        store.lock().await.map(|_| ()).unwrap_err(),
    ] {
        assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("refresh-1"), "{shown}");
        assert!(shown.contains("cloudbase-auth:{bot}:session"), "{shown}");
    }
}

// ---------------------------------------------------------------- shared verdict cache

const REPLICAS: usize = 4;
const TOKENS: usize = 5;

fn replica(world: &World, shared: Option<&ConnectionManager>) -> Verifier {
    let builder = Verifier::online(world.config()).with_clock(world.clock.clone());
    match shared {
        Some(redis) => builder.with_shared_cache(redis.clone()),
        None => builder,
    }
    .build()
    .expect("verifier")
}

async fn anonymous_tokens(world: &World, n: usize) -> Vec<(cloudbase_auth::Session, String)> {
    let mut tokens = Vec::new();
    for _ in 0..n {
        let session = world.session();
        session.sign_in_anonymously().await.expect("anonymous");
        let token = session.access_token().await.unwrap();
        let token = token.expose_secret().to_string();
        tokens.push((session, token));
    }
    tokens
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_replicas_sharing_the_cache_introspect_each_token_once() {
    let mut server = RedisServer::start();
    let world = World::start().await;
    let introspections = || world.control.request_count("introspect_token");

    // Without the shared cache: every replica asks.
    let alone: Vec<Verifier> = (0..REPLICAS).map(|_| replica(&world, None)).collect();
    for (_, token) in anonymous_tokens(&world, TOKENS).await {
        for verifier in &alone {
            verifier.verify(&token).await.expect("valid");
        }
    }
    let without = introspections();
    assert_eq!(without, (REPLICAS * TOKENS) as u64);

    // With it: one replica asks, the others read its answer.
    let mut connections = Vec::new();
    for _ in 0..REPLICAS {
        connections.push(connect(&server.url()).await);
    }
    let shared: Vec<Verifier> = connections
        .iter()
        .map(|redis| replica(&world, Some(redis)))
        .collect();
    let tokens = anonymous_tokens(&world, TOKENS).await;
    for (_, token) in &tokens {
        for verifier in &shared {
            verifier.verify(token).await.expect("valid");
        }
    }
    let with = introspections() - without;
    println!(
        "{TOKENS} tokens x {REPLICAS} replicas: {without} introspections alone, {with} shared"
    );
    assert_eq!(with, TOKENS as u64, "one introspection per token");
    let mut seen: Vec<String> = tokens.iter().map(|(_, t)| t.clone()).collect();
    assert_eq!(verdict_keys(&connections[0], &seen).await, TOKENS);

    // A refusal is shared too, briefly.
    let (session, revoked) = anonymous_tokens(&world, 1).await.remove(0);
    session.sign_out().await.unwrap();
    let before = introspections();
    for verifier in &shared {
        assert_eq!(
            verifier.verify(&revoked).await.err(),
            Some(Rejection::Inactive)
        );
    }
    assert_eq!(introspections() - before, 1);
    seen.push(revoked.clone());
    assert_eq!(verdict_keys(&connections[0], &seen).await, TOKENS + 1);

    // Redis down: a new replica introspects; it never allows what it cannot check.
    server.kill();
    let (_, fresh) = anonymous_tokens(&world, 1).await.remove(0);
    let before = introspections();
    let cold = replica(&world, Some(&connections[1]));
    cold.verify(&fresh).await.expect("introspected instead");
    assert_eq!(
        cold.verify(&revoked).await.err(),
        Some(Rejection::Inactive),
        "never allowed"
    );
    assert_eq!(introspections() - before, 2);
}

/// Every key is a verdict key named by a SHA-256 (64 hex digits), no key or value holds a
/// token, and TTLs are within the local cache's: 60 s for an answer, 5 s for a refusal.
/// Returns how many keys there are.
async fn verdict_keys(redis: &ConnectionManager, tokens: &[String]) -> usize {
    let mut connection = redis.clone();
    let keys: Vec<String> = cloudbase_auth::redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut connection)
        .await
        .unwrap();
    for key in &keys {
        let hash = key
            .strip_prefix("cloudbase-auth:verdict:demo-env:")
            .unwrap_or_else(|| panic!("not a verdict key: {key}"));
        assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
        let value: String = cloudbase_auth::redis::cmd("GET")
            .arg(key)
            .query_async(&mut connection)
            .await
            .unwrap();
        let ttl_ms: i64 = cloudbase_auth::redis::cmd("PTTL")
            .arg(key)
            .query_async(&mut connection)
            .await
            .unwrap();
        for token in tokens {
            assert!(!key.contains(token.as_str()) && !value.contains(token.as_str()));
        }
        let max_ms = if value.contains("Inactive") {
            5_000
        } else {
            60_000
        };
        assert!(
            ttl_ms > 0 && ttl_ms <= max_ms,
            "{key}: {value} for {ttl_ms} ms"
        );
    }
    keys.len()
}
