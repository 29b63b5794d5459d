//! The tasks behind `cargo xtask`: snapshot generation, spec lint, upstream drift and a
//! live contract probe.
//!
//! Everything lives in a library so the tests call the same functions the binary does,
//! on temporary copies, instead of spawning processes against the real repository.

pub mod allow;
pub mod drift;
pub mod error;
pub mod fields;
pub mod generate;
pub mod lint;
pub mod probe;
pub mod sdk;
pub mod upstream;

/// The OpenAPI helpers and the one validator live in the generator crate, which the
/// emulator's contract tests and `tests/spec.rs` use too.
pub use cloudbase_auth_codegen::{openapi, schema};
pub use error::{Error, Result};

use std::path::PathBuf;

/// The spec every task reads, relative to the workspace root.
pub const SPEC: &str = "spec/cloudbase-auth-v1.yaml";
/// The accepted deviations from upstream, relative to the workspace root.
pub const ALLOW: &str = "spec/drift-allow.yaml";

/// The workspace root: the xtask crate sits one level below it, so this holds whatever
/// directory `cargo xtask` is run from.
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Reads a text file, naming it in the error.
pub fn read_text(path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", path.display())))
}

/// Runs one async task to completion. The HTTP tasks are async (not reqwest's blocking
/// client) so the probe can also run inside a test's runtime, next to the emulator,
/// where a blocking client would panic.
pub fn block_on<F: std::future::Future>(future: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start the async runtime: {e}")))?;
    Ok(runtime.block_on(future))
}
