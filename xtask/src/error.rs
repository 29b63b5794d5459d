use std::fmt;

/// A task failed to run (bad input, unreadable file, unreachable server). Findings such
/// as lint problems or drift are results, not errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

/// The result of a task step.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error with a message that names the problem and, where possible, the fix.
    pub fn new(message: impl Into<String>) -> Error {
        Error(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl From<cloudbase_auth_codegen::openapi::OpenApiError> for Error {
    fn from(error: cloudbase_auth_codegen::openapi::OpenApiError) -> Error {
        Error(error.to_string())
    }
}

/// An error's message followed by its causes: reqwest's own message ("error sending
/// request") says little without them ("dns error: …", "connection refused").
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(&format!(": {e}"));
        cause = e.source();
    }
    text
}
