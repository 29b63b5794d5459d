//! Tests that run their own binary again as a child process: other processes sharing a
//! store, a process killed in the middle of a write.

use std::process::Stdio;

/// This test binary, run again to execute only the `#[ignore]`d test `test`. Its stdin
/// and stdout are piped for the parent to talk to it, its stderr is the parent's, and it
/// is killed when the parent drops it.
pub fn this_test_binary(test: &str) -> tokio::process::Command {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut command = tokio::process::Command::new(exe);
    command
        .args([
            test,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    command
}
