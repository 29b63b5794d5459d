//! `cloudbase-auth-emulator`: serves the emulator until Ctrl-C or SIGTERM.

use std::error::Error;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use cloudbase_auth_emulator::{Emulator, EmulatorConfig, PasswordHashing};
use tracing_subscriber::EnvFilter;

/// A local emulator of Tencent CloudBase Auth v1 (development only: its signing key is public).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 8787)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// State file: loaded at start if it exists, written at shutdown.
    #[arg(long)]
    state: Option<PathBuf>,
    /// JSON file with an `EmulatorConfig` (any subset of its fields).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Minimal Argon2 cost (tests only: such password hashes protect nothing).
    #[arg(long)]
    fast_hashing: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cloudbase-auth-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn Error>> {
    let mut config: EmulatorConfig = match &args.config {
        Some(path) => serde_json::from_str(&std::fs::read_to_string(path)?)?,
        None => EmulatorConfig::default(),
    };
    if args.fast_hashing {
        config.password_hashing = PasswordHashing::Fast;
    }
    let shutdown = shutdown_signal()?;
    let emulator = Emulator::start_on(SocketAddr::new(args.host, args.port), config).await?;
    if let Some(path) = args.state.as_deref().filter(|p| p.exists()) {
        emulator
            .control()
            .import_state(serde_json::from_str(&std::fs::read_to_string(path)?)?)?;
        tracing::info!(path = %path.display(), "state loaded");
    }
    println!("listening on {}", emulator.base_url());
    shutdown.await;
    if let Some(path) = &args.state {
        save_state(path, &emulator.control().export_state())?;
        tracing::info!(path = %path.display(), "state saved");
    }
    emulator.shutdown().await;
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix (what `docker stop` and service managers send). The handlers
/// are registered at once, before "listening on" is printed, so no early signal is missed.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Written to a temporary file first, so a crash never leaves half a state file.
fn save_state(path: &Path, state: &serde_json::Value) -> std::io::Result<()> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, serde_json::to_vec_pretty(state)?)?;
    std::fs::rename(&temporary, path)
}
