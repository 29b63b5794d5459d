//! `cloudbase-auth emulator`: the local emulator in the foreground, so the other commands
//! (and anything else speaking Auth v1) can be tried offline. Loading, saving, limits and
//! signals are the emulator library's [`Launcher`], shared with `cloudbase-auth-emulator`.

use std::net::SocketAddr;

use cloudbase_auth_emulator::{EmulatorConfig, LaunchError, Launcher, PasswordHashing};
use serde_json::json;

use crate::args::EmulatorArgs;
use crate::error::CliError;
use crate::output::Output;

pub async fn run(args: EmulatorArgs, out: Output) -> Result<(), CliError> {
    let config = emulator_config(&args)?;
    let env_id = config.env_id.clone();
    Launcher::new(SocketAddr::new(args.host, args.port), config)
        .with_state_file(args.state)
        .run(|base_url| announce(out, base_url, &env_id))
        .await
        .map_err(failed)
}

fn emulator_config(args: &EmulatorArgs) -> Result<EmulatorConfig, CliError> {
    let mut config = match &args.config {
        Some(path) => Launcher::read_config(path).map_err(|e| CliError::usage(e.to_string()))?,
        None => EmulatorConfig::default(),
    };
    if args.fast_hashing {
        config.password_hashing = PasswordHashing::Fast;
    }
    Ok(config)
}

fn failed(e: LaunchError) -> CliError {
    CliError::other(format!("emulator: {e}"))
}

/// The base URL alone on stdout's first line (or as JSON), so a script can capture it;
/// how to point the other commands at it goes to stderr.
fn announce(out: Output, base_url: &str, env_id: &str) {
    if out.is_json() {
        println!("{}", json!({ "base_url": base_url, "env_id": env_id }));
    } else {
        println!("{base_url}");
    }
    out.hint(&format!(
        "emulator listening; point the CLI at it with:\n  \
         export CLOUDBASE_BASE_URL={base_url} CLOUDBASE_CLIENT_ID={env_id}\n\
         Ctrl-C stops it (a second Ctrl-C exits at once)"
    ));
}
