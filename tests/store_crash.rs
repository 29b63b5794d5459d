//! The file store under crashes and sharing.
//!
//! - A writer process saving sessions in a tight loop is killed with SIGKILL at random
//!   moments, 100 times: the file must always decode as one whole session, old or new.
//! - Processes sharing one file must not lose a rotated refresh token: the session takes
//!   the store's cross-process lock around a refresh and re-reads the file under it, so
//!   exactly one process spends the refresh token and the others adopt its pair.
//!
//! The child processes are this test binary run again with an environment variable set:
//! the `child_*` tests are `#[ignore]`d and do nothing unless started that way.

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use cloudbase_auth::{
    AccessToken, Config, FileTokenStore, ManualClock, RefreshToken, Session, StoredSession,
    TokenStore, decode_session_file,
};
use cloudbase_auth_emulator::{Control, Emulator, RunningEmulator, SeedUser};
use cloudbase_auth_testkit::child::this_test_binary;
use cloudbase_auth_testkit::{CLIENT_ID, PASSWORD, emulator_config, fast_retries};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const WRITER_PATH: &str = "CLOUDBASE_AUTH_TEST_WRITER_PATH";
const REFRESHER_PATH: &str = "CLOUDBASE_AUTH_TEST_REFRESHER_PATH";
const REFRESHER_URL: &str = "CLOUDBASE_AUTH_TEST_REFRESHER_URL";
const REFRESHER_NOW: &str = "CLOUDBASE_AUTH_TEST_REFRESHER_NOW";
const KILLS: usize = 100;

/// Session number `n`: every field derived from `n`, so a mix of two sessions shows.
fn numbered(n: u64) -> StoredSession {
    StoredSession {
        // Long enough that a write takes more than one syscall's worth of time.
        access_token: AccessToken::new(format!("access-{n}-{}", "a".repeat(4096))),
        refresh_token: Some(RefreshToken::new(format!("m.refresh-{n}"))),
        expires_at: UNIX_EPOCH + Duration::from_secs(1_800_000_000 + n),
        scope: Some("user".into()),
        sub: Some(n.to_string()),
        token_type: Some("Bearer".into()),
    }
}

/// The session number of a decoded file, checking that every field agrees on it.
fn number_of(session: &StoredSession) -> u64 {
    let n: u64 = session
        .sub
        .as_deref()
        .and_then(|s| s.parse().ok())
        .expect("a numbered session");
    let expected = numbered(n);
    assert_eq!(
        session.access_token.expose_secret(),
        expected.access_token.expose_secret(),
        "access token of session {n}"
    );
    assert_eq!(
        session.refresh_token.as_ref().map(|t| t.expose_secret()),
        expected.refresh_token.as_ref().map(|t| t.expose_secret()),
        "refresh token of session {n}"
    );
    assert_eq!(
        session.expires_at, expected.expires_at,
        "expiry of session {n}"
    );
    n
}

/// Reads lines until one holds `marker`, and returns what follows it. The test harness
/// prints its own text too, on the same line (`test child_writer ... `).
async fn line_starting_with(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    marker: &str,
) -> String {
    let read = async {
        while let Some(line) = lines.next_line().await.expect("child stdout") {
            if let Some((_, rest)) = line.split_once(marker) {
                return Some(rest.trim().to_string());
            }
        }
        None
    };
    // A guard against a hung child, not a wait for a condition.
    match tokio::time::timeout(Duration::from_secs(60), read).await {
        Ok(Some(rest)) => rest,
        Ok(None) => panic!("the child exited before printing `{marker}`"),
        Err(_) => panic!("the child printed no `{marker}` within 60 s"),
    }
}

// ---------------------------------------------------------------- crash safety

/// Child: saves numbered sessions in a loop until killed, continuing from the file's number.
#[test]
#[ignore = "child process of a_writer_killed_mid_write_100_times_always_leaves_a_whole_session"]
fn child_writer() {
    let Ok(path) = std::env::var(WRITER_PATH) else {
        return;
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = FileTokenStore::new(&path);
        let mut n = match store.load().await {
            Ok(Some(session)) => number_of(&session),
            _ => 0,
        };
        n += 1;
        store.save(&numbered(n)).await.expect("first save");
        println!("\n@@ready {n}");
        loop {
            n += 1;
            store.save(&numbered(n)).await.expect("save");
        }
    });
}

fn leftover_temp_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_killed_mid_write_100_times_always_leaves_a_whole_session() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("session.json");
    let mut last = 0;
    let mut distinct = std::collections::BTreeSet::new();
    for round in 0..KILLS {
        let mut child = this_test_binary("child_writer")
            .env(WRITER_PATH, &path)
            .spawn()
            .expect("spawn the writer");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first: u64 = line_starting_with(&mut lines, "@@ready ")
            .await
            .parse()
            .unwrap();
        assert_eq!(first, last + 1, "round {round}: continues from the file");
        // A random moment inside the write loop (not a wait for a condition).
        let pause = rand::random_range(0..4000u64);
        tokio::time::sleep(Duration::from_micros(pause)).await;
        child.start_kill().expect("SIGKILL");
        let status = child.wait().await.unwrap();
        assert!(!status.success(), "round {round}: killed, not finished");

        let bytes = std::fs::read(&path).expect("the file exists");
        let session = decode_session_file(&bytes)
            .unwrap_or_else(|e| panic!("round {round}: the file is not a whole session: {e}"));
        let n = number_of(&session);
        assert!(n >= first, "round {round}: went back from {first} to {n}");
        last = n;
        distinct.insert(n);
    }
    // The store's own reader agrees.
    let stored = FileTokenStore::new(&path).load().await.unwrap().unwrap();
    assert_eq!(number_of(&stored), last);
    println!(
        "{KILLS} kills: {last} sessions written, {} distinct survivors, {} temp files left behind",
        distinct.len(),
        leftover_temp_files(dir.path())
    );
}

// ---------------------------------------------------------------- shared file, one rotation

struct World {
    emulator: RunningEmulator,
    control: Control,
    clock: ManualClock,
    dir: tempfile::TempDir,
}

impl World {
    async fn start() -> World {
        let emulator = Emulator::start(emulator_config())
            .await
            .expect("emulator starts");
        let control = emulator.control();
        control.seed_user(SeedUser {
            username: Some("alice".into()),
            password: Some(PASSWORD.into()),
            ..SeedUser::default()
        });
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(control.now()));
        World {
            emulator,
            control,
            clock,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("session.json")
    }

    /// A session as one process would have it: its own store object on the shared file.
    fn process(&self) -> Session {
        Session::new(config(
            &self.emulator.base_url(),
            self.clock.clone(),
            &self.path(),
        ))
        .unwrap()
    }

    fn advance(&self, seconds: u64) {
        self.control.advance_clock(Duration::from_secs(seconds));
        self.clock.advance(Duration::from_secs(seconds));
    }

    async fn stored_refresh(&self) -> String {
        FileTokenStore::new(self.path())
            .load()
            .await
            .unwrap()
            .and_then(|s| s.refresh_token)
            .map(|t| t.expose_secret().to_string())
            .expect("a stored refresh token")
    }
}

fn config(base_url: &str, clock: ManualClock, path: &Path) -> Config {
    Config::for_base_url(base_url)
        .with_client_id(CLIENT_ID)
        .with_clock(clock)
        .with_refresh_jitter(Duration::ZERO)
        .with_retry_policy(fast_retries())
        .with_token_store(FileTokenStore::new(path))
}

fn refresh_of(session: &Session) -> String {
    session
        .refresh_token()
        .map(|t| t.expose_secret().to_string())
        .expect("a refresh token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sessions_sharing_a_file_refresh_at_the_same_moment_with_one_grant() {
    let world = World::start().await;
    let a = world.process();
    a.sign_in_with_password("alice", PASSWORD).await.unwrap();
    let b = world.process();
    assert!(b.restore().await.unwrap());
    assert_eq!(refresh_of(&a), refresh_of(&b));

    for round in 1..=3 {
        world.advance(7200 - 30);
        let (ra, rb) = tokio::join!(a.me(), b.me());
        ra.expect("a refreshed or adopted");
        rb.expect("b refreshed or adopted");
        assert_eq!(
            world.control.request_count("grant_token"),
            round,
            "exactly one refresh grant per expiry"
        );
        assert_eq!(refresh_of(&a), refresh_of(&b), "both hold the same pair");
        assert_eq!(refresh_of(&a), world.stored_refresh().await);
        // Move well past the reuse window before the next round.
        world.advance(60);
    }
}

#[tokio::test]
async fn a_process_refreshing_after_the_reuse_window_adopts_the_rotated_token() {
    // Without the lock and re-read, B would present the spent token 5 minutes after A
    // rotated it: a reuse outside the window, which revokes the whole session.
    let world = World::start().await;
    let a = world.process();
    a.sign_in_with_password("alice", PASSWORD).await.unwrap();
    let b = world.process();
    assert!(b.restore().await.unwrap());
    let spent = refresh_of(&b);

    world.advance(7200 - 30);
    a.me().await.expect("a refreshes");
    assert_eq!(world.control.request_count("grant_token"), 1);
    world.advance(300);
    // B's own access token has expired by now; it must not spend its stale refresh token.
    let me = b.me().await.expect("b adopts a's pair, no invalid_grant");
    assert!(me.sub.is_some());
    assert_eq!(world.control.request_count("grant_token"), 1);
    assert_ne!(refresh_of(&b), spent);
    assert_eq!(refresh_of(&a), refresh_of(&b));
    a.me().await.expect("a is still signed in");

    // And when the stored pair is itself due, B refreshes with the stored token.
    world.advance(7200);
    b.me().await.expect("b refreshes with the adopted token");
    a.me().await.expect("a adopts b's pair");
    assert_eq!(world.control.request_count("grant_token"), 2);
    assert_eq!(refresh_of(&a), refresh_of(&b));
}

/// Child: restores the shared session, waits for "go", calls `me` (refreshing first, as
/// its access token is inside the margin) and prints the refresh token it ends with.
#[test]
#[ignore = "child process of two_processes_sharing_a_file_refresh_with_one_grant"]
fn child_refresher() {
    let (Ok(path), Ok(url), Ok(now)) = (
        std::env::var(REFRESHER_PATH),
        std::env::var(REFRESHER_URL),
        std::env::var(REFRESHER_NOW),
    ) else {
        return;
    };
    let now: u64 = now.parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(now));
        let session = Session::new(config(&url, clock, Path::new(&path))).unwrap();
        assert!(session.restore().await.unwrap());
        println!("\n@@ready");
        let mut go = String::new();
        BufReader::new(tokio::io::stdin())
            .read_line(&mut go)
            .await
            .unwrap();
        match session.me().await {
            Ok(_) => println!("\n@@refresh {}", refresh_of(&session)),
            Err(e) => println!("\n@@refresh ERROR {e:?}"),
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_a_file_refresh_with_one_grant() {
    let world = World::start().await;
    let parent = world.process();
    parent
        .sign_in_with_password("alice", PASSWORD)
        .await
        .unwrap();
    // Expired (a restored token inside the margin but not yet expired is kept until half
    // its remaining life is gone, so expiry is the sure way to make both children refresh).
    world.advance(7200 + 5);
    // The children's clocks start where the emulator's (and this process's) is.
    let now = world.control.now();

    let mut children = Vec::new();
    for _ in 0..2 {
        let mut child = this_test_binary("child_refresher")
            .env(REFRESHER_PATH, world.path())
            .env(REFRESHER_URL, world.emulator.base_url())
            .env(REFRESHER_NOW, now.to_string())
            .spawn()
            .expect("spawn a refresher");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        line_starting_with(&mut lines, "@@ready").await;
        children.push((child, lines));
    }
    // Both are waiting: release them together.
    for (child, _) in &mut children {
        let stdin = child.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").await.unwrap();
        stdin.flush().await.unwrap();
    }
    let mut finals = Vec::new();
    for (mut child, mut lines) in children {
        finals.push(line_starting_with(&mut lines, "@@refresh ").await);
        assert!(child.wait().await.unwrap().success());
    }
    assert!(
        finals.iter().all(|f| !f.starts_with("ERROR")),
        "no child lost its session: {finals:?}"
    );
    assert_eq!(
        finals[0], finals[1],
        "both ended with the same refresh token"
    );
    assert_eq!(finals[0], world.stored_refresh().await);
    assert_eq!(
        world.control.request_count("grant_token"),
        1,
        "one process refreshed, the other adopted its pair"
    );
    assert_eq!(world.control.request_count("get_user_me"), 2);
    // The parent picks the rotated pair up from the file too, and it works.
    let again = world.process();
    assert!(again.restore().await.unwrap());
    assert_eq!(refresh_of(&again), finals[0]);
    world.advance(7200);
    again.me().await.expect("the shared token is valid");
}
