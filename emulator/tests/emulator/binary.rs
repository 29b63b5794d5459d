//! The `cloudbase-auth-emulator` binary: prints its URL, saves state on SIGTERM, loads it back;
//! and `RunningEmulator::shutdown`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::common::{Emu, PASSWORD, reply};

/// Starts the binary on a free port; returns it and its base URL.
async fn spawn(state: &Path) -> (Child, String) {
    spawn_with(&["--fast-hashing", "--state", state.to_str().unwrap()]).await
}

fn binary(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cloudbase-auth-emulator"));
    command.args(["--port", "0"]).args(args).kill_on_drop(true);
    command
}

/// Starts the binary with `args` on a free port; returns it and its base URL.
async fn spawn_with(args: &[&str]) -> (Child, String) {
    let mut child = binary(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the binary");
    let stdout = child.stdout.take().expect("stdout");
    let line = BufReader::new(stdout)
        .lines()
        .next_line()
        .await
        .expect("read stdout")
        .expect("a line");
    let url = line
        .strip_prefix("listening on ")
        .expect("the listening line")
        .to_owned();
    (child, url)
}

async fn signal(child: &Child, name: &str) {
    let pid = child.id().expect("running").to_string();
    let status = Command::new("kill")
        .args([name, &pid])
        .status()
        .await
        .expect("kill");
    assert!(status.success());
}

/// SIGTERM by process id, then wait for a clean exit.
async fn terminate(mut child: Child) {
    signal(&child, "-TERM").await;
    assert!(child.wait().await.expect("exit status").success());
}

/// A fresh directory for one test's files.
fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("cloudbase-emulator-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn the_binary_saves_state_on_sigterm_and_loads_it_at_start() {
    let state = std::env::temp_dir().join(format!(
        "cloudbase-emulator-state-{}.json",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&state);
    let http = reqwest::Client::new();
    let (child, url) = spawn(&state).await;
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let seed = json!({"username": "alice_01", "password": PASSWORD});
    let sub = reply(http.post(format!("{url}/emulator/v1/users")).json(&seed))
        .await
        .str("sub");
    terminate(child).await;
    assert!(
        std::fs::read_to_string(&state)
            .expect("state file")
            .contains(&sub)
    );

    let (child, url) = spawn(&state).await;
    let body = json!({"username": "alice_01", "password": PASSWORD});
    let signed_in = reply(http.post(format!("{url}/auth/v1/signin")).json(&body)).await;
    assert_eq!(signed_in.str("sub"), sub);
    terminate(child).await;
    let _ = std::fs::remove_file(&state);
}

/// The workspace README shows the start line as it is printed (for `--port 8787`).
#[tokio::test]
async fn the_readme_shows_the_binarys_start_line() {
    let state = std::env::temp_dir().join(format!(
        "cloudbase-emulator-readme-{}.json",
        std::process::id()
    ));
    let (child, url) = spawn(&state).await;
    terminate(child).await;
    let _ = std::fs::remove_file(&state);
    let port = url.rsplit(':').next().expect("a port");
    let printed = format!("listening on {url}").replace(&format!(":{port}"), ":8787");
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("the workspace README");
    assert!(
        readme.lines().any(|line| line == format!("# {printed}")),
        "README.md should show `# {printed}`"
    );
}

#[tokio::test]
async fn shutdown_stops_the_server() {
    let emu = Emu::start().await;
    let url = emu.url("/auth/v1/certs");
    reply(emu.http.get(&url)).await.assert_ok();
    emu.running.shutdown().await;
    assert!(emu.http.get(&url).send().await.is_err());
}

/// Peak resident set size of a process, from /proc (kB → bytes).
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM")
        * 1024
}

/// Item 1: 64 parallel sign-ins at the default (OWASP) Argon2 cost stay under 400 MB.
#[tokio::test]
async fn parallel_sign_ins_at_the_default_cost_stay_under_400_mb() {
    let (child, url) = spawn_with(&[]).await;
    let pid = child.id().expect("running");
    let http = reqwest::Client::new();
    for i in 0..64 {
        let seed = json!({"username": format!("user_{i:02}"), "password": PASSWORD});
        reply(http.post(format!("{url}/emulator/v1/users")).json(&seed))
            .await
            .assert_ok();
    }
    // Measure the sign-ins only: reset the high-water mark after seeding.
    println!(
        "RESULT RSS before the sign-ins = {} MB",
        peak_rss(pid) / 1_000_000
    );
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("clear_refs");
    let mut sign_ins = tokio::task::JoinSet::new();
    for i in 0..64 {
        let body = json!({"username": format!("user_{i:02}"), "password": PASSWORD});
        sign_ins.spawn(reply(
            http.post(format!("{url}/auth/v1/signin")).json(&body),
        ));
    }
    for signed_in in sign_ins.join_all().await {
        signed_in.assert_ok();
    }
    let peak = peak_rss(pid);
    println!(
        "RESULT peak RSS for 64 parallel sign-ins = {} MB",
        peak / 1_000_000
    );
    assert!(peak < 400_000_000, "peak RSS {} MB", peak / 1_000_000);
    terminate(child).await;
}

/// Item 10: every answered write survives SIGKILL under load.
#[tokio::test]
async fn acknowledged_writes_survive_sigkill_under_load() {
    let dir = scratch("kill");
    let state = dir.join("state.json");
    let (mut child, url) = spawn(&state).await;
    let http = reqwest::Client::new();
    let (acked, mut acks) = tokio::sync::mpsc::unbounded_channel::<String>();
    let mut writers = tokio::task::JoinSet::new();
    for writer in 0..16 {
        let (http, url, acked) = (http.clone(), url.clone(), acked.clone());
        writers.spawn(async move {
            for i in 0.. {
                let seed = json!({"username": format!("w{writer}_{i}")});
                let Ok(response) = http
                    .post(format!("{url}/emulator/v1/users"))
                    .json(&seed)
                    .send()
                    .await
                else {
                    return;
                };
                let Ok(body) = response.json::<serde_json::Value>().await else {
                    return;
                };
                if let Some(sub) = body["sub"].as_str() {
                    let _ = acked.send(sub.to_owned());
                }
            }
        });
    }
    drop(acked);
    let mut subs = Vec::new();
    while subs.len() < 300 {
        subs.push(acks.recv().await.expect("writes are answered"));
    }
    signal(&child, "-KILL").await;
    child.wait().await.expect("killed");
    writers.join_all().await;
    while let Ok(sub) = acks.try_recv() {
        subs.push(sub);
    }
    let saved = std::fs::read_to_string(&state).expect("state file");
    let missing = subs
        .iter()
        .filter(|sub| !saved.contains(sub.as_str()))
        .count();
    println!(
        "RESULT SIGKILL after {} acknowledged writes: {missing} lost",
        subs.len()
    );
    assert_eq!(missing, 0, "acknowledged users lost after SIGKILL");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&state).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "state file mode {mode:o}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Item 10: the clock is saved with the state.
#[tokio::test]
async fn the_clock_survives_a_restart() {
    let dir = scratch("clock");
    let state = dir.join("state.json");
    let config = dir.join("config.json");
    std::fs::write(&config, r#"{"clock": "frozen"}"#).unwrap();
    let args = [
        "--fast-hashing",
        "--config",
        config.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
    ];
    let http = reqwest::Client::new();
    let (child, url) = spawn_with(&args).await;
    reply(
        http.put(format!("{url}/emulator/v1/clock"))
            .json(&json!({"now": 2_000_000_000u64})),
    )
    .await
    .assert_ok();
    terminate(child).await;
    let (child, url) = spawn_with(&args).await;
    let clock = reply(http.get(format!("{url}/emulator/v1/clock"))).await;
    assert_eq!(clock.body["now"], 2_000_000_000u64);
    terminate(child).await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Item 10: state-file problems are found at start and name the file.
#[tokio::test]
async fn state_file_problems_are_reported_at_start_naming_the_file() {
    let dir = scratch("bad-state");
    let missing_dir = dir.join("no-such-dir").join("state.json");
    let corrupt = dir.join("corrupt.json");
    std::fs::write(&corrupt, "{not json").unwrap();
    for path in [&missing_dir, &corrupt] {
        let run = binary(&["--state", path.to_str().unwrap()]).output();
        let output = tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .expect("the binary exits at once")
            .expect("ran");
        assert!(!output.status.success());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(path.to_str().unwrap()), "{stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Item 9: a second signal exits at once, even while the first waits for a slow request.
#[tokio::test]
async fn a_second_signal_exits_at_once() {
    let dir = scratch("signals");
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        r#"{"limits": {"shutdown_grace_ms": 600000, "header_timeout_ms": 600000}}"#,
    )
    .unwrap();
    let (mut child, url) =
        spawn_with(&["--fast-hashing", "--config", config.to_str().unwrap()]).await;
    let mut half = tokio::net::TcpStream::connect(url.trim_start_matches("http://"))
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::write_all(
        &mut half,
        b"POST /auth/v1/signin HTTP/1.1\r\nhost: x\r\ncontent-length: 9\r\n\r\n{",
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    signal(&child, "-TERM").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    signal(&child, "-TERM").await;
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("the second signal ends the process")
        .unwrap();
    assert!(!status.success());
    let _ = std::fs::remove_dir_all(&dir);
}
