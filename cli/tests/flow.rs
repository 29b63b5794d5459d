//! The binary as a script uses it, one process per command, against an emulator running
//! in the test's own runtime: codes are read through its control handle, and its clock
//! is advanced together with the CLI's (via the `CLOUDBASE_AUTH_CLOCK_OFFSET_SECS` hook).

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::prelude::*;
use cloudbase_auth_emulator::{
    Emulator, EmulatorConfig, PasswordHashing, RunningEmulator, SeedUser,
};
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use serde_json::Value;
use tempfile::TempDir;

const EMAIL: &str = "alice@example.com";

/// Variables of the developer's shell that would change what the binary does.
const OUR_VARIABLES: [&str; 7] = [
    "CLOUDBASE_ENV",
    "CLOUDBASE_REGION",
    "CLOUDBASE_BASE_URL",
    "CLOUDBASE_CLIENT_ID",
    "CLOUDBASE_CLIENT_SECRET",
    "CLOUDBASE_SESSION_FILE",
    "CLOUDBASE_AUTH_CLOCK_OFFSET_SECS",
];

async fn emulator() -> RunningEmulator {
    let config = EmulatorConfig {
        password_hashing: PasswordHashing::Fast,
        ..EmulatorConfig::default()
    };
    Emulator::start(config).await.expect("emulator starts")
}

/// The binary pointed at one server, with its own session directory.
struct Cli {
    base_url: String,
    dir: TempDir,
    /// Kept equal to how far the emulator's clock was advanced.
    clock_offset_secs: u64,
}

impl Cli {
    fn new(base_url: String) -> Cli {
        Cli {
            base_url,
            dir: TempDir::new().expect("temp dir"),
            clock_offset_secs: 0,
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join("state").join(name)
    }

    fn session_file(&self) -> PathBuf {
        self.file("session.json")
    }

    /// Runs one command with `stdin` as its input. On a blocking thread: the emulator
    /// it talks to is served by this test's runtime.
    async fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("cloudbase-auth");
        for name in OUR_VARIABLES {
            cmd.env_remove(name);
        }
        cmd.env(
            "CLOUDBASE_AUTH_CLOCK_OFFSET_SECS",
            self.clock_offset_secs.to_string(),
        )
        .args(["--base-url", &self.base_url, "--client-id", "demo-env"])
        .arg("--session-file")
        .arg(self.session_file())
        .args(args)
        .write_stdin(stdin);
        tokio::task::spawn_blocking(move || cmd.output())
            .await
            .expect("the command thread")
            .expect("the binary runs")
    }

    /// Runs a `--json` command that must succeed; its stdout parsed.
    async fn json(&self, args: &[&str], stdin: &str) -> Value {
        let output = self.run(&[&["--json"], args].concat(), stdin).await;
        output.clone().assert().success();
        serde_json::from_slice(&output.stdout).expect("stdout is JSON")
    }

    fn stored_access_token(&self) -> String {
        let text = std::fs::read_to_string(self.session_file()).expect("a session file");
        let session: Value = serde_json::from_str(&text).expect("session JSON");
        session["access_token"]
            .as_str()
            .expect("a token")
            .to_string()
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[cfg(unix)]
fn assert_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .expect("file exists")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "{} must be private", path.display());
}

#[cfg(not(unix))]
fn assert_private(path: &Path) {
    assert!(path.exists());
}

#[tokio::test]
async fn sign_up_by_code_then_a_session_that_outlives_invocations() {
    let emulator = emulator().await;
    let control = emulator.control();
    let mut cli = Cli::new(emulator.base_url());

    // Scenario 2: code, verification token (kept private, not printed), sign-up.
    let sent = cli.json(&["send-code", "--email", EMAIL], "").await;
    let verification_id = sent["verification_id"].as_str().expect("an id");
    let code = control.latest_code_for(EMAIL).expect("a code was sent");
    let verified = cli
        .run(
            &["verify-code", "--verification-id", verification_id],
            &format!("{code}\n"),
        )
        .await;
    verified.clone().assert().success();
    let token_file = cli.file("verification-token");
    assert_private(&token_file);
    let token = std::fs::read_to_string(&token_file).expect("token kept");
    assert!(
        !stdout(&verified).contains(&token),
        "no secret without a flag"
    );
    cli.run(
        &["signup", "--email", EMAIL, "--username", "alice"],
        "first-pass-1\n",
    )
    .await
    .assert()
    .success()
    .stdout(contains("Signed up"));
    assert!(!token_file.exists(), "a verification token is used once");
    assert_private(&cli.session_file());

    // Scenario 1, and the session reused by later invocations.
    cli.run(&["signout"], "").await.assert().success();
    let signed_in = cli
        .run(&["signin", "--username", "alice"], "first-pass-1\n")
        .await;
    signed_in.clone().assert().success();
    assert!(!stdout(&signed_in).contains(&cli.stored_access_token()));
    let me = cli.json(&["me"], "").await;
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], EMAIL);
    let sub = me["sub"].clone();
    cli.run(&["me"], "")
        .await
        .assert()
        .success()
        .stdout(contains("username: alice"));

    // Three hours later on both clocks: the CLI sees the stored token expired and
    // refreshes before the call (one grant, and `me` is not first refused with a 401).
    let before = cli.stored_access_token();
    let (grants, mes) = (
        control.request_count("grant_token"),
        control.request_count("get_user_me"),
    );
    control.advance_clock(Duration::from_secs(3 * 3600));
    cli.clock_offset_secs = 3 * 3600;
    assert_eq!(cli.json(&["me"], "").await["sub"], sub);
    assert_ne!(cli.stored_access_token(), before, "the new token was saved");
    assert_eq!(control.request_count("grant_token"), grants + 1);
    assert_eq!(control.request_count("get_user_me"), mes + 1);

    // Scenario 4: the token is printed only when asked for, alone on stdout.
    let refreshed = cli.run(&["refresh"], "").await;
    refreshed.clone().assert().success();
    assert!(!stdout(&refreshed).contains(&cli.stored_access_token()));
    let printed = cli.run(&["refresh", "--print-access-token"], "").await;
    printed.clone().assert().success();
    assert_eq!(stdout(&printed).trim(), cli.stored_access_token());

    // Scenario 5: the API's own JSON.
    let introspected = cli.json(&["introspect"], "").await;
    assert_eq!(introspected["sub"], sub);
    assert_eq!(introspected["client_id"], "demo-env");

    // Scenario 7: password change; the old password stops working.
    cli.run(&["change-password"], "first-pass-1\nsecond-pass-2\n")
        .await
        .assert()
        .success();
    cli.run(&["signin", "--username", "alice"], "first-pass-1\n")
        .await
        .assert()
        .code(3)
        .stderr(contains("invalid_password"));
    cli.run(&["signin", "--username", "alice"], "second-pass-2\n")
        .await
        .assert()
        .success();

    cli.run(&["signout"], "").await.assert().success();
    assert!(!cli.session_file().exists());
    cli.run(&["me"], "")
        .await
        .assert()
        .code(1)
        .stderr(contains("not signed in"));
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_anonymous_user_is_the_same_across_invocations() {
    let emulator = emulator().await;
    let cli = Cli::new(emulator.base_url());
    let first = cli.json(&["signin-anonymous"], "").await;
    assert_eq!(first["anonymous"], true);
    cli.run(&["signout"], "").await.assert().success();
    let second = cli.json(&["signin-anonymous"], "").await;
    assert_eq!(
        first["sub"], second["sub"],
        "same device id, same anonymous user"
    );
    let device_id = std::fs::read_to_string(cli.file("device-id")).expect("a device id");
    assert_eq!(device_id.len(), 32);
    assert!(
        device_id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn errors_have_distinct_exit_codes() {
    let emulator = emulator().await;
    emulator.control().seed_user(SeedUser {
        username: Some("bob".into()),
        password: Some("right-pass-1".into()),
        ..SeedUser::default()
    });
    let cli = Cli::new(emulator.base_url());

    // Usage (2): a missing argument, a missing secret on stdin.
    cli.run(&["signin"], "")
        .await
        .assert()
        .code(2)
        .stderr(contains("--username"));
    cli.run(&["signin", "--username", "bob"], "")
        .await
        .assert()
        .code(2);

    // API (3): the error's name, code and request id on stderr; JSON with --json.
    cli.run(&["signin", "--username", "bob"], "wrong-pass\n")
        .await
        .assert()
        .code(3)
        .stderr(contains("error: invalid_password"))
        .stderr(contains("error_code:"))
        .stderr(contains("request_id:"));
    let refused = cli
        .run(&["--json", "signin", "--username", "bob"], "wrong-pass\n")
        .await;
    refused.clone().assert().code(3);
    let error: Value = serde_json::from_slice(&refused.stderr).expect("stderr is JSON");
    assert_eq!(error["error"], "invalid_password");
    assert_eq!(error["request_id"].as_str().map(str::len), Some(32));

    // Transport (4): a port nobody listens on any more.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port");
    Cli::new(format!("http://{closed}"))
        .run(&["signin", "--username", "bob"], "right-pass-1\n")
        .await
        .assert()
        .code(4)
        .stderr(contains(format!("talking to {closed}: connection refused")));

    // Other (1): nobody signed in.
    cli.run(&["me"], "").await.assert().code(1);
    emulator.shutdown().await;
}

/// The binary with only `args` (no session file, no server flags of the `Cli` helper).
fn bare(args: &[&str]) -> Output {
    let mut cmd = assert_cmd::cargo::cargo_bin_cmd!("cloudbase-auth");
    for name in OUR_VARIABLES {
        cmd.env_remove(name);
    }
    cmd.env_remove("RUST_LOG");
    cmd.args(args).output().expect("the binary runs")
}

fn stderr_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stderr).expect("stderr is one JSON object")
}

#[test]
fn env_and_client_id_are_checked_even_with_a_base_url() {
    for flag in ["--env", "--client-id"] {
        let output = bare(&["--base-url", "http://127.0.0.1:9", flag, "demo env/x", "me"]);
        output
            .assert()
            .code(2)
            .stderr(contains(flag).and(contains("letters, digits")));
    }
}

#[test]
fn json_errors_carry_a_kind_and_transport_errors_their_causes() {
    let dir = TempDir::new().expect("temp dir");
    let session = dir.path().join("session.json");
    let session = session.to_str().expect("a UTF-8 path");
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    let common = [
        "--json",
        "--base-url",
        "http://127.0.0.1:9",
        "--client-id",
        "demo-env",
    ];
    let common = [&common[..], &["--session-file", session]].concat();

    let refused = bare(&[&common[..], &["signin-anonymous"]].concat());
    refused.clone().assert().code(4);
    let error = stderr_json(&refused);
    assert_eq!(error["kind"], "transport", "{error}");
    let message = error["message"].as_str().expect("a message");
    assert!(
        message.contains("refused"),
        "the cause chain is missing: {message}"
    );

    let not_signed_in = bare(&[&common[..], &["me"]].concat());
    not_signed_in.clone().assert().code(1);
    assert_eq!(stderr_json(&not_signed_in)["kind"], "other");
}

#[tokio::test]
async fn introspect_json_says_active_and_verbose_logs_the_requests() {
    let emulator = emulator().await;
    let cli = Cli::new(emulator.base_url());
    cli.json(&["signin-anonymous"], "").await;
    let introspected = cli.json(&["introspect"], "").await;
    assert_eq!(introspected["active"], true, "{introspected}");

    let verbose = cli.run(&["--verbose", "me"], "").await;
    verbose.clone().assert().success();
    let log = String::from_utf8_lossy(&verbose.stderr);
    assert!(
        log.contains("get_user_me"),
        "no request log on stderr: {log}"
    );
    assert!(
        !log.contains(&cli.stored_access_token()),
        "a token was logged"
    );
}
