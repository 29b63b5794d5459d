//! Generates the typed client and the operation → auth-kind table from the spec.
//!
//! The generation itself lives in `codegen/` so that `cargo xtask generate` renders
//! the very same text for the committed, reviewable snapshot.

use std::path::PathBuf;
use std::{env, fs, process};

const SPEC: &str = "spec/cloudbase-auth-v1.yaml";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    let text =
        fs::read_to_string(SPEC).unwrap_or_else(|e| fail(format!("cannot read {SPEC}: {e}")));
    let generated = cloudbase_auth_codegen::generate(&text).unwrap_or_else(|e| fail(e.to_string()));
    let out =
        PathBuf::from(env::var_os("OUT_DIR").unwrap_or_else(|| fail("OUT_DIR is not set".into())));
    write(&out.join("client.rs"), &generated.client);
    write(&out.join("auth_table.rs"), &generated.auth_table);
}

fn write(path: &std::path::Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| fail(format!("cannot write {}: {e}", path.display())));
}

/// One clear message instead of a panic backtrace.
fn fail(message: String) -> ! {
    eprintln!("error: {message}");
    process::exit(1);
}
