use std::fmt;

use crate::lint::Finding;

/// A parsed OpenAPI document, kept twice: typed for progenitor, and as raw JSON so
/// that checks can point at any node with a JSON pointer.
#[derive(Debug, Clone)]
pub struct Spec {
    pub document: openapiv3::OpenAPI,
    pub raw: serde_json::Value,
}

/// Why a spec could not be turned into a client.
#[derive(Debug)]
pub enum SpecError {
    /// The text is not YAML/JSON, or not an OpenAPI 3.0 document.
    Parse(String),
    /// Constructs progenitor 0.15.1 would panic on or reject, each with its JSON pointer.
    Unsupported(Vec<Finding>),
    /// One operation is wrong in a way that is not a progenitor limitation.
    Operation { operation: String, problem: String },
    /// progenitor itself refused the document.
    Generator(String),
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::Parse(e) => write!(f, "the spec is not a valid OpenAPI 3.0 document: {e}"),
            SpecError::Unsupported(findings) => {
                writeln!(
                    f,
                    "the spec uses constructs progenitor 0.15.1 cannot generate:"
                )?;
                for finding in findings {
                    writeln!(f, "  {finding}")?;
                }
                write!(
                    f,
                    "fix them in spec/ (run `cargo xtask lint` for the full report)"
                )
            }
            SpecError::Operation { operation, problem } => {
                write!(f, "operation `{operation}`: {problem}")
            }
            SpecError::Generator(e) => write!(f, "progenitor rejected the spec: {e}"),
        }
    }
}

impl std::error::Error for SpecError {}

impl Spec {
    /// Parses YAML (a superset of JSON).
    pub fn parse(text: &str) -> Result<Spec, SpecError> {
        let raw: serde_json::Value =
            serde_norway::from_str(text).map_err(|e| SpecError::Parse(e.to_string()))?;
        let document: openapiv3::OpenAPI =
            serde_json::from_value(raw.clone()).map_err(|e| SpecError::Parse(e.to_string()))?;
        Ok(Spec { document, raw })
    }
}
