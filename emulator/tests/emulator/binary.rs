//! The `cloudbase-auth-emulator` binary: prints its URL, saves state on SIGTERM, loads it back;
//! and `RunningEmulator::shutdown`.

use std::path::Path;
use std::process::Stdio;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::common::{Emu, PASSWORD, reply};

/// Starts the binary on a free port; returns it and its base URL.
async fn spawn(state: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cloudbase-auth-emulator"))
        .args(["--port", "0", "--fast-hashing", "--state"])
        .arg(state)
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

/// SIGTERM by process id, then wait for a clean exit.
async fn terminate(mut child: Child) {
    let pid = child.id().expect("running").to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill");
    assert!(status.success());
    assert!(child.wait().await.expect("exit status").success());
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
