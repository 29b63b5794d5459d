//! `cloudbase-auth-emulator`: serves the emulator until Ctrl-C or SIGTERM (see [`Launcher`]).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use cloudbase_auth_emulator::{EmulatorConfig, LaunchError, Launcher, PasswordHashing};
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
    /// State file: loaded at start if it exists; every write is saved before it is answered.
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

async fn run(args: Args) -> Result<(), LaunchError> {
    let mut config = match &args.config {
        Some(path) => Launcher::read_config(path)?,
        None => EmulatorConfig::default(),
    };
    if args.fast_hashing {
        config.password_hashing = PasswordHashing::Fast;
    }
    Launcher::new(SocketAddr::new(args.host, args.port), config)
        .with_state_file(args.state)
        .run(|base_url| println!("listening on {base_url}"))
        .await
}
