//! `cloudbase-auth`: CloudBase Auth v1 from the shell, a thin layer over the
//! `cloudbase-auth` crate's `Session` (and its local emulator).
#![forbid(unsafe_code)]

mod args;
mod clock;
mod commands;
mod config;
mod device_id;
mod device_signin;
mod emulator;
mod error;
mod files;
mod output;
mod secrets;
mod server;

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use crate::args::{Cli, Command};
use crate::config::Context;
use crate::error::CliError;
use crate::output::Output;

// One thread is plenty for one request at a time, and keeps start-up cheap.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // clap exits by itself on a usage error, with code 2 (the documented one).
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let out = Output::new(cli.json);
    match run(cli, out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            error.report(out.is_json());
            error.exit_code()
        }
    }
}

/// Logs go to stderr, so stdout stays the answer. RUST_LOG wins; else `--verbose` shows
/// this tool's and the client's debug events, and without it only warnings show.
fn init_logging(verbose: bool) {
    let default = if verbose {
        "warn,cloudbase_auth=debug,cloudbase_auth_emulator=info"
    } else {
        "warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn run(cli: Cli, out: Output) -> Result<(), CliError> {
    match cli.command {
        Command::Emulator(args) => emulator::run(args, out).await,
        Command::Server(command) => server::run(command, &cli.connection, out).await,
        Command::Client(command) => {
            let ctx = Context::new(&cli.connection)?;
            commands::run(command, &ctx, out).await
        }
    }
}
