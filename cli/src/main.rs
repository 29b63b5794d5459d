//! `cloudbase-auth`: CloudBase Auth v1 from the shell, a thin layer over the
//! `cloudbase-auth` crate's `Session` (and its local emulator).
#![forbid(unsafe_code)]

mod args;
mod clock;
mod commands;
mod config;
mod device_id;
mod emulator;
mod error;
mod files;
mod output;
mod secrets;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::config::Context;
use crate::error::CliError;
use crate::output::Output;

// One thread is plenty for one request at a time, and keeps start-up cheap.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // clap exits by itself on a usage error, with code 2 (the documented one).
    let cli = Cli::parse();
    let out = Output::new(cli.json);
    match run(cli, out).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            error.report(out.is_json());
            error.exit_code()
        }
    }
}

async fn run(cli: Cli, out: Output) -> Result<(), CliError> {
    match cli.command {
        Command::Emulator(args) => emulator::run(args, out).await,
        Command::Client(command) => {
            let ctx = Context::new(&cli.connection)?;
            commands::run(command, &ctx, out).await
        }
    }
}
