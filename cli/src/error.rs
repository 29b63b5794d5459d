//! Failures, their exit codes (documented in `--help`) and how they are shown on stderr.

use std::process::ExitCode;

use cloudbase_auth::types::ErrorBody;

/// Everything a command can fail with, grouped by what a script should do about it.
#[derive(Debug)]
pub enum CliError {
    /// A missing or invalid argument, flag, variable or input line (exit 2, like clap's).
    Usage(String),
    /// The server refused the request (exit 3).
    Api(ApiFailure),
    /// The server answered, but not as the spec says (exit 3).
    Malformed(String),
    /// The server could not be reached or did not answer (exit 4).
    Transport(String),
    /// Anything else: not signed in, a local file problem (exit 1).
    Other(String),
}

/// The server's error body plus what identifies the request in its logs.
#[derive(Debug)]
pub struct ApiFailure {
    pub status: u16,
    pub error: String,
    pub error_code: Option<i64>,
    pub error_description: Option<String>,
    pub request_id: String,
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
            (CliError::Api(api), true) => eprintln!("{}", api.to_json()),
            (CliError::Api(api), false) => eprint!("{}", api.to_text()),
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

impl ApiFailure {
    pub fn from_body(status: u16, body: ErrorBody, request_id: String) -> ApiFailure {
        ApiFailure {
            status,
            error: body.error,
            error_code: body.error_code.map(i64::from),
            error_description: body.error_description,
            request_id,
        }
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": "api",
            "status": self.status,
            "error": self.error,
            "error_code": self.error_code,
            "error_description": self.error_description,
            "request_id": self.request_id,
        })
    }

    fn to_text(&self) -> String {
        let mut text = format!("error: {} (HTTP {})\n", self.error, self.status);
        if let Some(code) = self.error_code {
            text.push_str(&format!("error_code: {code}\n"));
        }
        if let Some(description) = &self.error_description {
            text.push_str(&format!("description: {description}\n"));
        }
        text.push_str(&format!("request_id: {}\n", self.request_id));
        text
    }
}

impl From<cloudbase_auth::Error> for CliError {
    fn from(error: cloudbase_auth::Error) -> CliError {
        use cloudbase_auth::Error as E;
        match error {
            E::Api(api) => CliError::Api(ApiFailure {
                status: api.status,
                error: api.error.clone(),
                error_code: api.error_code,
                error_description: api.error_description.clone(),
                request_id: api.request_id.clone(),
            }),
            // The message names the request id and whether it was sent; the causes say
            // what failed ("dns error", "connection refused", "certificate").
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
