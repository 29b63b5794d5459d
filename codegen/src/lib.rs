//! The one code generator behind `cloudbase-auth`.
//!
//! `build.rs` and `cargo xtask generate` both call [`generate`], so the snapshot that
//! the xtask commits for review is byte-for-byte what the build compiles. Nothing here
//! knows about files in `OUT_DIR` or the repository layout: callers pass text in and
//! write text out.

mod api_version;
mod lint;
pub mod openapi;
mod operations;
mod render;
#[cfg(feature = "validate")]
pub mod schema;
mod spec;

pub use lint::{Finding, lint_progenitor_support};
pub use operations::{
    AuthKind, Operation, operations, render_auth_table, render_operations_markdown,
};
pub use render::render_client;
pub use spec::{Spec, SpecError};

/// The Rust path of the state the generated `Client` carries (`with_inner_type`).
pub const INNER_TYPE: &str = "crate::session::SessionCore";

/// Everything generated from one spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The progenitor client, formatted with prettyplease.
    pub client: String,
    /// The operation → auth-kind table (Rust source, `include!`d by `src/auth.rs`).
    pub auth_table: String,
    /// The human-readable operations table (`spec/operations.md`).
    pub operations_markdown: String,
}

/// Parses, checks and renders a spec. Errors name the operation and the problem.
pub fn generate(spec_text: &str) -> Result<Generated, SpecError> {
    let spec = Spec::parse(spec_text)?;
    let findings = lint_progenitor_support(&spec.raw);
    if !findings.is_empty() {
        return Err(SpecError::Unsupported(findings));
    }
    let ops = operations(&spec)?;
    Ok(Generated {
        client: render_client(&spec)?,
        auth_table: render_auth_table(&ops),
        operations_markdown: render_operations_markdown(&ops),
    })
}
