//! `cloudbase-auth emulator`: the local emulator in the foreground, so the other commands
//! (and anything else speaking Auth v1) can be tried offline.

use std::net::SocketAddr;
use std::path::Path;

use cloudbase_auth_emulator::{Control, Emulator, EmulatorConfig, PasswordHashing};
use serde_json::json;

use crate::args::EmulatorArgs;
use crate::error::CliError;
use crate::files;
use crate::output::Output;

pub async fn run(args: EmulatorArgs, out: Output) -> Result<(), CliError> {
    let config = emulator_config(&args)?;
    let env_id = config.env_id.clone();
    let running = Emulator::start_on(SocketAddr::new(args.host, args.port), config)
        .await
        .map_err(|e| CliError::other(format!("starting the emulator: {e}")))?;
    let control = running.control();
    if let Some(path) = &args.state {
        load_state(&control, path)?;
    }
    announce(out, &running.base_url(), &env_id);
    stopped().await?;
    if let Some(path) = &args.state {
        save_state(&control, path)?;
    }
    running.shutdown().await;
    Ok(())
}

fn emulator_config(args: &EmulatorArgs) -> Result<EmulatorConfig, CliError> {
    let mut config = match &args.config {
        Some(path) => {
            let text = files::read_optional(path)?
                .ok_or_else(|| CliError::usage(format!("{} does not exist", path.display())))?;
            serde_json::from_str(&text)
                .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?
        }
        None => EmulatorConfig::default(),
    };
    if args.fast_hashing {
        config.password_hashing = PasswordHashing::Fast;
    }
    Ok(config)
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
         Ctrl-C stops it"
    ));
}

/// Ctrl-C, or (on Unix) the SIGTERM a service manager sends: both save the state.
async fn stopped() -> Result<(), CliError> {
    let failed = |e: std::io::Error| CliError::other(format!("waiting for a signal: {e}"));
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).map_err(failed)?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result.map_err(failed),
            _ = terminate.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await.map_err(failed)
    }
}

fn load_state(control: &Control, path: &Path) -> Result<(), CliError> {
    let Some(text) = files::read_optional(path)? else {
        // First run: the file is written on exit.
        return Ok(());
    };
    let document = serde_json::from_str(&text)
        .map_err(|e| CliError::other(format!("{} is not JSON: {e}", path.display())))?;
    control
        .import_state(document)
        .map_err(|e| CliError::other(format!("{}: {e}", path.display())))
}

/// Private: the state holds password hashes and token hashes.
fn save_state(control: &Control, path: &Path) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(&control.export_state())
        .map_err(|e| CliError::other(format!("encoding the state: {e}")))?;
    files::write_private(path, text.as_bytes())
}
