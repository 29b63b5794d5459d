//! The operations an official JS SDK release calls, as an OpenAPI document, for
//! `cargo xtask drift --sdk <package@version>`: `xtask/sdk-drift/extract.mjs` fetches the
//! package with `npm pack` and reads its TypeScript sources with the TypeScript compiler API
//! (pinned in `xtask/sdk-drift/package-lock.json`, installed with `npm ci` on first use).

use std::path::Path;
use std::process::Command;

use crate::{Error, Result};

/// The allow file of deliberate differences from the SDK.
pub const SDK_ALLOW: &str = "spec/drift-allow-sdk.yaml";

/// The extracted document of `package` (e.g. `@cloudbase/oauth@3.3.3`), as JSON text.
pub fn extract(root: &Path, package: &str) -> Result<String> {
    let dir = root.join("xtask/sdk-drift");
    if !dir.join("node_modules/typescript").exists() {
        run(Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&dir))?;
    }
    let output = Command::new("node")
        .arg("extract.mjs")
        .arg(package)
        .current_dir(&dir)
        .output()
        .map_err(|e| Error::new(format!("cannot run node (Node 20 or newer is needed): {e}")))?;
    if !output.status.success() {
        return Err(Error::new(format!(
            "extracting {package} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    String::from_utf8(output.stdout)
        .map_err(|_| Error::new(format!("the extract of {package} is not UTF-8")))
}

fn run(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .map_err(|e| Error::new(format!("cannot run npm (Node 20 or newer is needed): {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::new("`npm ci` in xtask/sdk-drift failed".to_string()))
    }
}
