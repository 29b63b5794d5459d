//! Failures, their exit codes (documented in `--help`) and how they are shown on stderr.

use std::process::ExitCode;

use cloudbase_auth::ApiError;

/// Everything a command can fail with, grouped by what a script should do about it.
#[derive(Debug)]
pub enum CliError {
    /// A missing or invalid argument, flag, variable or input line (exit 2, like clap's).
    Usage(String),
    /// The server refused the request (exit 3).
    Api(Box<ApiError>),
    /// The server answered, but not as the spec says (exit 3).
    Malformed(String),
    /// The server could not be reached or did not answer (exit 4).
    Transport(String),
    /// Anything else: not signed in, a local file problem (exit 1).
    Other(String),
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::Usage(message.into())
    }

    pub fn other(message: impl Into<String>) -> CliError {
        CliError::Other(message.into())
    }

    pub fn not_signed_in() -> CliError {
        CliError::other(
            "not signed in: run `cloudbase-auth signin` (or `signin-anonymous`, `signup`) first",
        )
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CliError::Other(_) => 1,
            CliError::Usage(_) => 2,
            CliError::Api(_) | CliError::Malformed(_) => 3,
            CliError::Transport(_) => 4,
        })
    }

    /// Prints the error on stderr: fields one per line, or one JSON object with `--json`.
    pub fn report(&self, json: bool) {
        match (self, json) {
            (CliError::Api(api), true) => eprintln!("{}", api_json(api)),
            (CliError::Api(api), false) => eprint!("{}", api_text(api)),
            (other, true) => eprintln!(
                "{}",
                serde_json::json!({ "kind": other.kind(), "message": other.message() })
            ),
            (other, false) => eprintln!("cloudbase-auth: {}", other.message()),
        }
    }

    /// What a script branches on (`--json`): `usage`, `api`, `malformed_response`,
    /// `transport` or `other`, one per exit code group.
    pub fn kind(&self) -> &'static str {
        match self {
            CliError::Usage(_) => "usage",
            CliError::Api(_) => "api",
            CliError::Malformed(_) => "malformed_response",
            CliError::Transport(_) => "transport",
            CliError::Other(_) => "other",
        }
    }

    fn message(&self) -> &str {
        match self {
            CliError::Usage(m)
            | CliError::Malformed(m)
            | CliError::Transport(m)
            | CliError::Other(m) => m,
            CliError::Api(api) => &api.error,
        }
    }
}

/// An error's message followed by its causes, `: `-separated.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(&format!(": {e}"));
        cause = e.source();
    }
    text
}

fn api_json(api: &ApiError) -> serde_json::Value {
    serde_json::json!({
        "kind": "api",
        "status": api.status,
        "error": api.error,
        "error_code": api.error_code,
        "error_description": api.error_description,
        "request_id": api.request_id,
    })
}

fn api_text(api: &ApiError) -> String {
    let mut text = format!("error: {} (HTTP {})\n", api.error, api.status);
    if let Some(code) = api.error_code {
        text.push_str(&format!("error_code: {code}\n"));
    }
    if let Some(description) = &api.error_description {
        text.push_str(&format!("description: {description}\n"));
    }
    text.push_str(&format!("request_id: {}\n", api.request_id));
    text
}

impl From<cloudbase_auth::Error> for CliError {
    fn from(error: cloudbase_auth::Error) -> CliError {
        use cloudbase_auth::Error as E;
        match error {
            E::Api(api) => CliError::Api(api),
            // The message names the cause class, the host, the request id and whether it
            // was sent; the causes add the detail ("dns error", "connection refused").
            e @ E::Transport { .. } => CliError::Transport(with_causes(&e)),
            e @ E::Decode { .. } => CliError::Malformed(e.to_string()),
            e @ E::SignInRequired { .. } => {
                CliError::other(format!("{e}: run `cloudbase-auth signin`"))
            }
            e @ E::Config(_) => CliError::usage(e.to_string()),
            e => CliError::other(e.to_string()),
        }
    }
}
