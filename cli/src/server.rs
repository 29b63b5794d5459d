//! The server-side commands: `admin-token` (the TC3-signed client-credential token) and
//! `ticket` (a custom-login ticket from the console's key file).

use std::path::PathBuf;
use std::time::UNIX_EPOCH;

use clap::Subcommand;
use cloudbase_auth::Clock;
use cloudbase_auth::server::{CustomLoginKey, ServerCredential, ServiceSession, TicketOptions};

use crate::args::Connection;
use crate::config::Context;
use crate::error::CliError;
use crate::output::Output;

/// Commands for backends and operators holding the environment's keys.
#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Get an admin token (POST /auth/v1/token/clientCredential) signed with TC3-HMAC-SHA256.
    ///
    /// Reads CLOUDBASE_SECRET_ID, CLOUDBASE_SECRET_KEY and, for temporary credentials,
    /// CLOUDBASE_SESSION_TOKEN from the environment (never from arguments: they show up in
    /// `ps`). The SecretKey signs the request and is never sent. Prints when the token
    /// expires; the token itself only with --print-access-token.
    AdminToken {
        /// Print the admin token (a secret) on stdout, for another tool.
        #[arg(long)]
        print_access_token: bool,
    },
    /// Mint a custom-login ticket for a user (what node-sdk's `createTicket` makes); prints it
    /// on stdout. Valid 10 minutes; the client signs in with it at /auth/v1/signin/custom.
    Ticket {
        /// The custom-login private key file downloaded from the console
        /// ({private_key_id, private_key, env_id}).
        #[arg(long)]
        key_file: PathBuf,
        /// The user's id in your system: 4-32 characters of A-Z a-z 0-9 _-#@~=*(){}[]:.,<>+.
        #[arg(long)]
        uid: String,
    },
}

pub async fn run(
    command: ServerCommand,
    connection: &Connection,
    out: Output,
) -> Result<(), CliError> {
    match command {
        ServerCommand::AdminToken { print_access_token } => {
            admin_token(&Context::new(connection)?, out, print_access_token).await
        }
        ServerCommand::Ticket { key_file, uid } => ticket(&key_file, &uid),
    }
}

fn env_secret(name: &str) -> Result<Option<String>, CliError> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(Some(value.trim().to_string())),
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(CliError::usage(format!("{name} is not valid UTF-8")))
        }
    }
}

fn credential() -> Result<ServerCredential, CliError> {
    let missing = |name: &str| {
        CliError::usage(format!(
            "{name} is not set: export the Tencent Cloud API key pair (CLOUDBASE_SECRET_ID, CLOUDBASE_SECRET_KEY)"
        ))
    };
    let id = env_secret("CLOUDBASE_SECRET_ID")?.ok_or_else(|| missing("CLOUDBASE_SECRET_ID"))?;
    let key = env_secret("CLOUDBASE_SECRET_KEY")?.ok_or_else(|| missing("CLOUDBASE_SECRET_KEY"))?;
    Ok(match env_secret("CLOUDBASE_SESSION_TOKEN")? {
        Some(token) => ServerCredential::tc3_with_session_token(id, key, token),
        None => ServerCredential::tc3(id, key),
    })
}

async fn admin_token(ctx: &Context, out: Output, print: bool) -> Result<(), CliError> {
    let config = ctx.config().with_server_credential(credential()?);
    let service = ServiceSession::new(config)?;
    let token = service.access_token().await?;
    let expires_at = service.expires_at().unwrap_or(UNIX_EPOCH);
    let unix = expires_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let expires_in = expires_at
        .duration_since(ctx.clock.now())
        .map_or(0, |d| d.as_secs());
    if out.is_json() {
        let mut value = serde_json::json!({ "expires_at": unix, "expires_in": expires_in });
        if print {
            value["access_token"] = token.expose_secret().into();
        }
        return out.response(&value);
    }
    if print {
        out.secret(token.expose_secret());
    } else {
        println!(
            "Admin token granted: expires at {unix} (unix time), in {}d {}h; pass --print-access-token to print it",
            expires_in / 86_400,
            expires_in % 86_400 / 3600
        );
    }
    Ok(())
}

fn ticket(key_file: &std::path::Path, uid: &str) -> Result<(), CliError> {
    let text = std::fs::read_to_string(key_file).map_err(|e| {
        CliError::usage(format!(
            "cannot read the key file {}: {e}",
            key_file.display()
        ))
    })?;
    let key = CustomLoginKey::from_json(&text).map_err(|e| CliError::usage(e.to_string()))?;
    let ticket = key
        .create_ticket(uid, &TicketOptions::default())
        .map_err(|e| CliError::usage(e.to_string()))?;
    println!("{}", ticket.expose_secret());
    Ok(())
}
